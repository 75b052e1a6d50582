"""Multi-reader multi-case (MRMC) analysis: Obuchowski-Rockette (OR) with Hillis' denominator degrees of freedom.

A "modality" is what is compared (in Blindread: a model, i.e. a survey). Every reader reads cases in every
modality; the figure of merit (FOM) of reader j in modality i is theta_ij. The OR model is
theta_ij = mu + tau_i + R_j + (tau R)_ij + e_ij, with random reader effects and correlated errors whose covariance
is estimated by the jackknife over cases: Var (same reader, same modality), Cov1 (same reader, different
modality), Cov2 (different reader, same modality), Cov3 (different reader, different modality). The three
generalisations are random readers and random cases (RRRC, Hillis 2007 ddf), fixed readers and random cases
(FRRC, chi-squared) and random readers and fixed cases (RRFC, the ANOVA of the FOMs).

Cases need not be shared by the modalities. The jackknife runs within each modality over its own cases; the
covariance between two modalities sums over the cases they share only. Cases read in one modality alone (in
Blindread every synthetic slice belongs to one model) are independent samples and contribute nothing to Cov1 and
Cov3: the cases-nested-within-modality (split-plot) structure. With no shared case Cov1 = Cov3 = 0 and the
formulas reduce to the unpaired-case OR model. See docs/statistics.md for the references.

Everything returns frozen dataclasses; what cannot be estimated comes back with ``estimable=False`` and a
one-line ``reason`` ("not estimable because ..."), never NaN or an exception (bad input raises ValueError).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats

from readerstats.core import CONFIDENCE, INDETERMINABLE, SYNTHETIC, _ordered_unique, _Result

FOMS = ("accuracy", "sensitivity", "specificity", "auc")
"""Figures of merit: proportion correct; sensitivity and specificity for the positive truth; empirical AUC."""
FOM_LABELS = {
    "accuracy": "proportion correct",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "auc": "empirical ROC AUC (Mann-Whitney, ties 1/2)",
}
METHOD = "Obuchowski-Rockette, jackknife covariances, Hillis (2007) ddf"


class NotEstimable(Exception):
    """An analysis that the data cannot support; the message is one line starting 'not estimable because'."""


# --------------------------------------------------------------------------------------------------
# Results


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
    """FRRC only: (reader, difference) for each reader and modality pair, normal-theory."""


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


# --------------------------------------------------------------------------------------------------
# Figures of merit with their jackknife


@dataclass(frozen=True)
class _Modality:
    cases: tuple
    theta: np.ndarray  # (readers,)
    jack: np.ndarray  # (readers, cases): FOM with case k left out


def _proportion_jackknife(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = np.where(mask, values, 0.0).sum(axis=1)
    count = mask.sum(axis=1).astype(float)
    if np.any(count == 0):
        raise NotEstimable("not estimable because a reader has no scored case in a modality")
    theta = total / count
    left_total = total[:, None] - np.where(mask, values, 0.0)
    left_count = count[:, None] - mask
    if np.any(left_count == 0):
        raise NotEstimable(
            "not estimable because a reader has only one scored case in a modality (no jackknife)"
        )
    return theta, left_total / left_count


def _auc_jackknife(
    ratings: np.ndarray, mask: np.ndarray, positive: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    pos, neg = ratings[:, positive], ratings[:, ~positive]
    pos_mask, neg_mask = mask[:, positive], mask[:, ~positive]
    if pos.shape[1] == 0 or neg.shape[1] == 0:
        raise NotEstimable(
            "not estimable because the AUC needs both positive and negative cases in every modality"
        )
    diff = pos[:, :, None] - neg[:, None, :]
    both = pos_mask[:, :, None] & neg_mask[:, None, :]
    psi = np.where(both, np.where(diff > 0, 1.0, np.where(diff == 0, 0.5, 0.0)), 0.0)
    total = psi.sum(axis=(1, 2))
    count = both.sum(axis=(1, 2)).astype(float)
    if np.any(count == 0):
        raise NotEstimable("not estimable because a reader rated no positive-negative pair in a modality")
    theta = total / count
    jack = np.empty(ratings.shape, dtype=float)
    left_count_pos = count[:, None] - both.sum(axis=2)
    left_count_neg = count[:, None] - both.sum(axis=1)
    if np.any(left_count_pos == 0) or np.any(left_count_neg == 0):
        raise NotEstimable(
            "not estimable because leaving one case out leaves a reader no positive-negative pair"
        )
    jack[:, positive] = (total[:, None] - psi.sum(axis=2)) / left_count_pos
    jack[:, ~positive] = (total[:, None] - psi.sum(axis=1)) / left_count_neg
    return theta, jack


def _modality_data(reader, case, truth_positive, score, mask, readers, fom) -> _Modality:
    cases = _ordered_unique(case)
    case_index = {value: k for k, value in enumerate(cases)}
    reader_index = {value: j for j, value in enumerate(readers)}
    values = np.zeros((len(readers), len(cases)))
    present = np.zeros((len(readers), len(cases)), dtype=bool)
    positive = np.zeros(len(cases), dtype=bool)
    seen = np.zeros(len(cases), dtype=bool)
    for r, c, p, s, m in zip(reader, case, truth_positive, score, mask, strict=True):
        j, k = reader_index[r], case_index[c]
        if seen[k] and positive[k] != p:
            raise ValueError(f"case {c!r} has two different truths")
        positive[k], seen[k] = p, True
        if m:
            if present[j, k]:
                raise ValueError(f"reader {r!r} has two answers to case {c!r}")
            values[j, k], present[j, k] = s, True
    if fom == "auc":
        theta, jack = _auc_jackknife(values, present, positive)
    else:
        keep = {
            "accuracy": np.ones(len(cases), dtype=bool),
            "sensitivity": positive,
            "specificity": ~positive,
        }[fom]
        if not keep.any():
            kind = "positive" if fom == "sensitivity" else "negative"
            raise NotEstimable(f"not estimable because a modality has no {kind} case for the {fom}")
        cases = tuple(value for value, kept in zip(cases, keep, strict=True) if kept)
        theta, jack = _proportion_jackknife(values[:, keep], present[:, keep])
    return _Modality(cases=cases, theta=theta, jack=jack)


def _jackknife_covariance(data: Sequence[_Modality]) -> np.ndarray:
    """Covariance of all (modality, reader) FOMs: (n-1)/n sums of products over the cases two modalities share."""
    blocks = []
    for item in data:
        n = len(item.cases)
        deviation = item.jack - item.jack.mean(axis=1, keepdims=True)
        blocks.append((dict(zip(item.cases, range(n), strict=True)), deviation * math.sqrt((n - 1) / n)))
    r = data[0].theta.shape[0]
    cov = np.zeros((len(data) * r, len(data) * r))
    for a, (index_a, dev_a) in enumerate(blocks):
        for b, (index_b, dev_b) in enumerate(blocks):
            shared = [case for case in index_a if case in index_b]
            if not shared:
                continue
            left = dev_a[:, [index_a[case] for case in shared]]
            right = dev_b[:, [index_b[case] for case in shared]]
            cov[a * r : (a + 1) * r, b * r : (b + 1) * r] = left @ right.T
    return cov


def _covariance_averages(cov: np.ndarray, t: int, r: int) -> tuple[float, float, float, float]:
    modality = np.repeat(np.arange(t), r)
    reader = np.tile(np.arange(r), t)
    same_m = modality[:, None] == modality[None, :]
    same_r = reader[:, None] == reader[None, :]

    def mean(mask):
        return float(cov[mask].mean()) if mask.any() else 0.0

    return (
        mean(same_m & same_r),
        mean(~same_m & same_r),
        mean(same_m & ~same_r),
        mean(~same_m & ~same_r),
    )


# --------------------------------------------------------------------------------------------------
# Input


def _objects(values) -> np.ndarray:
    """A 1-d object array (tuples stay single ids)."""
    result = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):
        result[k] = value.item() if isinstance(value, np.generic) else value
    return result


def _scores(
    truth, score, fom: str, positive, indeterminable: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    is_positive = np.array([value == positive for value in truth], dtype=bool)
    if fom == "auc":
        values = np.array([np.nan if value is None else value for value in score], dtype=float)
        mask = np.isfinite(values)
        return is_positive, np.where(mask, values, 0.0), mask
    answers = np.array([None if value is None else str(value) for value in score], dtype=object)
    answered = np.array([value is not None and value != "" for value in answers], dtype=bool)
    definite = answered & (answers != INDETERMINABLE)
    correct = np.array([str(a) == str(t) for a, t in zip(answers, truth, strict=True)], dtype=float)
    if indeterminable == "wrong":
        return is_positive, correct, answered
    if indeterminable != "exclude":
        raise ValueError("indeterminable must be 'exclude' or 'wrong'")
    return is_positive, correct, definite


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


# --------------------------------------------------------------------------------------------------
# The analysis


def readings(reader, modality, case, truth, score, *, fom: str, confidence: float):
    """The five columns of one row per reading as object arrays, and the readers and modalities in order of
    appearance; ValueError for an unknown FOM, a confidence outside (0, 1) or columns of different lengths. The
    arguments of the OR and DBM analyses are checked here, once."""
    if fom not in FOMS:
        raise ValueError(f"fom must be one of {FOMS}, got {fom!r}")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    columns = [list(reader), list(modality), list(case), list(truth), list(score)]
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"columns differ in length: {[len(column) for column in columns]}")
    reader, modality, case, truth, score = (_objects(column) for column in columns)
    return reader, modality, case, truth, score, _ordered_unique(reader), _ordered_unique(modality)


def too_few_readings(reader, readers) -> str | None:
    """Why there are too few readings for a random-reader analysis, or None."""
    if len(reader) == 0:
        return "not estimable because there are no readings"
    if len(readers) < 2:
        return "not estimable because there is one reader: reader variability needs at least two"
    return None


def or_analysis(
    reader,
    modality,
    case,
    truth,
    score,
    *,
    fom: str = "accuracy",
    positive: Any = SYNTHETIC,
    indeterminable: str = "exclude",
    null: float = 0.5,
    confidence: float = CONFIDENCE,
) -> OrAnalysis:
    """OR MRMC analysis of one row per (reader, modality, case) reading.

    ``score`` is the answer (``real``/``synthetic``/``indeterminable``, None = not answered) for the proportion
    FOMs and a rating (higher = more confident of ``positive``; None or NaN = not rated) for ``fom="auc"``.
    ``truth`` equal to ``positive`` marks a positive case. Indeterminable answers are left out of the proportions
    (``indeterminable="exclude"``) or counted as wrong (``"wrong"``). ``null`` is the chance level each modality's
    FOM is tested against. A single modality gives the per-modality estimates and no comparison.
    """
    reader, modality, case, truth, score, readers, modalities = readings(
        reader, modality, case, truth, score, fom=fom, confidence=confidence
    )
    empty = dict(
        fom=fom,
        fom_label=FOM_LABELS[fom],
        method=METHOD,
        modalities=modalities,
        readers=readers,
        confidence=confidence,
    )

    def not_estimable(reason, notes=(), **extra):
        fields = dict(
            case_counts=(),
            shared_case_count=0,
            reader_fom=(),
            modality_means=(),
            variance=None,
            rrrc=None,
            frrc=None,
            rrfc=None,
        )
        fields.update(extra)
        return OrAnalysis(estimable=False, reason=reason, notes=tuple(notes), **empty, **fields)

    too_few = too_few_readings(reader, readers)
    if too_few:
        return not_estimable(too_few)
    is_positive, values, mask = _scores(truth, score, fom, positive, indeterminable)
    notes = []
    labels = _ordered_unique(case)
    lookup = {label: k for k, label in enumerate(labels)}
    codes = np.array([lookup[value] for value in case], dtype=int)
    answered = np.bincount(codes, mask.astype(float), len(labels)) > 0
    unanswered = [label for label, seen in zip(labels, answered, strict=True) if not seen]
    if unanswered:
        notes.append(
            f"{len(unanswered)} case(s) nobody answered were left out: {', '.join(map(str, unanswered))}"
        )
        keep = answered[codes]
        reader, modality, case, is_positive, values, mask = (
            array[keep] for array in (reader, modality, case, is_positive, values, mask)
        )
    # readings and scored readings per (modality, reader), counted by integer codes
    reader_code = {value: j for j, value in enumerate(readers)}
    modality_code = {value: i for i, value in enumerate(modalities)}
    pair = np.array(
        [modality_code[m] * len(readers) + reader_code[r] for m, r in zip(modality, reader, strict=True)],
        dtype=int,
    )
    read = np.bincount(pair, minlength=len(modalities) * len(readers))
    scored = np.bincount(pair, mask.astype(float), len(modalities) * len(readers))
    for i, m in enumerate(modalities):
        for j, r in enumerate(readers):
            if read[i * len(readers) + j] == 0:
                return not_estimable(
                    f"not estimable because reader {r} read nothing in modality {m} (OR needs every reader in "
                    "every modality; analyse each modality alone)",
                    notes,
                )
            if scored[i * len(readers) + j] == 0:
                what = "only 'indeterminable'" if fom != "auc" else "no rating"
                return not_estimable(
                    f"not estimable because reader {r} answered {what} in modality {m} "
                    "(count indeterminable as wrong, or leave the reader out)",
                    notes,
                )
    try:
        data = [
            _modality_data(
                reader[rows], case[rows], is_positive[rows], values[rows], mask[rows], readers, fom
            )
            for rows in (modality == m for m in modalities)
        ]
    except NotEstimable as error:
        return not_estimable(str(error), notes)
    t, r = len(modalities), len(readers)
    theta = np.array([item.theta for item in data])  # (t, r)
    case_sets = [set(item.cases) for item in data]
    shared = set.intersection(*case_sets) if t > 1 else set()
    cov = _jackknife_covariance(data)
    var, cov1, cov2, cov3 = _covariance_averages(cov, t, r)
    means = theta.mean(axis=1)
    grand = theta.mean()
    ms_r = t * float(((theta.mean(axis=0) - grand) ** 2).sum()) / (r - 1)
    if t > 1:
        ms_t = r * float(((means - grand) ** 2).sum()) / (t - 1)
        interaction = theta - means[:, None] - theta.mean(axis=0)[None, :] + grand
        ms_tr = float((interaction**2).sum()) / ((t - 1) * (r - 1))
        var_tr = ms_tr - var + cov1 + cov2 - cov3
        var_r = (ms_r - var_tr - var + cov2 - (t - 1) * (cov1 - cov3)) / t
    else:
        ms_t = ms_tr = var_tr = None
        var_r = ms_r - var + cov2
    variance = OrVarianceComponents(
        var_error=var,
        cov1=cov1,
        cov2=cov2,
        cov3=cov3,
        var_r=float(var_r),
        var_tr=None if var_tr is None else float(var_tr),
        ms_t=ms_t,
        ms_r=ms_r,
        ms_tr=ms_tr,
    )
    # per-modality pieces (single-modality formulas)
    ms_r_i, var_i, cov2_i = [], [], []
    for i in range(t):
        block = cov[i * r : (i + 1) * r, i * r : (i + 1) * r]
        off = ~np.eye(r, dtype=bool)
        ms_r_i.append(float(((theta[i] - means[i]) ** 2).sum()) / (r - 1))
        var_i.append(float(np.diag(block).mean()))
        cov2_i.append(float(block[off].mean()))
    no_variation = bool(np.allclose(cov, 0.0) and np.allclose(theta, theta.flat[0]))
    reason = _no_variability_reason(fom) if no_variation else None
    kwargs = dict(
        t=t, r=r, modalities=modalities, means=means, variance=variance, null=null, confidence=confidence
    )
    rrrc = _rrrc(ms_r_i, cov2_i, reason, **kwargs)
    frrc = _frrc(var_i, cov2_i, theta, cov, readers, reason, **kwargs)
    rrfc = _rrfc(ms_r_i, reason, **kwargs)
    return OrAnalysis(
        estimable=reason is None,
        reason=reason,
        case_counts=tuple(len(item.cases) for item in data),
        shared_case_count=len(shared),
        reader_fom=tuple(tuple(float(value) for value in row) for row in theta),
        modality_means=tuple(float(value) for value in means),
        variance=variance,
        rrrc=rrrc,
        frrc=frrc,
        rrfc=rrfc,
        notes=tuple(notes),
        **empty,
    )


def _test(
    kind,
    reason,
    statistic=None,
    ndf=None,
    ddf=None,
    p=None,
    error=None,
    differences=(),
    singles=(),
    readers=(),
):
    return OrTest(
        kind=kind,
        estimable=reason is None,
        reason=reason,
        statistic=None if statistic is None else float(statistic),
        ndf=ndf,
        ddf=None if ddf is None else float(ddf),
        p_value=None if p is None else float(p),
        error_term=None if error is None else float(error),
        differences=tuple(differences),
        single_modality=tuple(singles),
        reader_differences=tuple(readers),
    )


def _pairs(modalities, means, stderr, df, confidence):
    return [
        _difference(modalities[a], modalities[b], means[a] - means[b], stderr, df, confidence)
        for a, b in combinations(range(len(modalities)), 2)
    ]


def _rrrc(ms_r_i, cov2_i, reason, *, t, r, modalities, means, variance, null, confidence) -> OrTest:
    singles = []
    for i in range(t):
        error = ms_r_i[i] + r * max(cov2_i[i], 0.0)
        # with no reader variability Hillis' df is infinite: the normal quantile (df None) is its limit
        df = error**2 / (ms_r_i[i] ** 2 / (r - 1)) if ms_r_i[i] > 0 else None
        singles.append(
            _estimate(modalities[i], means[i], math.sqrt(max(error, 0.0) / r), df, null, confidence)
        )
    if reason is not None or t < 2:
        return _test("RRRC", reason, singles=singles)
    error = variance.ms_tr + r * max(variance.cov2 - variance.cov3, 0.0)
    if not error > 0:
        return _test(
            "RRRC", "not estimable because the error term MS(T*R) + r*max(Cov2-Cov3, 0) is 0", singles=singles
        )
    statistic = variance.ms_t / error
    ddf = error**2 / (variance.ms_tr**2 / ((t - 1) * (r - 1))) if variance.ms_tr > 0 else None
    p = stats.f.sf(statistic, t - 1, ddf) if ddf is not None else stats.chi2.sf(statistic * (t - 1), t - 1)
    differences = _pairs(modalities, means, math.sqrt(2 * error / r), ddf, confidence)
    return _test("RRRC", None, statistic, t - 1, ddf, p, error, differences, singles)


def _frrc(
    var_i, cov2_i, theta, cov, readers, reason, *, t, r, modalities, means, variance, null, confidence
) -> OrTest:
    singles = [
        _estimate(
            modalities[i],
            means[i],
            math.sqrt(max(var_i[i] / r + (r - 1) / r * cov2_i[i], 0.0)),
            None,
            null,
            confidence,
        )
        for i in range(t)
    ]
    if reason is not None or t < 2:
        return _test("FRRC", reason, singles=singles)
    error = variance.var_error - variance.cov1 + (r - 1) * max(variance.cov2 - variance.cov3, 0.0)
    if not error > 0:
        return _test(
            "FRRC",
            "not estimable because the error term Var - Cov1 + (r-1)*max(Cov2-Cov3, 0) is 0",
            singles=singles,
        )
    statistic = (t - 1) * variance.ms_t / error
    differences = _pairs(modalities, means, math.sqrt(2 * error / r), None, confidence)
    by_reader = []
    for a, b in combinations(range(t), 2):
        for j, name in enumerate(readers):
            ja, jb = a * r + j, b * r + j
            stderr = math.sqrt(max(cov[ja, ja] + cov[jb, jb] - 2 * cov[ja, jb], 0.0))
            estimate = theta[a, j] - theta[b, j]
            by_reader.append(
                (name, _difference(modalities[a], modalities[b], estimate, stderr, None, confidence))
            )
    p = stats.chi2.sf(statistic, t - 1)
    return _test("FRRC", None, statistic, t - 1, None, p, error, differences, singles, by_reader)


def _rrfc(ms_r_i, reason, *, t, r, modalities, means, variance, null, confidence) -> OrTest:
    singles = [
        _estimate(modalities[i], means[i], math.sqrt(ms_r_i[i] / r), r - 1, null, confidence)
        for i in range(t)
    ]
    if reason is not None or t < 2:
        return _test("RRFC", reason, singles=singles)
    if not variance.ms_tr > 0:
        return _test("RRFC", "not estimable because MS(T*R) is 0", singles=singles)
    statistic = variance.ms_t / variance.ms_tr
    ddf = (t - 1) * (r - 1)
    differences = _pairs(modalities, means, math.sqrt(2 * variance.ms_tr / r), ddf, confidence)
    return _test(
        "RRFC",
        None,
        statistic,
        t - 1,
        ddf,
        stats.f.sf(statistic, t - 1, ddf),
        variance.ms_tr,
        differences,
        singles,
    )
