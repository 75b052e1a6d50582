"""Model comparison across reader panels against lme4 (the battery's model designs: split-plot, fully crossed and
partially overlapping panels, real items shared or not), the delta method against numerical differentiation of
lme4's own estimates, the simultaneous critical values against the studentized range and Sidak, Holm against
statsmodels."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit
from statsmodels.stats.multitest import multipletests

from readerstats.model_comparison import (
    FULLY_CROSSED,
    OVERLAPPING,
    SPLIT_PLOT,
    compare_models,
    simultaneous_critical_value,
)

BATTERY = Path(__file__).parent / "reference" / "lme4"
LME4 = json.loads((BATTERY / "battery.lme4.json").read_text())["designs"]
DATA = pd.read_csv(BATTERY / "battery.csv")
MODEL_DESIGNS = [name for name, design in LME4.items() if design["kind"] == "models"]
DESIGN_WORDS = {
    "s01": (SPLIT_PLOT, "real items shared by every model"),
    "s02": (SPLIT_PLOT, "each model its own real items"),
    "s03": (FULLY_CROSSED, "real items shared by every model"),
    "s04": (OVERLAPPING, "real items shared by every model"),
    "s05": (SPLIT_PLOT, "each model its own real items"),
}


@pytest.fixture(scope="module")
def comparisons():
    result = {}
    for name in MODEL_DESIGNS:
        rows = DATA[DATA.design == name]
        result[name] = compare_models(rows.correct, rows.reader, rows.item, rows.model, truth=rows.truth)
    return result


def close_fit(fit, expected):
    assert fit.estimable and fit.converged, fit.convergence
    assert fit.log_likelihood == pytest.approx(expected["log_likelihood"], abs=1e-3)
    for term, coefficient, stderr in zip(fit.terms, fit.coefficients, fit.stderrs, strict=True):
        reference = expected["fixed"][term]
        assert coefficient == pytest.approx(
            reference["estimate"], abs=max(1e-3, 0.01 * reference["std_error"])
        )
        assert stderr == pytest.approx(reference["std_error"], rel=0.02), term
    for name, value in (("reader", fit.reader_variance), ("item", fit.item_variance)):
        assert abs(value - expected["variance"][name]) <= max(0.02 * expected["variance"][name], 1e-3)


@pytest.mark.parametrize("name", MODEL_DESIGNS)
def test_full_and_null_fits_and_the_likelihood_ratio_match_lme4(comparisons, name):
    comparison, expected = comparisons[name], LME4[name]
    assert comparison.estimable and comparison.models == tuple(f"M{k + 1}" for k in range(expected["models"]))
    close_fit(comparison.fit, expected["laplace"])
    close_fit(comparison.null_fit, expected["null"])
    lr = expected["likelihood_ratio"]
    assert comparison.omnibus.statistic == pytest.approx(lr["chisq"], abs=2e-3)
    assert comparison.omnibus.df == lr["df"]
    assert comparison.omnibus.p_value == pytest.approx(lr["p"], abs=1e-3)
    if name in DESIGN_WORDS:
        design, real = DESIGN_WORDS[name]
        assert comparison.design.startswith(design) and comparison.real_items == real


@pytest.mark.parametrize("name", MODEL_DESIGNS)
def test_accuracy_differences_follow_the_delta_method_on_lme4s_estimates(comparisons, name):
    comparison, expected = comparisons[name], LME4[name]["laplace"]
    terms = list(expected["fixed"])
    beta = np.array([expected["fixed"][term]["estimate"] for term in terms])
    covariance = np.array(expected["vcov"])

    def accuracy_difference(b, a_index, b_index):
        eta = [b[0]] + [b[0] + b[k] for k in range(1, len(b))]
        return 100 * (expit(eta[a_index]) - expit(eta[b_index]))

    models = list(comparison.models)
    for difference in comparison.differences:
        a, b = models.index(difference.model_a), models.index(difference.model_b)
        # numerical gradient of the accuracy difference at lme4's estimates
        gradient = np.array(
            [
                (accuracy_difference(beta + h, a, b) - accuracy_difference(beta - h, a, b)) / 2e-6
                for h in np.eye(len(beta)) * 1e-6
            ]
        )
        assert difference.difference == pytest.approx(accuracy_difference(beta, a, b), abs=0.02)
        assert difference.stderr == pytest.approx(np.sqrt(gradient @ covariance @ gradient), rel=0.02)
        assert difference.ci_low < difference.difference < difference.ci_high
        half_width = difference.ci_high - difference.difference
        assert half_width == pytest.approx(comparison.critical_value * difference.stderr)
        quantile = (
            stats.t.sf(abs(difference.z), difference.df)
            if difference.df
            else stats.norm.sf(abs(difference.z))
        )
        assert difference.p_value == pytest.approx(2 * quantile)
    raw = [difference.p_value for difference in comparison.differences]
    holm = multipletests(raw, method="holm")[1]
    assert [difference.holm_p_value for difference in comparison.differences] == pytest.approx(list(holm))


def test_split_plot_differences_carry_the_readers_few_degrees_of_freedom(comparisons):
    # s05: four panels of 4 readers; the reader variance enters every difference, estimated from 16 readers
    (difference, *_) = comparisons["s05"].differences
    assert difference.df is not None and 3 < difference.df < 40
    assert comparisons["s05"].critical_value > stats.t.ppf(0.975, 40)


def test_simultaneous_critical_values_against_the_studentized_range_and_sidak():
    # pairwise differences of four independent equal-variance means: max |z| is the range / sqrt(2)
    pairs = [(a, b) for a in range(4) for b in range(a + 1, 4)]
    loadings = np.zeros((len(pairs), 4))
    for row, (a, b) in enumerate(pairs):
        loadings[row, a], loadings[row, b] = 1, -1
    tukey = stats.studentized_range.ppf(0.95, 4, 10_000) / np.sqrt(2)
    assert simultaneous_critical_value(loadings, 0.95) == pytest.approx(tukey, abs=0.01)
    assert simultaneous_critical_value(loadings, 0.95, df=12) == pytest.approx(
        stats.studentized_range.ppf(0.95, 4, 12) / np.sqrt(2), abs=0.015
    )
    sidak = stats.norm.ppf((1 + 0.95 ** (1 / 3)) / 2)
    assert simultaneous_critical_value(np.eye(3), 0.95) == pytest.approx(sidak, abs=0.01)
    assert simultaneous_critical_value(np.ones((1, 2)), 0.95, df=7) == pytest.approx(stats.t.ppf(0.975, 7))


def test_not_estimable_comparisons_say_why():
    one_model = compare_models([1, 0, 1, 0], ["a", "b", "a", "b"], [1, 1, 2, 2], ["M1"] * 4)
    assert not one_model.estimable and one_model.reason.startswith("not estimable because there is one model")
    perfect = compare_models(
        [1, 1, 1, 1, 0, 1, 0, 1], ["a", "b"] * 4, [1, 1, 2, 2, 3, 3, 4, 4], ["M1"] * 4 + ["M2"] * 4
    )
    assert (
        perfect.reason
        == "not estimable because every answer in model M1 is correct: its log-odds are infinite"
    )
    assert json.dumps(perfect.to_dict())


def test_indeterminable_rows_are_dropped_and_garbage_is_refused():
    rows = DATA[DATA.design == "s03"]
    correct = rows.correct.astype(object).copy()
    correct.iloc[:3] = None
    comparison = compare_models(correct, rows.reader, rows.item, rows.model, omnibus=False)
    assert comparison.fit.answer_count == len(rows) - 3 and comparison.omnibus is None
    assert list(comparison.to_frame().columns)[:3] == ["model_a", "model_b", "difference"]
    with pytest.raises(ValueError, match="columns differ in length"):
        compare_models([1, 0], ["a"], [1, 2], ["M1", "M2"])
    with pytest.raises(ValueError, match="confidence"):
        compare_models([1, 0], ["a", "b"], [1, 2], ["M1", "M2"], confidence=1.5)
