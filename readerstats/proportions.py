"""Proportions: Wilson interval, exact binomial test, accuracy per survey (Table 2), per reader, equivalence (TOST)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from readerstats.core import (
    ALPHA,
    CONFIDENCE,
    EQUIVALENCE_MARGIN,
    INDETERMINABLE,
    REAL,
    SYNTHETIC,
    _ordered_unique,
    _Result,
    _z,
)


def wilson_interval(successes: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion; ``None`` when ``total`` is 0.

    With z the two-sided normal quantile and p = successes / total the interval is
        (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
    """
    if total <= 0:
        return None
    if not 0 <= successes <= total:
        raise ValueError(f"successes must lie in [0, {total}], got {successes}")
    z = _z(confidence)
    n = float(total)
    proportion = successes / n
    denominator = 1.0 + z * z / n
    centre = (proportion + z * z / (2.0 * n)) / denominator
    half_width = z * math.sqrt(proportion * (1.0 - proportion) / n + z * z / (4.0 * n * n)) / denominator
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def binomial_test_p_value(successes: int, total: int, null_proportion: float = 0.5) -> float | None:
    """Exact two-sided binomial test p-value; ``None`` when ``total`` is 0.

    Two-sided by the minimum-likelihood rule: the p-value sums the probabilities of every outcome no more
    likely under H0 than the one observed (the rule of ``scipy.stats.binomtest``).
    """
    if total <= 0:
        return None
    if not 0.0 < null_proportion < 1.0:
        raise ValueError("null_proportion must lie strictly between 0 and 1")
    pmf = stats.binom.pmf(np.arange(total + 1), total, null_proportion)
    observed = pmf[successes]
    # The relative tolerance keeps outcomes of equal probability (symmetric ones) from being lost to rounding.
    return float(min(1.0, pmf[pmf <= observed * (1.0 + 1e-7)].sum()))


@dataclass(frozen=True)
class ProportionEstimate(_Result):
    """A proportion with its Wilson interval and an exact binomial test against ``null_proportion``."""

    label: str
    successes: int
    total: int
    proportion: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    null_proportion: float
    p_value: float | None
    method: str
    note: str | None = None


def proportion_estimate(
    successes: int,
    total: int,
    *,
    label: str = "",
    confidence: float = CONFIDENCE,
    null_proportion: float = 0.5,
) -> ProportionEstimate:
    successes, total = int(successes), int(total)
    method = (
        f"Wilson score {confidence:.0%} interval; exact two-sided binomial test against {null_proportion:g}. "
        "Assumes independent answers (ignores clustering by reader and item)."
    )
    if total == 0:
        return ProportionEstimate(
            label,
            0,
            0,
            None,
            None,
            None,
            confidence,
            null_proportion,
            None,
            method,
            "no answers in this group",
        )
    low, high = wilson_interval(successes, total, confidence)
    return ProportionEstimate(
        label=label,
        successes=successes,
        total=total,
        proportion=successes / total,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        null_proportion=null_proportion,
        p_value=binomial_test_p_value(successes, total, null_proportion),
        method=method,
    )


# --------------------------------------------------------------------------------------------------
# Table 2: accuracy per survey


@dataclass(frozen=True)
class ScopedAccuracy(_Result):
    """Accuracy over all items, real items only and synthetic items only, for one way of scoring
    indeterminable answers."""

    indeterminable: str  # "excluded" or "counted as wrong"
    all_items: ProportionEstimate
    real_items: ProportionEstimate
    synthetic_items: ProportionEstimate


@dataclass(frozen=True)
class AccuracyBreakdown(_Result):
    """The paper's Table 2 for one group of answers, plus sensitivity and specificity for "synthetic".

    Sensitivity is P(answer synthetic | synthetic item) and specificity P(answer real | real item), both over
    definite answers; they equal the accuracies on synthetic and on real items with indeterminable excluded.
    """

    answer_count: int
    indeterminable_count: int
    indeterminable_excluded: ScopedAccuracy
    indeterminable_as_wrong: ScopedAccuracy
    sensitivity: ProportionEstimate
    specificity: ProportionEstimate


