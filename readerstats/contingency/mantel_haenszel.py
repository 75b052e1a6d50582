"""Cochran-Mantel-Haenszel test of truth x answer over surveys."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from readerstats.contingency.independence import TRUTH_VS_ANSWER, _crosstab, _decide
from readerstats.core import (
    ALPHA,
    CONFIDENCE,
    INDETERMINABLE,
    TRUTHS,
    _ordered_unique,
    _Result,
    _z,
)

# --------------------------------------------------------------------------------------------------
# Cochran-Mantel-Haenszel test over surveys


@dataclass(frozen=True)
class MantelHaenszelTest(_Result):
    """Cochran-Mantel-Haenszel test of truth x answer (2x2, definite answers) stratified by survey.

    The odds ratio is (real answered real x synthetic answered synthetic) / (the two kinds of error); above 1
    means the answers follow the truth. Its confidence interval uses the Robins-Breslow-Greenland variance.
    """

    statistic: float | None
    dof: int
    p_value: float | None
    continuity_correction: bool
    pooled_odds_ratio: float | None
    odds_ratio_ci_low: float | None
    odds_ratio_ci_high: float | None
    confidence: float
    strata: tuple
    dropped_strata: tuple
    answer_count: int
    alpha: float
    rejects_null: bool | None
    null_hypothesis: str
    conclusion: str
    method: str
    notes: tuple[str, ...] = ()
    reason: str | None = None


def mantel_haenszel_test(
    truth,
    answer,
    stratum,
    *,
    correction: bool = True,
    alpha: float = ALPHA,
    confidence: float = CONFIDENCE,
) -> MantelHaenszelTest:
    """CMH test that the truth x answer odds ratio is 1 in every stratum, on definite answers only.

    Statistic, with a_k the real items answered real in stratum k, r1 r2 its row and c1 c2 its column sums:
        (|Σ a_k − Σ E[a_k]| − c)² / Σ Var(a_k),  E[a_k] = r1 c1 / n,  Var(a_k) = r1 r2 c1 c2 / (n² (n − 1)),
    with c = 0.5 under the continuity correction (the difference floored at 0), else 0. Strata with fewer
    than 2 definite answers carry no information and are dropped.
    """
    truth = np.asarray(truth, dtype=object)
    answer = np.asarray(answer, dtype=object)
    stratum = np.asarray(stratum, dtype=object)
    definite = answer != INDETERMINABLE
    truth, answer, stratum = truth[definite], answer[definite], stratum[definite]
    method = (
        "Cochran-Mantel-Haenszel chi-squared (1 dof), truth x answer 2x2 per stratum, indeterminable "
        "excluded, "
        + ("continuity correction 0.5 applied" if correction else "no continuity correction")
        + "; Mantel-Haenszel pooled odds ratio with Robins-Breslow-Greenland CI"
    )
    hypothesis = TRUTH_VS_ANSWER
    labels = _ordered_unique(stratum)
    tables = {
        label: _crosstab(truth[stratum == label], TRUTHS, answer[stratum == label], TRUTHS)
        for label in labels
    }
    kept = tuple(label for label in labels if tables[label].sum() >= 2)
    dropped = tuple(label for label in labels if tables[label].sum() < 2)
    notes = (f"dropped strata with fewer than 2 definite answers: {list(dropped)}",) if dropped else ()
    base = {
        "dof": 1,
        "continuity_correction": correction,
        "confidence": confidence,
        "strata": kept,
        "dropped_strata": dropped,
        "answer_count": int(sum(tables[label].sum() for label in kept)),
        "alpha": alpha,
        "null_hypothesis": "H0: within every stratum the answer is independent of the truth (common odds "
        "ratio 1); " + hypothesis.null.split("; ", 1)[1],
        "method": method,
        "notes": notes,
    }
    if not kept:
        reason = "no stratum has 2 or more definite answers"
        return MantelHaenszelTest(
            statistic=None,
            p_value=None,
            pooled_odds_ratio=None,
            odds_ratio_ci_low=None,
            odds_ratio_ci_high=None,
            rejects_null=None,
            conclusion=f"no test: {reason}.",
            reason=reason,
            **base,
        )
    stacked = np.array([tables[label] for label in kept], dtype=float)
    a, b, c, d = stacked[:, 0, 0], stacked[:, 0, 1], stacked[:, 1, 0], stacked[:, 1, 1]
    n = a + b + c + d
    expected_a = (a + b) * (a + c) / n
    variance = (a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1))
    total_variance = float(variance.sum())
    odds_ratio = ci_low = ci_high = None
    ad, bc = float((a * d / n).sum()), float((b * c / n).sum())
    if ad > 0 and bc > 0:
        odds_ratio = ad / bc
        p_sum = (a + d) / n
        q_sum = (b + c) / n
        log_variance = (
            (p_sum * a * d / n).sum() / (2 * ad * ad)
            + (p_sum * b * c / n + q_sum * a * d / n).sum() / (2 * ad * bc)
            + (q_sum * b * c / n).sum() / (2 * bc * bc)
        )
        half_width = _z(confidence) * math.sqrt(log_variance)
        ci_low = math.exp(math.log(odds_ratio) - half_width)
        ci_high = math.exp(math.log(odds_ratio) + half_width)
    elif ad > 0 or bc > 0:
        notes = (*notes, "pooled odds ratio is infinite or zero (an error or a success type never occurs)")
    if total_variance <= 0:
        reason = "every stratum has an empty truth or answer margin, so the CMH variance is 0"
        return MantelHaenszelTest(
            statistic=None,
            p_value=None,
            pooled_odds_ratio=odds_ratio,
            odds_ratio_ci_low=ci_low,
            odds_ratio_ci_high=ci_high,
            rejects_null=None,
            conclusion=f"no test: {reason}.",
            reason=reason,
            **{**base, "notes": notes},
        )
    deviation = abs(float((a - expected_a).sum()))
    if correction:
        deviation = max(deviation - 0.5, 0.0)
    statistic = deviation * deviation / total_variance
    p_value = float(stats.chi2.sf(statistic, 1))
    rejects, conclusion = _decide(p_value, alpha, hypothesis, which="CMH")
    return MantelHaenszelTest(
        statistic=statistic,
        p_value=p_value,
        pooled_odds_ratio=odds_ratio,
        odds_ratio_ci_low=ci_low,
        odds_ratio_ci_high=ci_high,
        rejects_null=rejects,
        conclusion=conclusion,
        **{**base, "notes": notes},
    )
