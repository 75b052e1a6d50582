"""Study planning: how wide the OR confidence interval of accuracy will be, and how likely the equivalence test is
to succeed, for a number of readers and items, before anyone reads.

The model is the one the simulator draws from (:mod:`readerstats.simulate`): reader j answers item k correctly
with probability expit(mu + u_j + v_k), u_j ~ N(0, reader_sd^2), v_k ~ N(0, case_sd^2), the same for real and
synthetic items. For the proportion-correct figure of merit over N = 2 x items_per_side cases, the population
values of the Obuchowski-Rockette single-modality analysis follow exactly (Gauss-Hermite quadrature over u and v):

- the reader variance sigma_R^2 = Var_u(theta(u)), theta(u) = E_v expit(mu + u + v), the reader's accuracy over
  the population of cases;
- the error variance Var = E_u[theta(u) (1 - theta(u))] / N, one reader's sampling variance over cases;
- Cov2 = Var_v(h(v)) / N, h(v) = E_u expit(mu + u + v): the covariance of two readers' accuracies due to the cases
  they share (the case variance seen by the OR analysis).

With r readers, E[MS(R)] = sigma_R^2 + Var - Cov2, and the OR (Hillis 2007) single-modality standard error is
se^2 = MS(R)/r + Cov2 with ddf = (MS(R) + r Cov2)^2 / (MS(R)^2 / (r - 1)). :func:`plan_design` plugs the expected
mean squares into these formulas: the expected half-width of the 95% CI is t(ddf) x se; the equivalence test
(two one-sided t tests at alpha = 0.05, i.e. the 90% CI inside 0.5 +- margin) succeeds with probability
E[Phi((0.5 + margin - t s - theta) / se) - Phi((0.5 - margin + t s - theta) / se)], theta the marginal accuracy
and s the estimated standard error, taken to vary as se^2 chi^2(ddf) / ddf (with few readers the estimated
standard error varies a lot, and a study whose estimate happens to be small can pass). These are approximations
(expected mean squares; theta-hat normal and independent of s), checked against simulated studies analysed by
:func:`readerstats.mrmc.or_analysis` in the tests.

Pure NumPy/SciPy; no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from readerstats.core import ALPHA, CONFIDENCE, EQUIVALENCE_MARGIN, _Result

__all__ = [
    "ASSUMED_CASE_SD",
    "ASSUMED_READER_SD",
    "SENSITIVITY_SDS",
    "DesignOption",
    "PlanningError",
    "StudyPlan",
    "plan_design",
    "required_designs",
]

# Assumed spreads on the log-odds scale when no pilot survey exists: a reader one SD better than the typical one
# has odds of a correct answer 1.6 times as high, an item one SD easier 2.2 times. They are assumptions, not
# estimates from the literature: no published reader study of telling real from synthetic CT gives these spreads.
# For orientation only, the Roe & Metz simulation settings used for ROC sample-size work (as tabulated by
# Chakraborty 2010, Acad Radiol 17(5), Table 1, and the iMRMC default), converted to one binary reading on the
# logit scale, span reader SD 0.28-0.66 and case SD 0.85-2.1 (docs/statistics.md, "Where the assumed spreads come
# from", gives the conversion and the sensitivity of the half-width to both). Replace them by a pilot's GLMM
# estimates (`plan_study --pilot SURVEY`, or the planning panel's pilot).
ASSUMED_READER_SD = 0.5
ASSUMED_CASE_SD = 0.8
SENSITIVITY_SDS = (0.25, 0.5, 1.0)
"""The reader and case SDs of the sensitivity table shown beside a plan (half-width for each pair)."""

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


class PlanningError(ValueError):
    """A design or assumption that cannot be planned for; the message is one line naming the argument."""


@dataclass(frozen=True)
class StudyPlan(_Result):
    """Expected OR RRRC result of one design, and the equivalence test's power."""

    readers: int
    items_per_side: int
    accuracy: float  # conditional accuracy expit(mu): the typical reader on the typical item
    marginal_accuracy: float  # the population-average accuracy the OR analysis estimates
    reader_sd: float
    case_sd: float
    reader_variance: float  # sigma_R^2 of the reader accuracies
    error_variance: float  # Var
    cov2: float
    stderr: float
    ddf: float
    half_width: float  # of the `confidence` CI
    confidence: float
    margin: float
    equivalence_power: float
    method: str = "Obuchowski-Rockette single-modality RRRC with Hillis ddf, expected mean squares"