def accuracy_breakdown(truth, answer, *, confidence: float = CONFIDENCE) -> AccuracyBreakdown:
    truth = np.asarray(truth, dtype=object)
    answer = np.asarray(answer, dtype=object)
    correct = truth == answer
    definite = answer != INDETERMINABLE
    scopes = {"all_items": np.ones(len(truth), dtype=bool), "real_items": truth == REAL}
    scopes["synthetic_items"] = truth == SYNTHETIC

    def scoped(indeterminable: str, counted: np.ndarray) -> ScopedAccuracy:
        return ScopedAccuracy(
            indeterminable=indeterminable,
            **{
                name: proportion_estimate(
                    np.count_nonzero(correct & mask),
                    np.count_nonzero(counted & mask),
                    label=f"accuracy, {name.replace('_', ' ')}, indeterminable {indeterminable}",
                    confidence=confidence,
                )
                for name, mask in scopes.items()
            },
        )

    synthetic_items, real_items = scopes["synthetic_items"], scopes["real_items"]
    return AccuracyBreakdown(
        answer_count=len(truth),
        indeterminable_count=int(np.count_nonzero(~definite)),
        indeterminable_excluded=scoped("excluded", definite),
        indeterminable_as_wrong=scoped("counted as wrong", np.ones(len(truth), dtype=bool)),
        sensitivity=proportion_estimate(
            np.count_nonzero(synthetic_items & (answer == SYNTHETIC)),
            np.count_nonzero(synthetic_items & definite),
            label="sensitivity for synthetic (indeterminable excluded)",
            confidence=confidence,
        ),
        specificity=proportion_estimate(
            np.count_nonzero(real_items & (answer == REAL)),
            np.count_nonzero(real_items & definite),
            label="specificity for synthetic (indeterminable excluded)",
            confidence=confidence,
        ),
    )


@dataclass(frozen=True)
class ReaderAccuracy(_Result):
    reader: Any
    answer_count: int
    indeterminable_count: int
    indeterminable_excluded: ProportionEstimate
    indeterminable_as_wrong: ProportionEstimate


def per_reader_accuracy(
    truth, answer, reader, *, confidence: float = CONFIDENCE
) -> tuple[ReaderAccuracy, ...]:
    """Each reader's accuracy over all their answers, with indeterminable excluded and counted as wrong."""
    truth = np.asarray(truth, dtype=object)
    answer = np.asarray(answer, dtype=object)
    reader = np.asarray(reader, dtype=object)
    result = []
    for name in _ordered_unique(reader):
        mine = reader == name
        correct = int(np.count_nonzero(mine & (truth == answer)))
        definite = int(np.count_nonzero(mine & (answer != INDETERMINABLE)))
        total = int(np.count_nonzero(mine))
        result.append(
            ReaderAccuracy(
                reader=name,
                answer_count=total,
                indeterminable_count=total - definite,
                indeterminable_excluded=proportion_estimate(
                    correct, definite, label=f"reader {name}, indeterminable excluded", confidence=confidence
                ),
                indeterminable_as_wrong=proportion_estimate(
                    correct,
                    total,
                    label=f"reader {name}, indeterminable counted as wrong",
                    confidence=confidence,
                ),
            )
        )
    return tuple(result)


