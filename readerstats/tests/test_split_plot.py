"""The split-plot OR analysis (readers nested within modality): a hand-worked example computed here from the
definitions (leave-one-out loops, the expected-mean-square formulas), unequal panels with shared cases, a simulation
of the standard error and the type I error, and what it refuses."""

import math
from itertools import combinations

import numpy as np
import pytest
from scipy import stats

from readerstats.mrmc import or_split_plot
from readerstats.simulate import simulate_panels

# modality A: readers a1, a2; modality B: readers b1, b2, b3. Cases r1, r2 (real) are shown in both; each modality
# has its own synthetic cases. 1 = correct.
READINGS = {
    ("A", "a1"): {"r1": 1, "r2": 0, "sA1": 1, "sA2": 1, "sA3": 0},
    ("A", "a2"): {"r1": 1, "r2": 1, "sA1": 0, "sA2": 1, "sA3": 0},
    ("B", "b1"): {"r1": 0, "r2": 1, "sB1": 1, "sB2": 1},
    ("B", "b2"): {"r1": 1, "r2": 1, "sB1": 0, "sB2": 0},
    ("B", "b3"): {"r1": 1, "r2": 0, "sB1": 1, "sB2": 0},
}


def rows():
    reader, modality, case, truth, answer = [], [], [], [], []
    for (m, r), cases in READINGS.items():
        for c, ok in cases.items():
            t = "real" if c.startswith("r") else "synthetic"
            reader.append(r)
            modality.append(m)
            case.append(c)
            truth.append(t)
            answer.append(t if ok else ("synthetic" if t == "real" else "real"))
    return reader, modality, case, truth, answer


def by_definition():
    """OR quantities from their definitions, written out with loops."""
    panels = {"A": ["a1", "a2"], "B": ["b1", "b2", "b3"]}
    theta, jack, cases = {}, {}, {}
    for m, readers in panels.items():
        cases[m] = sorted(READINGS[(m, readers[0])])
        for r in readers:
            values = [READINGS[(m, r)][c] for c in cases[m]]
            theta[(m, r)] = sum(values) / len(values)
            jack[(m, r)] = {c: (sum(values) - READINGS[(m, r)][c]) / (len(values) - 1) for c in cases[m]}

    def covariance(x, y):
        shared = [c for c in cases[x[0]] if c in cases[y[0]]]
        if not shared:
            return 0.0
        nx, ny = len(cases[x[0]]), len(cases[y[0]])
        mx = sum(jack[x].values()) / nx
        my = sum(jack[y].values()) / ny
        scale = math.sqrt((nx - 1) / nx) * math.sqrt((ny - 1) / ny)
        return scale * sum((jack[x][c] - mx) * (jack[y][c] - my) for c in shared)

    keys = list(theta)
    var = np.mean([covariance(k, k) for k in keys])
    cov2 = np.mean([covariance(x, y) for x in keys for y in keys if x[0] == y[0] and x != y])
    cov3 = np.mean([covariance(x, y) for x in keys for y in keys if x[0] != y[0]])
    sizes = {m: len(r) for m, r in panels.items()}
    n, t = sum(sizes.values()), len(panels)
    means = {m: np.mean([theta[(m, r)] for r in panels[m]]) for m in panels}
    grand = sum(sizes[m] * means[m] for m in panels) / n
    ms_t = sum(sizes[m] * (means[m] - grand) ** 2 for m in panels) / (t - 1)
    ms_r = sum((theta[(m, r)] - means[m]) ** 2 for m in panels for r in panels[m]) / (n - t)
    n0 = (n**2 - sum(s**2 for s in sizes.values())) / (n * (t - 1))
    error = ms_r + n0 * max(cov2 - cov3, 0)
    return dict(
        var=var, cov2=cov2, cov3=cov3, ms_t=ms_t, ms_r=ms_r, n0=n0, error=error, means=means, sizes=sizes,
        ddf=error**2 / (ms_r**2 / (n - t)), n=n, t=t,
    )  # fmt: skip


