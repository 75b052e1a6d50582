"""Reader-clustered logistic GEE for accuracy (exchangeable working correlation, robust standard errors)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import expit
from statsmodels.genmod import families
from statsmodels.genmod.cov_struct import Exchangeable
from statsmodels.genmod.generalized_estimating_equations import GEE

from readerstats.contingency import Hypothesis, _decide
from readerstats.core import (
    ALPHA,
    CONFIDENCE,
    FEW_CLUSTERS,
    SYNTHETIC,
    TRUTHS,
    _float_or_none,
    _ordered_unique,
    _Result,
    _z,
)

VARIANCE_RELATIVE_TOLERANCE = 1e-9
"""A linear combination's sandwich variance at or below this share of the size of its terms is rounding noise."""


@dataclass(frozen=True)
class GeeAccuracy(_Result):
    """Accuracy from a GEE logistic model of correctness with readers as clusters.

    Model: logit P(correct) = b0 + b1·t with t = +1/2 for synthetic and −1/2 for real items, so b0 is the mean
    log-odds of a correct answer over real and synthetic items and ``accuracy`` = expit(b0); b1 is the log
    odds ratio of being correct on synthetic versus real items. Intervals and p-values use the cluster-robust
    (sandwich) covariance; ``p_value`` tests b0 = 0 (accuracy 50%).
    """

    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    intercept_log_odds: float | None
    intercept_se: float | None
    p_value: float | None
    real_items_accuracy: float | None
    real_items_ci: tuple[float, float] | None
    synthetic_items_accuracy: float | None
    synthetic_items_ci: tuple[float, float] | None
    truth_log_odds_ratio: float | None
    truth_p_value: float | None
    working_correlation: float | None
    cluster_count: int
    answer_count: int
    confidence: float
    alpha: float
    rejects_null: bool | None
    conclusion: str
    method: str
    notes: tuple[str, ...] = ()
    reason: str | None = None