@dataclass(frozen=True)
class DesignOption(_Result):
    """The fewest items per side that reach a target with a given number of readers."""

    readers: int
    items_per_side: int | None  # None: unreachable with this many readers within the item limit
    half_width: float | None
    equivalence_power: float | None


def _check(
    readers: int, items_per_side: int, accuracy: float, reader_sd: float, case_sd: float, margin: float
):
    if isinstance(readers, bool) or not isinstance(readers, int | np.integer) or readers < 2:
        raise PlanningError(
            f"readers must be a whole number of at least 2 (the OR analysis needs two), not {readers!r}"
        )
    if (
        isinstance(items_per_side, bool)
        or not isinstance(items_per_side, int | np.integer)
        or items_per_side < 1
    ):
        raise PlanningError(f"items per side must be a whole number of at least 1, not {items_per_side!r}")
    for name, value in (("accuracy", accuracy), ("margin", margin)):
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise PlanningError(f"{name} must be a number, not {value!r}")
    if not 0 < accuracy < 1:
        raise PlanningError(f"accuracy must be between 0 and 1 (exclusive), not {accuracy:g}")
    if not 0 < margin < 0.5:
        raise PlanningError(f"the equivalence margin must be between 0 and 0.5, not {margin:g}")
    for name, value in (("reader SD", reader_sd), ("case SD", case_sd)):
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0 or value > 5:
            raise PlanningError(f"the {name} must be a number from 0 to 5 (log-odds), not {value!r}")


def _components(accuracy: float, reader_sd: float, case_sd: float) -> tuple[float, float, float, float]:
    """(marginal accuracy, sigma_R^2, E[theta(1-theta)], Var_v h(v)) of the logit-normal model."""
    from scipy.special import expit, logit  # here: web processes use this module's constants without SciPy

    mu = float(logit(accuracy))
    u = reader_sd * _NODES
    v = case_sd * _NODES
    g = expit(mu + u[:, None] + v[None, :])  # (u node, v node)
    theta = g @ _WEIGHTS  # reader accuracy over cases, per u node
    h = _WEIGHTS @ g  # item ease averaged over readers, per v node
    marginal = float(_WEIGHTS @ theta)
    reader_variance = float(_WEIGHTS @ (theta - marginal) ** 2)
    bernoulli = float(_WEIGHTS @ (theta * (1 - theta)))
    case_variance = float(_WEIGHTS @ (h - marginal) ** 2)
    return marginal, reader_variance, bernoulli, case_variance


def _equivalence_power(theta: float, stderr: float, ddf: float, margin: float) -> float:
    """P(the 90% CI lies inside 0.5 +- margin): theta-hat ~ N(theta, stderr^2), and the estimated standard error
    varies as stderr^2 x chi^2(ddf) / ddf, independently (averaged over 400 quantiles of that chi-squared)."""
    from scipy import stats  # here: web processes use this module's constants without SciPy

    t_one_sided = float(stats.t.ppf(1 - ALPHA, ddf))
    if math.isinf(ddf):
        estimated = np.array([stderr])
    else:
        quantiles = (np.arange(400) + 0.5) / 400
        estimated = stderr * np.sqrt(stats.chi2.ppf(quantiles, ddf) / ddf)
    upper = (0.5 + margin - t_one_sided * estimated - theta) / stderr
    lower = (0.5 - margin + t_one_sided * estimated - theta) / stderr
    return float(np.mean(np.clip(stats.norm.cdf(upper) - stats.norm.cdf(lower), 0.0, None)))


