"""Dorfman-Berbaum-Metz (DBM) MRMC analysis: a three-way ANOVA of jackknife pseudovalues.

For modality i, reader j and case k the pseudovalue is Y_ijk = c theta_ij - (c - 1) theta_ij(-k), theta_ij(-k)
the figure of merit with case k left out of the c cases. The pseudovalues are normalised (Hillis and Berbaum):
Y*_ijk = Y_ijk + theta_ij - mean_k Y_ijk, so that their mean over cases is the FOM itself. DBM treats the
pseudovalues as observations of the mixed model Y = mu + tau_i + R_j + C_k + (tau R)_ij + (tau C)_ik + (RC)_jk +
e_ijk, with random reader and case effects, and estimates the variance components from the mean squares of the
balanced modality x reader x case ANOVA (one observation per cell, so (tau RC) and error are confounded):

    sigma2_R  = (MS_R - MS_TR - MS_RC + MS_TRC) / (t c)     sigma2_TR = (MS_TR - MS_TRC) / c
    sigma2_C  = (MS_C - MS_TC - MS_RC + MS_TRC) / (t r)     sigma2_TC = (MS_TC - MS_TRC) / r
    sigma2_RC = (MS_RC - MS_TRC) / t                        sigma2_error = MS_TRC

The tests of equal modalities (Hillis 2007 ddf for random readers and cases):

- RRRC: F = MS_T / (MS_TR + max(MS_TC - MS_TRC, 0)), ddf = (MS_TR + max(MS_TC - MS_TRC, 0))^2 /
  (MS_TR^2 / ((t-1)(r-1)));
- FRRC (readers fixed): F = MS_T / MS_TC with ddf (t-1)(c-1);
- RRFC (cases fixed): F = MS_T / MS_TR with ddf (t-1)(r-1).

With jackknife pseudovalues these equal the Obuchowski-Rockette analysis with jackknife covariances (Hillis 2005,
2007): MS_T, MS_R and MS_TR are c times the OR mean squares of the FOMs, sigma2_R and sigma2_TR are the OR
Var(R) and Var(TR), and sigma2_C = c Cov3, sigma2_TC = c (Cov2 - Cov3), sigma2_RC = c (Cov1 - Cov3),
sigma2_error = c (Var - Cov1 - Cov2 + Cov3). The RRRC F, ddf and p are therefore the OR ones. DBM needs the
factorial design: every case read in every modality (the pseudovalue ANOVA has no split-plot form here).

Pure NumPy/SciPy; results are frozen dataclasses, and what cannot be estimated comes back with ``estimable=False``
and a one-line reason ("not estimable because ..."); bad input raises ValueError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats

from readerstats.core import CONFIDENCE, SYNTHETIC, _Result
from readerstats.mrmc import (
    FOM_LABELS,
    ModalityDifference,
    NotEstimable,
    _difference,
    _modality_data,
    _scores,
    readings,
    too_few_readings,
)
from readerstats.mrmc.results import negligible

__all__ = ["DbmAnalysis", "DbmAnova", "DbmTest", "DbmVarianceComponents", "dbm_analysis", "dbm_pseudovalues"]

METHOD = "Dorfman-Berbaum-Metz, normalised jackknife pseudovalues, Hillis (2007) ddf"
SOURCES = ("T", "R", "C", "TR", "TC", "RC", "TRC")


@dataclass(frozen=True)
class DbmAnova(_Result):
    """The modality (T) x reader (R) x case (C) ANOVA of the pseudovalues: df, sums of squares, mean squares."""

    df: dict[str, int]
    ss: dict[str, float]
    ms: dict[str, float]


@dataclass(frozen=True)
class DbmVarianceComponents(_Result):
    """DBM variance components of the pseudovalues (ANOVA estimates; they can be negative)."""

    var_r: float
    var_c: float
    var_tr: float | None
    var_tc: float | None
    var_rc: float
    var_error: float
    """sigma2_TRC + error (MS_TRC); with one modality sigma2_RC + error (MS_RC), and var_rc is then 0."""


@dataclass(frozen=True)
class DbmTest(_Result):
    """One DBM test of equal modalities (RRRC, FRRC or RRFC): F with its df, p, error term and differences."""

    kind: str
    estimable: bool
    reason: str | None
    statistic: float | None
    ndf: int | None
    ddf: float | None
    p_value: float | None
    error_term: float | None
    differences: tuple[ModalityDifference, ...]


@dataclass(frozen=True)
class DbmAnalysis(_Result):
    """A DBM analysis: FOMs, the pseudovalue ANOVA, the variance components and the three tests."""

    fom: str
    fom_label: str
    method: str
    estimable: bool
    reason: str | None
    modalities: tuple
    readers: tuple
    case_count: int
    reader_fom: tuple[tuple[float, ...], ...]
    """reader_fom[i][j]: modality i, reader j."""
    modality_means: tuple[float, ...]
    anova: DbmAnova | None
    variance: DbmVarianceComponents | None
    rrrc: DbmTest | None
    frrc: DbmTest | None
    rrfc: DbmTest | None
    confidence: float


def dbm_pseudovalues(theta: np.ndarray, jack: np.ndarray) -> np.ndarray:
    """Normalised jackknife pseudovalues: ``theta`` (..., ) the FOMs on all c cases, ``jack`` (..., c) the FOMs
    with one case left out. Returns (..., c) whose mean over cases equals ``theta``."""
    c = jack.shape[-1]
    raw = c * theta[..., None] - (c - 1) * jack
    return raw + (theta - raw.mean(axis=-1))[..., None]


def _anova(y: np.ndarray) -> DbmAnova:
    """Balanced three-way ANOVA without replication of y (t, r, c)."""
    t, r, c = y.shape
    grand = y.mean()
    m_t, m_r, m_c = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=(0, 1))
    m_tr, m_tc, m_rc = y.mean(axis=2), y.mean(axis=1), y.mean(axis=0)
    effects = {
        "T": (m_t - grand, r * c),
        "R": (m_r - grand, t * c),
        "C": (m_c - grand, t * r),
        "TR": (m_tr - m_t[:, None] - m_r[None, :] + grand, c),
        "TC": (m_tc - m_t[:, None] - m_c[None, :] + grand, r),
        "RC": (m_rc - m_r[:, None] - m_c[None, :] + grand, t),
        "TRC": (
            y
            - m_tr[:, :, None]
            - m_tc[:, None, :]
            - m_rc[None, :, :]
            + m_t[:, None, None]
            + m_r[None, :, None]
            + m_c[None, None, :]
            - grand,
            1,
        ),
    }
    df = {
        "T": t - 1,
        "R": r - 1,
        "C": c - 1,
        "TR": (t - 1) * (r - 1),
        "TC": (t - 1) * (c - 1),
        "RC": (r - 1) * (c - 1),
        "TRC": (t - 1) * (r - 1) * (c - 1),
    }
    ss = {name: float(weight * (deviation**2).sum()) for name, (deviation, weight) in effects.items()}
    ms = {name: (ss[name] / df[name] if df[name] > 0 else math.nan) for name in SOURCES}
    return DbmAnova(df=df, ss=ss, ms=ms)


def _components(anova: DbmAnova, t: int, r: int, c: int) -> DbmVarianceComponents:
    ms = anova.ms
    if t == 1:
        # one modality: the R x C ANOVA; RC and error are confounded
        return DbmVarianceComponents(
            var_r=(ms["R"] - ms["RC"]) / c,
            var_c=(ms["C"] - ms["RC"]) / r,
            var_tr=None,
            var_tc=None,
            var_rc=0.0,
            var_error=ms["RC"],
        )
    return DbmVarianceComponents(
        var_r=(ms["R"] - ms["TR"] - ms["RC"] + ms["TRC"]) / (t * c),
        var_c=(ms["C"] - ms["TC"] - ms["RC"] + ms["TRC"]) / (t * r),
        var_tr=(ms["TR"] - ms["TRC"]) / c,
        var_tc=(ms["TC"] - ms["TRC"]) / r,
        var_rc=(ms["RC"] - ms["TRC"]) / t,
        var_error=ms["TRC"],
    )


def _test(kind, reason=None, statistic=None, ndf=None, ddf=None, error=None, differences=()) -> DbmTest:
    p = None
    if statistic is not None:
        p = (
            float(stats.f.sf(statistic, ndf, ddf))
            if ddf is not None
            else float(stats.chi2.sf(statistic * ndf, ndf))
        )
    return DbmTest(
        kind=kind,
        estimable=reason is None,
        reason=reason,
        statistic=None if statistic is None else float(statistic),
        ndf=ndf,
        ddf=None if ddf is None else float(ddf),
        p_value=p,
        error_term=None if error is None else float(error),
        differences=tuple(differences),
    )


def _tests(anova, means, modalities, t, r, c, confidence) -> tuple[DbmTest, DbmTest, DbmTest]:
    ms = dict(anova.ms)
    ndf = t - 1
    scales = [value for value in ms.values() if math.isfinite(value)]
    # a mean square that is rounding noise next to the largest one is 0 (two identical readers: MS(T*R) ~ 1e-27)
    for name in SOURCES:
        if math.isfinite(ms[name]) and negligible(ms[name], *scales):
            ms[name] = 0.0

    def differences(error, ddf):
        # the difference of two modality means has variance 2 x error / (r c) on the pseudovalue scale
        stderr = math.sqrt(2 * error / (r * c))
        return [
            _difference(modalities[a], modalities[b], means[a] - means[b], stderr, ddf, confidence)
            for a, b in combinations(range(t), 2)
        ]

    error = ms["TR"] + max(ms["TC"] - ms["TRC"], 0.0)
    if negligible(error, *scales):
        rrrc = _test(
            "RRRC", "not estimable because the error term MS(T*R) + max(MS(T*C) - MS(T*R*C), 0) is 0"
        )
    else:
        # with MS(T*R) = 0 Hillis' ddf is infinite: the chi-squared limit (ddf None)
        ddf = error**2 / (ms["TR"] ** 2 / ((t - 1) * (r - 1))) if ms["TR"] > 0 else None
        rrrc = _test("RRRC", None, ms["T"] / error, ndf, ddf, error, differences(error, ddf))
    if not ms["TC"] > 0:
        frrc = _test("FRRC", "not estimable because MS(T*C) is 0 (up to rounding)")
    else:
        ddf = (t - 1) * (c - 1)
        frrc = _test("FRRC", None, ms["T"] / ms["TC"], ndf, ddf, ms["TC"], differences(ms["TC"], ddf))
    if not ms["TR"] > 0:
        rrfc = _test(
            "RRFC",
            "not estimable because MS(T*R) is 0 (up to rounding): the readers do not differ between modalities",
        )
    else:
        ddf = (t - 1) * (r - 1)
        rrfc = _test("RRFC", None, ms["T"] / ms["TR"], ndf, ddf, ms["TR"], differences(ms["TR"], ddf))
    return rrrc, frrc, rrfc


def dbm_analysis(
    reader,
    modality,
    case,
    truth,
    score,
    *,
    fom: str = "auc",
    positive: Any = SYNTHETIC,
    indeterminable: str = "exclude",
    confidence: float = CONFIDENCE,
) -> DbmAnalysis:
    """DBM analysis of one row per (reader, modality, case) reading; the arguments are those of
    :func:`readerstats.mrmc.or_analysis`. Every case must be read in every modality (factorial design)."""
    reader, modality, case, truth, score, readers, modalities = readings(
        reader, modality, case, truth, score, fom=fom, confidence=confidence
    )
    base = dict(
        fom=fom,
        fom_label=FOM_LABELS[fom],
        method=METHOD,
        modalities=modalities,
        readers=readers,
        confidence=confidence,
    )

    def not_estimable(reason):
        return DbmAnalysis(
            estimable=False,
            reason=reason,
            case_count=0,
            reader_fom=(),
            modality_means=(),
            anova=None,
            variance=None,
            rrrc=None,
            frrc=None,
            rrfc=None,
            **base,
        )

    too_few = too_few_readings(reader, readers)
    if too_few:
        return not_estimable(too_few)
    is_positive, values, mask = _scores(truth, score, fom, positive, indeterminable)
    data = []
    for m in modalities:
        rows = modality == m
        present = set(reader[rows])
        missing = [r for r in readers if r not in present]
        if missing:
            return not_estimable(
                f"not estimable because reader {missing[0]} read nothing in modality {m} "
                "(DBM needs every reader in every modality)"
            )
        try:
            data.append(
                _modality_data(
                    reader[rows], case[rows], is_positive[rows], values[rows], mask[rows], readers, fom
                )
            )
        except NotEstimable as error:
            return not_estimable(str(error))
    for m, item in zip(modalities, data, strict=True):
        rows = (modality == m) & mask
        scored = set(zip(reader[rows], case[rows], strict=True))
        for r in readers:
            missing = [c for c in item.cases if (r, c) not in scored]
            if missing:
                return not_estimable(
                    f"not estimable because reader {r} has no scored reading of {len(missing)} of the "
                    f"{len(item.cases)} cases in modality {m} (first: {missing[0]}); DBM needs every reader to score "
                    "every case in every modality (count indeterminable as wrong, or use the OR analysis)"
                )
    cases = data[0].cases
    if any(set(item.cases) != set(cases) for item in data[1:]):
        return not_estimable(
            "not estimable because the modalities were read on different cases (DBM needs every case read in "
            "every modality; use the OR analysis, which allows cases nested within modality)"
        )
    if len(cases) < 2:
        return not_estimable("not estimable because there is one case: the jackknife needs at least two")
    order = [{value: k for k, value in enumerate(item.cases)} for item in data]
    jack = np.stack(
        [item.jack[:, [index[value] for value in cases]] for item, index in zip(data, order, strict=True)]
    )
    theta = np.stack([item.theta for item in data])  # (t, r)
    y = dbm_pseudovalues(theta, jack)  # (t, r, c)
    t, r, c = y.shape
    anova = _anova(y)
    variance = _components(anova, t, r, c)
    means = theta.mean(axis=1)
    result = dict(
        case_count=c,
        reader_fom=tuple(tuple(float(value) for value in row) for row in theta),
        modality_means=tuple(float(value) for value in means),
        anova=anova,
        variance=variance,
        **base,
    )
    if negligible(float(np.ptp(y)), float(np.max(np.abs(y)))):
        reason = "not estimable because the pseudovalues do not vary (e.g. all ratings tied or every answer correct)"
        return DbmAnalysis(estimable=False, reason=reason, rrrc=None, frrc=None, rrfc=None, **result)
    if t < 2:
        reason = "not estimable because there is one modality: the DBM tests compare two or more"
        return DbmAnalysis(estimable=False, reason=reason, rrrc=None, frrc=None, rrfc=None, **result)
    rrrc, frrc, rrfc = _tests(anova, means, modalities, t, r, c, confidence)
    return DbmAnalysis(estimable=True, reason=None, rrrc=rrrc, frrc=frrc, rrfc=rrfc, **result)