def gee_accuracy(
    correct, truth, reader, *, alpha: float = ALPHA, confidence: float = CONFIDENCE
) -> GeeAccuracy:
    """Fit the GEE model of :class:`GeeAccuracy`: Binomial family, logit link, exchangeable correlation.

    Returns a result with a ``reason`` instead of estimates when there are no answers, fewer than 2 readers,
    no variation in correctness, or perfect separation (all answers on real or on synthetic items correct, or
    all wrong), where the log-odds are infinite.
    """
    correct = np.asarray(correct, dtype=bool)
    truth = np.asarray(truth, dtype=object)
    reader = np.asarray(reader, dtype=object)
    readers = _ordered_unique(reader)
    method = (
        "GEE, Binomial family (logit link), exchangeable working correlation within readers, cluster-robust "
        "(sandwich) covariance; covariates: intercept and truth coded synthetic +1/2, real -1/2; Wald z "
        "tests. Items are not modelled as clusters."
    )
    empty = {
        "accuracy": None,
        "ci_low": None,
        "ci_high": None,
        "intercept_log_odds": None,
        "intercept_se": None,
        "p_value": None,
        "real_items_accuracy": None,
        "real_items_ci": None,
        "synthetic_items_accuracy": None,
        "synthetic_items_ci": None,
        "truth_log_odds_ratio": None,
        "truth_p_value": None,
        "working_correlation": None,
        "cluster_count": len(readers),
        "answer_count": len(correct),
        "confidence": confidence,
        "alpha": alpha,
        "rejects_null": None,
        "method": method,
    }

    def without_estimate(reason: str, notes: Sequence[str] = ()) -> GeeAccuracy:
        return GeeAccuracy(**empty, conclusion=f"no model: {reason}.", notes=tuple(notes), reason=reason)

    if len(correct) == 0:
        return without_estimate("no answers")
    if len(readers) < 2:
        return without_estimate(
            f"{len(readers)} reader: a model with reader clusters needs at least 2 readers "
            "(use the per-reader accuracy instead)"
        )
    if correct.all() or not correct.any():
        state = "correct" if correct.all() else "wrong"
        return without_estimate(f"no variation: every answer is {state}, so the log-odds are infinite")
    levels = [level for level in TRUTHS if np.any(truth == level)]
    for level in levels:
        on_level = correct[truth == level]
        if on_level.all() or not on_level.any():
            state = "correct" if on_level.all() else "wrong"
            return without_estimate(
                f"perfect separation: every answer on {level} items is {state}, so the log-odds are infinite"
            )
    notes = []
    if len(levels) == 2:
        exog = np.column_stack([np.ones(len(correct)), np.where(truth == SYNTHETIC, 0.5, -0.5)])
    else:
        exog = np.ones((len(correct), 1))
        notes.append(f"only {levels[0]} items: the truth covariate was dropped")
    groups = np.array([readers.index(name) for name in reader])
    if len(readers) < FEW_CLUSTERS:
        notes.append(
            f"only {len(readers)} readers: cluster-robust standard errors are too small with fewer than "
            f"about {FEW_CLUSTERS} clusters, so the interval is optimistic"
        )
    model = GEE(
        correct.astype(float), exog, groups=groups, family=families.Binomial(), cov_struct=Exchangeable()
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit()
        except (ValueError, np.linalg.LinAlgError) as error:
            return without_estimate(f"the GEE fit failed: {error}", notes)
    notes.extend(f"statsmodels warned: {warning.message}" for warning in caught)
    params = np.asarray(fit.params, dtype=float)
    covariance = np.asarray(fit.cov_params(), dtype=float)
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(covariance))) or covariance[0, 0] <= 0:
        return without_estimate("the GEE fit gave no finite estimate or standard error", notes)
    z = _z(confidence)

    def on_probability_scale(
        weights: np.ndarray,
    ) -> tuple[float, tuple[float, float] | None, float, float | None]:
        log_odds = float(weights @ params)
        variance = float(weights @ covariance @ weights)
        # the sandwich covariance of few clusters can be numerically indefinite: no interval then, also when the
        # quadratic form is zero up to rounding (its terms cancel to within 1e-9 of their size), whose sign and
        # size are noise
        scale = float(np.abs(weights) @ np.abs(covariance) @ np.abs(weights))
        if not variance > VARIANCE_RELATIVE_TOLERANCE * scale:
            return float(expit(log_odds)), None, log_odds, None
        se = math.sqrt(variance)
        return (
            float(expit(log_odds)),
            (float(expit(log_odds - z * se)), float(expit(log_odds + z * se))),
            log_odds,
            se,
        )

    accuracy, (low, high), intercept, intercept_se = on_probability_scale(np.eye(len(params))[0])
    p_value = float(2 * stats.norm.sf(abs(intercept / intercept_se)))
    estimates = {}
    if len(levels) == 2:
        real, real_ci, _, _ = on_probability_scale(np.array([1.0, -0.5]))
        synthetic, synthetic_ci, _, _ = on_probability_scale(np.array([1.0, 0.5]))
        truth_se = math.sqrt(covariance[1, 1]) if covariance[1, 1] > 0 else 0.0
        estimates = {
            "real_items_accuracy": real,
            "real_items_ci": real_ci,
            "synthetic_items_accuracy": synthetic,
            "synthetic_items_ci": synthetic_ci,
            "truth_log_odds_ratio": float(params[1]),
            "truth_p_value": float(2 * stats.norm.sf(abs(params[1] / truth_se))) if truth_se > 0 else None,
        }
    chance = Hypothesis(
        null="H0: accuracy is 50% (intercept log-odds 0)",
        reject=(
            "accuracy differs from chance after allowing for reader clustering"
            + (
                " (above 50%: readers CAN tell)"
                if accuracy > 0.5
                else " (below 50%: answers systematically inverted)"
            )
        ),
        retain="no evidence that accuracy differs from chance; this is not evidence that it equals chance",
    )
    rejects, conclusion = _decide(p_value, alpha, chance, which="GEE")
    dependence = np.asarray(fit.model.cov_struct.dep_params, dtype=float).ravel()
    return GeeAccuracy(
        **{
            **empty,
            **estimates,
            "accuracy": accuracy,
            "ci_low": low,
            "ci_high": high,
            "intercept_log_odds": intercept,
            "intercept_se": intercept_se,
            "p_value": p_value,
            "working_correlation": _float_or_none(dependence[0]) if dependence.size else None,
            "rejects_null": rejects,
        },
        conclusion=conclusion,
        notes=tuple(notes),
    )