def plan_design(
    readers: int,
    items_per_side: int,
    *,
    accuracy: float = 0.5,
    reader_sd: float = ASSUMED_READER_SD,
    case_sd: float = ASSUMED_CASE_SD,
    margin: float = EQUIVALENCE_MARGIN,
    confidence: float = CONFIDENCE,
) -> StudyPlan:
    """The expected OR RRRC CI half-width of accuracy and the equivalence test's power for ``readers`` readers
    each reading ``items_per_side`` real and as many synthetic items."""
    from scipy import stats  # here: web processes use this module's constants without SciPy

    _check(readers, items_per_side, accuracy, reader_sd, case_sd, margin)
    marginal, reader_variance, bernoulli, case_variance = _components(accuracy, reader_sd, case_sd)
    cases = 2 * int(items_per_side)
    r = int(readers)
    error_variance = bernoulli / cases
    cov2 = case_variance / cases
    ms_r = reader_variance + error_variance - cov2
    se2 = ms_r / r + cov2
    stderr = math.sqrt(se2)
    ddf = (ms_r + r * cov2) ** 2 / (ms_r**2 / (r - 1)) if ms_r > 0 else math.inf
    half_width = float(stats.t.ppf(0.5 + confidence / 2, ddf)) * stderr
    power = _equivalence_power(marginal, stderr, ddf, margin)
    return StudyPlan(
        readers=r,
        items_per_side=int(items_per_side),
        accuracy=float(accuracy),
        marginal_accuracy=marginal,
        reader_sd=float(reader_sd),
        case_sd=float(case_sd),
        reader_variance=reader_variance,
        error_variance=error_variance,
        cov2=cov2,
        stderr=stderr,
        ddf=float(ddf),
        half_width=half_width,
        confidence=confidence,
        margin=float(margin),
        equivalence_power=power,
    )


def required_designs(
    *,
    target_half_width: float | None = None,
    target_power: float | None = None,
    readers: tuple[int, ...] = (4, 6, 8, 10, 12, 16, 20, 30),
    max_items_per_side: int = 1000,
    **assumptions,
) -> tuple[DesignOption, ...]:
    """For each reader count, the fewest items per side whose plan reaches the target CI half-width (at most)
    or equivalence power (at least). More items never shrink the reader term sigma_R^2 / r, so a target can be
    out of reach with few readers whatever the items: that option has ``items_per_side=None``."""
    if (target_half_width is None) == (target_power is None):
        raise PlanningError("give exactly one target: a CI half-width or an equivalence power")
    if target_half_width is not None and not 0 < target_half_width < 0.5:
        raise PlanningError(f"the target half-width must be between 0 and 0.5, not {target_half_width:g}")
    if target_power is not None and not 0 < target_power < 1:
        raise PlanningError(f"the target power must be between 0 and 1, not {target_power:g}")

    def reached(plan: StudyPlan) -> bool:
        if target_half_width is not None:
            return plan.half_width <= target_half_width
        return plan.equivalence_power >= target_power

    options = []
    for r in readers:
        best = plan_design(r, max_items_per_side, **assumptions)
        if not reached(best):
            options.append(
                DesignOption(readers=r, items_per_side=None, half_width=None, equivalence_power=None)
            )
            continue
        low, high = 1, max_items_per_side  # reached(high) holds; find the smallest n with reached(n)
        while low < high:
            middle = (low + high) // 2
            if reached(plan_design(r, middle, **assumptions)):
                high = middle
            else:
                low = middle + 1
        plan = plan_design(r, low, **assumptions)
        options.append(
            DesignOption(
                readers=r,
                items_per_side=low,
                half_width=plan.half_width,
                equivalence_power=plan.equivalence_power,
            )
        )
    return tuple(options)
