"""Obuchowski-Rockette analysis of readers crossed with modalities (every reader reads every modality)."""

from __future__ import annotations

import dataclasses
import math
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats

from readerstats.core import CONFIDENCE, SYNTHETIC, _ordered_unique
from readerstats.mrmc.jackknife import (
    FOM_LABELS,
    NotEstimable,
    _covariance_averages,
    _jackknife_covariance,
    _modality_data,
    _scores,
    readings,
    too_few_readings,
)
from readerstats.mrmc.results import (
    OrAnalysis,
    OrTest,
    OrVarianceComponents,
    _difference,
    _estimate,
    _no_variability_reason,
    negligible,
)

METHOD = "Obuchowski-Rockette, jackknife covariances, Hillis (2007) ddf"


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
    scale = (variance.ms_t, variance.ms_r, variance.ms_tr, variance.var_error)
    if negligible(error, *scale):
        return _test(
            "RRRC", "not estimable because the error term MS(T*R) + r*max(Cov2-Cov3, 0) is 0", singles=singles
        )
    statistic = variance.ms_t / error
    ms_tr = 0.0 if negligible(variance.ms_tr, *scale) else variance.ms_tr
    ddf = error**2 / (ms_tr**2 / ((t - 1) * (r - 1))) if ms_tr > 0 else None
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
    if negligible(error, variance.ms_t, variance.ms_r, variance.ms_tr, variance.var_error):
        return _test(
            "FRRC",
            "not estimable because the error term Var - Cov1 + (r-1)*max(Cov2-Cov3, 0) is 0",
            singles=singles,
        )
    statistic = (t - 1) * variance.ms_t / error
    differences = _pairs(modalities, means, math.sqrt(2 * error / r), None, confidence)
    # per reader: one SE for every modality pair, sqrt(2 (Var_j - Cov1_j)), Var_j and Cov1_j reader j's own
    # averages over modalities and modality pairs (OR-DBM MRMC, RJafroc, MRMCaov); and, named apart, each pair's
    # own variance Var_aj + Var_bj - 2 Cov_abj. The two agree for two modalities.
    blocks = [cov[np.ix_([i * r + j for i in range(t)], [i * r + j for i in range(t)])] for j in range(r)]
    pooled = [
        math.sqrt(max(2 * (np.diag(block).mean() - block[~np.eye(t, dtype=bool)].mean()), 0.0))
        for block in blocks
    ]
    by_reader, by_reader_pairwise = [], []
    for a, b in combinations(range(t), 2):
        for j, name in enumerate(readers):
            block = blocks[j]
            estimate = theta[a, j] - theta[b, j]
            pair = math.sqrt(max(block[a, a] + block[b, b] - 2 * block[a, b], 0.0))
            by_reader.append(
                (name, _difference(modalities[a], modalities[b], estimate, pooled[j], None, confidence))
            )
            by_reader_pairwise.append(
                (name, _difference(modalities[a], modalities[b], estimate, pair, None, confidence))
            )
    p = stats.chi2.sf(statistic, t - 1)
    result = _test("FRRC", None, statistic, t - 1, None, p, error, differences, singles, by_reader)
    return dataclasses.replace(result, reader_differences_pairwise=tuple(by_reader_pairwise))


def _rrfc(ms_r_i, reason, *, t, r, modalities, means, variance, null, confidence) -> OrTest:
    singles = [
        _estimate(modalities[i], means[i], math.sqrt(ms_r_i[i] / r), r - 1, null, confidence)
        for i in range(t)
    ]
    if reason is not None or t < 2:
        return _test("RRFC", reason, singles=singles)
    if negligible(variance.ms_tr, variance.ms_t, variance.ms_r, variance.ms_tr):
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
