"""Gwet's AC1, Cohen's kappa and weighted kappa, against statsmodels and hand-worked examples."""

import json

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from readerstats.agreement import cohen_kappa_table, gwet_ac1, intra_reader_kappa


def two_rater_rows(table, categories):
    item, answer = [], []
    k = 0
    for a, row in zip(categories, table, strict=True):
        for b, n in zip(categories, row, strict=True):
            for _ in range(n):
                item += [k, k]
                answer += [a, b]
                k += 1
    return item, answer


def test_ac1_hand_worked_high_agreement_example():
    # Gwet (2008): two raters, 125 subjects; (+,+) 118, (+,-) 5, (-,+) 2, (-,-) 0.
    # p_a = 118/125 = 0.944; pi_+ = (123/125 + 120/125)/2 = 0.972; p_e = 2 * 0.972 * 0.028 / 1 = 0.054432;
    # AC1 = (0.944 - 0.054432) / (1 - 0.054432) = 0.940791...; Cohen's kappa here is -0.023 (the paradox).
    item, answer = two_rater_rows([[118, 5], [2, 0]], ("real", "synthetic"))
    result = gwet_ac1(item, answer, categories=("real", "synthetic"))
    assert result.observed_agreement == pytest.approx(0.944)
    assert result.chance_agreement == pytest.approx(0.054432)
    assert result.ac1 == pytest.approx((0.944 - 0.054432) / (1 - 0.054432))
    assert result.item_count == 125
    assert result.ci_low < result.ac1 < result.ci_high
    kappa = cohen_kappa_table([[118, 5], [2, 0]])
    assert kappa.kappa == pytest.approx(
        (0.944 - (0.984 * 0.96 + 0.016 * 0.04)) / (1 - (0.984 * 0.96 + 0.016 * 0.04))
    )
    assert kappa.kappa < 0


def test_ac1_three_readers_hand_worked():
    # item 1: a a a (agreement 1), item 2: a a b (2*1/(3*2) = 1/3), item 3: b b b (1); p_a = 7/9
    # pi_a = (1 + 2/3 + 0)/3 = 5/9, pi_b = 4/9; q = 2: p_e = 2 * 5/9 * 4/9 = 40/81
    item = [1, 1, 1, 2, 2, 2, 3, 3, 3]
    answer = ["real", "real", "real", "real", "real", "synthetic", "synthetic", "synthetic", "synthetic"]
    result = gwet_ac1(item, answer, categories=("real", "synthetic"))
    assert result.ac1 == pytest.approx((7 / 9 - 40 / 81) / (1 - 40 / 81))
    # jackknife: recompute leaving each item out through the public function
    loo = []
    for left in (1, 2, 3):
        keep = [k for k, i in enumerate(item) if i != left]
        loo.append(
            gwet_ac1([item[k] for k in keep], [answer[k] for k in keep], categories=("real", "synthetic")).ac1
        )
    loo = np.array(loo)
    assert result.stderr == pytest.approx(np.sqrt(2 / 3 * ((loo - loo.mean()) ** 2).sum()))


def test_ac1_not_estimable_and_garbage():
    single = gwet_ac1([1, 2], ["real", "real"])
    assert single.ac1 is None and single.reason.startswith("not estimable because no item")
    assert "NaN" not in json.dumps(single.to_dict())
    with pytest.raises(ValueError, match="answers must be one of"):
        gwet_ac1([1, 1], ["real", "maybe"])
    with pytest.raises(ValueError, match="differ in length"):
        gwet_ac1([1, 1], ["real"])


TABLE = np.array([[20, 5, 1], [4, 15, 3], [2, 2, 8]])


def test_cohens_kappa_matches_statsmodels():
    ours = cohen_kappa_table(TABLE)
    theirs = cohens_kappa(TABLE)
    assert ours.kappa == pytest.approx(theirs.kappa)
    assert ours.stderr == pytest.approx(theirs.std_kappa)
    assert ours.ci_low == pytest.approx(theirs.kappa_low)
    assert ours.ci_high == pytest.approx(theirs.kappa_upp)


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_kappa_matches_statsmodels(weights):
    ours = cohen_kappa_table(TABLE, weights=weights)
    theirs = cohens_kappa(TABLE, wt=weights)
    assert ours.kappa == pytest.approx(theirs.kappa)
    assert ours.stderr == pytest.approx(theirs.std_kappa)


def test_kappa_edge_cases():
    constant = cohen_kappa_table([[10, 0], [0, 0]])
    assert constant.kappa is None and "one category" in constant.reason
    assert cohen_kappa_table([[0, 0], [0, 0]]).kappa is None
    with pytest.raises(ValueError, match="square"):
        cohen_kappa_table([[1, 2, 3]])
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa_table(TABLE, weights="cubic")


def test_intra_reader_kappa_pairs_the_first_two_rounds():
    rng = np.random.default_rng(0)
    reader, item, round_, answer = [], [], [], []
    tables = {}
    for name in ("A", "B"):
        table = np.zeros((3, 3), dtype=int)
        for k in range(40):
            first = rng.integers(1, 4)
            second = first if rng.random() < 0.7 else rng.integers(1, 4)
            third = rng.integers(1, 4)  # a third round is ignored
            table[first - 1, second - 1] += 1
            for r, value in enumerate((first, second, third), start=1):
                reader.append(name)
                item.append(k)
                round_.append(r)
                answer.append(int(value))
        tables[name] = table
    reader.append("C")
    item.append(0)
    round_.append(1)
    answer.append(2)
    results = intra_reader_kappa(reader, item, round_, answer, categories=(1, 2, 3), weights="linear")
    assert [r.reader for r in results] == ["A", "B", "C"]
    for result in results[:2]:
        expected = cohens_kappa(tables[result.reader], wt="linear")
        assert result.kappa.kappa == pytest.approx(expected.kappa)
        assert result.kappa.pair_count == 40
    assert results[2].kappa.reason == "not estimable because the reader answered no item twice"
    with pytest.raises(ValueError, match="answers must be one of"):
        intra_reader_kappa(["A"], [1], [1], [9], categories=(1, 2, 3))