def test_unequal_panels_with_shared_cases_match_the_definitions():
    result = or_split_plot(*rows())
    expected = by_definition()
    assert result.estimable and result.panels == (("a1", "a2"), ("b1", "b2", "b3"))
    assert result.shared_case_count == 2 and result.case_counts == (5, 4)
    assert result.var_error == pytest.approx(expected["var"])
    assert result.cov2 == pytest.approx(expected["cov2"])
    assert result.cov3 == pytest.approx(expected["cov3"]) and result.cov3 != 0
    assert result.ms_t == pytest.approx(expected["ms_t"])
    assert result.ms_r_within == pytest.approx(expected["ms_r"])
    assert result.n0 == pytest.approx(12 / 5)  # (25 - 13) / (5 x 1)
    assert result.error_term == pytest.approx(expected["error"])
    assert result.statistic == pytest.approx(expected["ms_t"] / expected["error"])
    assert result.ddf == pytest.approx(expected["ddf"])
    assert result.p_value == pytest.approx(stats.f.sf(result.statistic, 1, expected["ddf"]))
    (difference,) = result.differences
    weight = 1 / 2 + 1 / 3
    variance = weight * expected["ms_r"] + 2 * max(expected["cov2"] - expected["cov3"], 0)
    assert difference.estimate == pytest.approx(expected["means"]["A"] - expected["means"]["B"])
    assert difference.stderr == pytest.approx(math.sqrt(variance))
    assert difference.df == pytest.approx(variance**2 / ((weight * expected["ms_r"]) ** 2 / 3))


def test_equal_panels_give_the_global_ddf_to_every_difference_and_n0_equals_the_panel_size():
    rng = np.random.default_rng(4)
    study = simulate_panels(rng, readers=5, items=30, accuracies=(0.6, 0.7, 0.65), reader_sd=0.5, case_sd=0.8)
    result = or_split_plot(study.reader, study.model, study.item, study.truth, study.answer)
    assert result.estimable and result.n0 == pytest.approx(5) and result.ndf == 2
    for difference in result.differences:
        assert difference.df == pytest.approx(result.ddf)
        assert difference.stderr == pytest.approx(math.sqrt(2 / 5 * result.error_term))
    assert [(d.modality_a, d.modality_b) for d in result.differences] == list(
        combinations(("M1", "M2", "M3"), 2)
    )


def test_standard_error_and_type_one_error_by_simulation():
    # 300 null studies, 6 readers per panel, 40 items per model (each model its own items): the mean estimated
    # variance of the difference against the variance of the estimates, and the rejection rate at 5%
    rng = np.random.default_rng(20261207)
    estimates, variances, rejected = [], [], 0
    for _ in range(300):
        study = simulate_panels(rng, readers=6, items=40, accuracies=(0.65, 0.65), reader_sd=0.5, case_sd=0.8)
        (difference,) = or_split_plot(
            study.reader, study.model, study.item, study.truth, study.answer
        ).differences
        estimates.append(difference.estimate)
        variances.append(difference.stderr**2)
        rejected += difference.p_value < 0.05
    assert np.mean(variances) == pytest.approx(np.var(estimates), rel=0.2)
    assert 0.02 <= rejected / 300 <= 0.09


def test_designs_it_does_not_cover_are_refused_with_a_reason():
    reader, modality, case, truth, answer = rows()
    crossed = or_split_plot(
        reader + ["a1"], modality + ["B"], case + ["sB1"], truth + ["synthetic"], answer + ["real"]
    )
    assert not crossed.estimable and crossed.reason.startswith(
        "not estimable because reader a1 read modalities A"
    )
    keep = [k for k, r in enumerate(reader) if r != "a2"]
    alone = or_split_plot(*([column[k] for k in keep] for column in (reader, modality, case, truth, answer)))
    assert (
        alone.reason
        == "not estimable because modality A has one reader: reader variability needs two per panel"
    )
    one = [k for k, m in enumerate(modality) if m == "A"]
    single = or_split_plot(*([column[k] for k in one] for column in (reader, modality, case, truth, answer)))
    assert single.reason.startswith("not estimable because there is one modality")
    with pytest.raises(ValueError, match="fom must be one of"):
        or_split_plot(reader, modality, case, truth, answer, fom="kappa")
