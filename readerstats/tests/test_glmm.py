"""The Laplace GLMM checked against R's lme4 (glmer, nAGQ = 1) on a simulated crossed reader x item dataset.

Tolerances: fixed effects 1e-3 absolute on the log-odds scale (lme4 stops its bobyqa search where the deviance is
flat: at lme4's own estimates our log-likelihood differs from the optimum by about 1e-8); variance components 0.2%
relative; log-likelihood 1e-4 absolute. Standard errors 1% relative: both use the numerical Hessian of the Laplace
deviance in (sigma, beta), but lme4's finite differences run over penalised IRLS solved to its tolerance
(tolPwrss), and differencing a deviance with noise of that size at lme4's step of 1e-4 moves the Hessian by a few
per mille; ours is solved to 1e-10 and stable over steps from 1e-2 to 1e-5 (tested below).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from readerstats import glmm
from readerstats.glmm import glmm_accuracy, glmm_fit

REFERENCE = Path(__file__).parent / "reference"
LME4 = json.loads((REFERENCE / "crossed_a.lme4.json").read_text())


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REFERENCE / "crossed_a.csv")


def check(fit, expected):
    for term, coefficient, stderr in zip(fit.terms, fit.coefficients, fit.stderrs, strict=True):
        assert coefficient == pytest.approx(expected["fixed"][term]["estimate"], abs=1e-3), term
        assert stderr == pytest.approx(expected["fixed"][term]["std_error"], rel=0.01), term
    assert fit.reader_variance == pytest.approx(expected["variance"]["reader"], rel=2e-3)
    assert fit.item_variance == pytest.approx(expected["variance"]["item"], rel=2e-3)
    assert fit.log_likelihood == pytest.approx(expected["log_likelihood"], abs=1e-4)


def test_intercept_model_matches_lme4_laplace(data):
    fit = glmm_fit(data.correct, data.reader, data.item)
    assert fit.estimable and fit.converged and fit.answer_count == 480
    check(fit, LME4["intercept_laplace"])


def test_truth_model_matches_lme4_laplace(data):
    synthetic = (data.truth == "synthetic").astype(float)
    fit = glmm_fit(data.correct, data.reader, data.item, covariate=synthetic, covariate_name="truthsynthetic")
    check(fit, LME4["truth_laplace"])


def test_laplace_deviance_at_lme4_estimates_is_lme4_log_likelihood(data):
    expected = LME4["intercept_laplace"]
    y = data.correct.to_numpy(float)
    problem = glmm._Problem(
        y, np.ones((len(y), 1)), pd.factorize(data.reader)[0], pd.factorize(data.item)[0], 12, 40
    )
    point = np.array(
        [
            expected["fixed"]["(Intercept)"]["estimate"],
            np.sqrt(expected["variance"]["reader"]),
            np.sqrt(expected["variance"]["item"]),
        ]
    )
    assert -problem.deviance(point) / 2 == pytest.approx(expected["log_likelihood"], abs=1e-4)
    # the standard error does not depend on the finite-difference step
    errors = [
        np.sqrt(2 * np.linalg.inv(glmm._numerical_hessian(problem.deviance, point, np.full(3, h)))[0, 0])
        for h in (1e-2, 1e-3, 1e-4)
    ]
    assert max(errors) - min(errors) < 1e-5


def test_accuracy_is_expit_of_the_intercept_with_a_wald_test(data):
    result = glmm_accuracy(data.correct, data.reader, data.item)
    fit = result.fit
    assert result.accuracy == pytest.approx(expit(fit.coefficients[0]))
    assert result.ci_low == pytest.approx(expit(fit.coefficients[0] - 1.959964 * fit.stderrs[0]), rel=1e-6)
    assert result.p_value == pytest.approx(LME4["intercept_laplace"]["fixed"]["(Intercept)"]["p"], abs=0.005)
    assert result.reader_variance == fit.reader_variance
    assert "NaN" not in json.dumps(result.to_dict())


def test_unanswered_rows_are_dropped(data):
    correct = data.correct.astype(object).copy()
    correct.iloc[:5] = None
    fit = glmm_fit(correct, data.reader, data.item)
    reference = glmm_fit(data.correct.iloc[5:], data.reader.iloc[5:], data.item.iloc[5:])
    assert fit.answer_count == 475
    assert fit.coefficients[0] == pytest.approx(reference.coefficients[0], abs=1e-6)


def test_not_estimable_cases():
    readers = ["R1"] * 6
    items = list(range(6))
    one_reader = glmm_accuracy([1, 0, 1, 1, 0, 1], readers, items)
    assert not one_reader.estimable and one_reader.reason.startswith(
        "not estimable because there is one reader"
    )
    all_correct = glmm_accuracy([1] * 6, ["R1", "R2"] * 3, [0, 0, 1, 1, 2, 2])
    assert all_correct.reason == "not estimable because every answer is correct: the log-odds are infinite"
    assert all_correct.ci_low is None
    # a reader who answered only "indeterminable" has no scored answer: nothing is left to fit
    only_indeterminable = glmm_accuracy([None] * 4, ["R1", "R1", "R2", "R2"], [0, 1, 0, 1])
    assert only_indeterminable.reason == "not estimable because there are no answers"
    assert "NaN" not in json.dumps(all_correct.to_dict())


def test_garbage_input_raises_one_line_errors():
    with pytest.raises(ValueError, match="columns differ in length"):
        glmm_fit([1, 0], ["a"], [1, 2])
    with pytest.raises(ValueError, match="correct must be 0/1"):
        glmm_fit([1, 2], ["a", "b"], [1, 2])
    with pytest.raises(ValueError, match="confidence"):
        glmm_accuracy([1, 0], ["a", "b"], [1, 2], confidence=2)