def equivalence_sample_size(
    margin: float = EQUIVALENCE_MARGIN,
    *,
    alpha: float = ALPHA,
    power: float = 0.8,
    true_accuracy: float = 0.5,
) -> int:
    """Number of independent answers for the equivalence test to show 0.5 − margin < accuracy < 0.5 + margin.

    With a true accuracy of exactly 0.5 both one-sided tests must succeed, so each gets β/2 (β = 1 − power):
        n = (z_{1−α} + z_{1−β/2})² · p(1 − p) / margin²,  p = 0.5.
    For another true accuracy p the nearer bound dominates:
        n = (z_{1−α} + z_{1−β})² · p(1 − p) / (margin − |p − 0.5|)².
    The defaults (margin 0.1, α 0.05, power 0.8) give 215. Answers clustered within readers need more:
    multiply by the design effect 1 + (m − 1)ρ for m answers per reader and intra-reader correlation ρ.
    """
    distance = abs(true_accuracy - 0.5)
    if not 0 < margin < 0.5 or distance >= margin:
        raise ValueError("need 0 < margin < 0.5 and |true_accuracy - 0.5| < margin")
    beta = 1.0 - power
    z_power = stats.norm.ppf(1.0 - beta / 2.0) if distance == 0 else stats.norm.ppf(1.0 - beta)
    n = (
        (stats.norm.ppf(1.0 - alpha) + z_power) ** 2
        * true_accuracy
        * (1.0 - true_accuracy)
        / (margin - distance) ** 2
    )
    return math.ceil(n - 1e-9)


@dataclass(frozen=True)
class EquivalenceTest(_Result):
    """Two one-sided tests (TOST) that accuracy lies within 0.5 ± margin ("indistinguishable from chance").

    Equivalence is shown when the (1 − 2α) Wilson interval lies inside (0.5 − margin, 0.5 + margin), i.e. when
    both one-sided score tests reject at α; ``tost_p_value`` is the larger of their p-values.
    """

    successes: int
    total: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    interval_confidence: float
    margin: float
    lower_bound: float
    upper_bound: float
    tost_p_value: float | None
    equivalent: bool | None
    required_answers: int
    alpha: float
    power: float
    conclusion: str
    method: str
    reason: str | None = None


def equivalence_test(
    successes: int,
    total: int,
    *,
    margin: float = EQUIVALENCE_MARGIN,
    alpha: float = ALPHA,
    power: float = 0.8,
) -> EquivalenceTest:
    successes, total = int(successes), int(total)
    lower, upper = 0.5 - margin, 0.5 + margin
    required = equivalence_sample_size(margin, alpha=alpha, power=power)
    method = (
        f"TOST against 0.5 ± {margin:g}: {1 - 2 * alpha:.0%} Wilson interval inside the margin "
        f"(equivalently both one-sided score tests at α = {alpha:g}); treats answers as independent, so with "
        f"reader clustering the interval is optimistic. {required} answers give {power:.0%} power at a true "
        "accuracy of 0.5."
    )
    base = {
        "successes": successes,
        "total": total,
        "interval_confidence": 1 - 2 * alpha,
        "margin": margin,
        "lower_bound": lower,
        "upper_bound": upper,
        "required_answers": required,
        "alpha": alpha,
        "power": power,
        "method": method,
    }
    if total == 0:
        reason = "no answers"
        return EquivalenceTest(
            accuracy=None,
            ci_low=None,
            ci_high=None,
            tost_p_value=None,
            equivalent=None,
            conclusion=f"no test: {reason}.",
            reason=reason,
            **base,
        )
    accuracy = successes / total
    low, high = wilson_interval(successes, total, 1 - 2 * alpha)
    p_above_lower = stats.norm.sf((accuracy - lower) / math.sqrt(lower * (1 - lower) / total))
    p_below_upper = stats.norm.cdf((accuracy - upper) / math.sqrt(upper * (1 - upper) / total))
    equivalent = bool(low > lower and high < upper)
    interval = f"{1 - 2 * alpha:.0%} CI {low:.3f}-{high:.3f}"
    if equivalent:
        conclusion = (
            f"accuracy {accuracy:.3f} ({interval}) lies within 0.5 ± {margin:g}: readers are "
            "indistinguishable from chance at this margin."
        )
    else:
        conclusion = (
            f"accuracy {accuracy:.3f} ({interval}) is not shown to lie within 0.5 ± {margin:g}: equivalence "
            f"to chance not shown ({total} answers; about {required} would give {power:.0%} power)."
        )
    return EquivalenceTest(
        accuracy=accuracy,
        ci_low=low,
        ci_high=high,
        tost_p_value=float(max(p_above_lower, p_below_upper)),
        equivalent=equivalent,
        conclusion=conclusion,
        **base,
    )
