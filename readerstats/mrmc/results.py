"""The named results of the OR analyses and the intervals and tests they hold."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

from readerstats.core import _Result

ZERO_TOLERANCE = 1e-10
"""A mean square or error term at most this fraction of the analysis' largest mean square is 0: what is left of an
exact zero after rounding (two identical readers give MS(T*R) ~ 1e-27, not 0)."""


def negligible(value: float, *scales: float) -> bool:
    """Whether ``value`` is 0 up to rounding, relative to the largest of ``scales`` (not > tolerance x scale)."""
    scale = max((abs(float(s)) for s in scales if s is not None and math.isfinite(s)), default=0.0)
    return not value > ZERO_TOLERANCE * scale


@dataclass(frozen=True)
class OrVarianceComponents(_Result):
    """OR error covariances (jackknife averages) and ANOVA mean squares; Var(R), Var(TR) can be negative."""

    var_error: float
    cov1: float
    cov2: float
    cov3: float
    var_r: float
    var_tr: float | None
    ms_t: float | None
    ms_r: float
    ms_tr: float | None


@dataclass(frozen=True)
class ModalityEstimate(_Result):
    """One modality's mean FOM over readers with its CI, and a test against ``null`` (t, or z for FRRC)."""

    modality: Any
    estimate: float
    stderr: float | None
    df: float | None
    ci_low: float | None
    ci_high: float | None
    null: float
    statistic: float | None
    p_value: float | None
    reason: str | None = None


@dataclass(frozen=True)
class ModalityDifference(_Result):
    """Mean FOM of ``modality_a`` minus ``modality_b`` with CI and two-sided p (df None: normal)."""

    modality_a: Any
    modality_b: Any
    estimate: float
    stderr: float | None
    df: float | None
    statistic: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class OrTest(_Result):
    """One generalisation (RRRC, FRRC or RRFC): the global test of equal modalities, differences, modalities.

    ``statistic`` is F (RRRC, RRFC; ``ddf`` its denominator df) or chi-squared (FRRC; ``ddf`` None).
    """

    kind: str
    estimable: bool
    reason: str | None
    statistic: float | None
    ndf: int | None
    ddf: float | None
    p_value: float | None
    error_term: float | None
    differences: tuple[ModalityDifference, ...]
    single_modality: tuple[ModalityEstimate, ...]
    reader_differences: tuple[tuple[Any, ModalityDifference], ...] = ()
    """FRRC only: (reader, difference) for each reader and modality pair, normal-theory, with one standard error
    per reader, sqrt(2 (Var_j - Cov1_j)) (the convention of OR-DBM MRMC, RJafroc and MRMCaov)."""
    reader_differences_pairwise: tuple[tuple[Any, ModalityDifference], ...] = ()
    """FRRC only: the same differences, each with its own pair's variance sqrt(Var_aj + Var_bj - 2 Cov_abj)."""


@dataclass(frozen=True)
class OrAnalysis(_Result):
    """An OR MRMC analysis: FOMs per reader x modality, variance components, RRRC, FRRC and RRFC."""

    fom: str
    fom_label: str
    method: str
    estimable: bool
    reason: str | None
    modalities: tuple
    readers: tuple
    case_counts: tuple[int, ...]
    shared_case_count: int
    reader_fom: tuple[tuple[float, ...], ...]
    """reader_fom[i][j]: modality i, reader j."""
    modality_means: tuple[float, ...]
    variance: OrVarianceComponents | None
    rrrc: OrTest | None
    frrc: OrTest | None
    rrfc: OrTest | None
    confidence: float
    notes: tuple[str, ...] = ()

    def to_frame(self):
        """The pairwise differences of each estimable generalisation (RRRC, FRRC, RRFC), one row each (pandas)."""
        import pandas as pd

        rows = [
            {"analysis": test.kind, **difference.to_dict()}
            for test in (self.rrrc, self.frrc, self.rrfc)
            if test is not None and test.estimable
            for difference in test.differences
        ]
        return pd.DataFrame(rows)


def _t_ci(estimate, stderr, df, confidence):
    q = stats.norm.ppf(0.5 + confidence / 2) if df is None else stats.t.ppf(0.5 + confidence / 2, df)
    return float(estimate - q * stderr), float(estimate + q * stderr)


def _two_sided_p(statistic, df):
    if df is None:
        return float(2 * stats.norm.sf(abs(statistic)))
    return float(2 * stats.t.sf(abs(statistic), df))


def _estimate(modality, estimate, stderr, df, null, confidence) -> ModalityEstimate:
    if not stderr > 0:
        return ModalityEstimate(
            modality,
            float(estimate),
            None,
            None,
            None,
            None,
            null,
            None,
            None,
            "not estimable because the standard error is 0 (no variability over readers and cases)",
        )
    low, high = _t_ci(estimate, stderr, df, confidence)
    statistic = (estimate - null) / stderr
    return ModalityEstimate(
        modality,
        float(estimate),
        float(stderr),
        None if df is None else float(df),
        low,
        high,
        null,
        float(statistic),
        _two_sided_p(statistic, df),
    )


def _difference(a, b, estimate, stderr, df, confidence) -> ModalityDifference:
    if not stderr > 0:
        return ModalityDifference(a, b, float(estimate), None, None, None, None, None, None)
    low, high = _t_ci(estimate, stderr, df, confidence)
    statistic = estimate / stderr
    return ModalityDifference(
        a,
        b,
        float(estimate),
        float(stderr),
        None if df is None else float(df),
        float(statistic),
        _two_sided_p(statistic, df),
        low,
        high,
    )


def _no_variability_reason(fom: str) -> str:
    if fom == "auc":
        return "not estimable because the FOM does not vary over readers or cases (e.g. all ratings tied)"
    return "not estimable because the FOM does not vary over readers or cases (e.g. every answer correct)"
