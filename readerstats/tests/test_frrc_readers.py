"""FRRC per-reader differences with three modalities, worked by hand.

Two readers, three modalities, four cases read in every modality; 1 = correct (the accuracy FOM):

    reader R1:  T1 1 1 1 0   T2 1 0 1 0   T3 1 1 0 0
    reader R2:  T1 0 1 1 1   T2 0 1 1 1   T3 1 1 1 1

Leave-one-out accuracies minus their mean (R1): T1 (-1/12, -1/12, -1/12, 1/4), T2 (-1/6, 1/6, -1/6, 1/6),
T3 (-1/6, -1/6, 1/6, 1/6). The jackknife covariance is (n-1)/n = 3/4 times the sum of products:
Var = 1/16, 1/12, 1/12; Cov(T1,T2) = Cov(T1,T3) = 3/4 x 4/72 = 1/24, Cov(T2,T3) = 0. So Var_1 = (1/16 + 1/12 +
1/12)/3 = 11/144, Cov1_1 = (1/24 + 1/24 + 0)/3 = 4/144 and the OR-DBM MRMC standard error of every R1 difference
is sqrt(2 (11/144 - 4/144)) = sqrt(14)/12. For R2: Var = 1/16, 1/16, 0; Cov(T1,T2) = 1/16, the others 0;
Var_2 = 1/24, Cov1_2 = 1/48, SE sqrt(2 (1/24 - 1/48)) = sqrt(1/24). Each pair's own variance instead:
R1 T1-T2 sqrt(1/16 + 1/12 - 2/24) = 1/4, T1-T3 1/4, T2-T3 sqrt(1/6); R2 T1-T2 0 (no SE), T1-T3 1/4, T2-T3 1/4.
"""

import math

import pytest
from scipy import stats

from readerstats.mrmc import or_analysis

CORRECT = {
    ("R1", "T1"): (1, 1, 1, 0),
    ("R1", "T2"): (1, 0, 1, 0),
    ("R1", "T3"): (1, 1, 0, 0),
    ("R2", "T1"): (0, 1, 1, 1),
    ("R2", "T2"): (0, 1, 1, 1),
    ("R2", "T3"): (1, 1, 1, 1),
}
TRUTH = ("real", "real", "synthetic", "synthetic")


@pytest.fixture(scope="module")
def frrc():
    reader, modality, case, truth, answer = [], [], [], [], []
    for (r, m), values in CORRECT.items():
        for k, ok in enumerate(values):
            t = TRUTH[k]
            reader.append(r)
            modality.append(m)
            case.append(f"c{k + 1}")
            truth.append(t)
            answer.append(t if ok else ("synthetic" if t == "real" else "real"))
    result = or_analysis(reader, modality, case, truth, answer)
    assert result.estimable and result.frrc.estimable
    return result.frrc


def table(pairs):
    return {(name, d.modality_a, d.modality_b): d for name, d in pairs}


def test_one_standard_error_per_reader_as_or_dbm_mrmc(frrc):
    differences = table(frrc.reader_differences)
    expected = {"R1": math.sqrt(14) / 12, "R2": math.sqrt(1 / 24)}
    estimates = {
        ("R1", "T1", "T2"): 0.25,
        ("R1", "T1", "T3"): 0.25,
        ("R1", "T2", "T3"): 0.0,
        ("R2", "T1", "T2"): 0.0,
        ("R2", "T1", "T3"): -0.25,
        ("R2", "T2", "T3"): -0.25,
    }
    assert set(differences) == set(estimates)
    for key, estimate in estimates.items():
        difference = differences[key]
        se = expected[key[0]]
        assert difference.estimate == pytest.approx(estimate)
        assert difference.stderr == pytest.approx(se)
        assert difference.p_value == pytest.approx(2 * stats.norm.sf(abs(estimate) / se))
        assert difference.ci_low == pytest.approx(estimate - 1.959964 * se, abs=1e-6)


def test_each_pairs_own_variance_is_kept_under_its_own_name(frrc):
    differences = table(frrc.reader_differences_pairwise)
    assert differences[("R1", "T1", "T2")].stderr == pytest.approx(0.25)
    assert differences[("R1", "T1", "T3")].stderr == pytest.approx(0.25)
    assert differences[("R1", "T2", "T3")].stderr == pytest.approx(math.sqrt(1 / 6))
    assert differences[("R2", "T1", "T3")].stderr == pytest.approx(0.25)
    assert differences[("R2", "T2", "T3")].stderr == pytest.approx(0.25)
    # identical readings in T1 and T2: no variance of their difference, hence no test
    assert differences[("R2", "T1", "T2")].stderr is None
