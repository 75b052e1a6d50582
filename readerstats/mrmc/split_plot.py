"""Obuchowski-Rockette analysis when readers are nested within modality (each modality its own reader panel).

The design of a visual Turing test with one survey per model, each answered by its own group of readers. The OR
model becomes theta_ij = mu + tau_i + R_j(i) + e_ij, j = 1..n_i readers of modality i (N in all): the reader
effect and the reader x modality interaction cannot be told apart. The errors' covariances, estimated by the
jackknife over cases within each modality, are Var (same reader), Cov2 (different readers, same modality) and
Cov3 (different readers, different modalities: through the cases they share; 0 when no case is shared); Cov1
(same reader, different modality) does not exist. With

    MS(T)    = sum_i n_i (mean_i - mean)^2 / (t - 1),     mean = sum_i n_i mean_i / N,
    MS[R(T)] = sum_i sum_j (theta_ij - mean_i)^2 / (N - t),
    n0       = (N^2 - sum_i n_i^2) / (N (t - 1))          (= n for equal panels),

the random-readers random-cases test of equal modalities is F = MS(T) / [MS[R(T)] + n0 max(Cov2 - Cov3, 0)] on
t - 1 and Hillis' ddf = [MS[R(T)] + n0 max(Cov2 - Cov3, 0)]^2 / (MS[R(T)]^2 / (N - t)). This is the split-plot
(readers nested within test) form of Obuchowski & Rockette (1995) with Hillis' (2007) ddf, as implemented for the
"readers nested within test" design of the R package MRMCaov (Smith, Hillis & Pesce, ``.summary_nested``; Hillis
2014 for the marginal-mean ANOVA behind it). Two differences from MRMCaov's code as published (0.3.0), both
following the expected mean squares (E MS[R(T)] = sigma2_R + Var - Cov2, Var(mean_a - mean_b) =
(1/n_a + 1/n_b)(sigma2_R + Var - Cov2) + 2 (Cov2 - Cov3)):

- its n0 reads (N - sum n_i^2) / (N (t - 1)), which is negative; the unbalanced one-way ANOVA coefficient
  (N^2 - sum n_i^2) / (N (t - 1)) used here equals n for equal panels, where the two analyses then agree;
- a pairwise difference has SE^2 = (1/n_a + 1/n_b) MS[R(T)] + 2 max(Cov2 - Cov3, 0) with its own Satterthwaite
  df = SE^4 / [((1/n_a + 1/n_b) MS[R(T)])^2 / (N - t)]; with equal panels this is MRMCaov's
  (1/n_a + 1/n_b) x denominator on the global ddf.

Each modality alone gets the single-modality RRRC interval (as :func:`readerstats.mrmc.or_analysis`). Only the
random-readers random-cases analysis is offered: with readers nested in modality, fixing the readers leaves no
reader replicated across modalities to compare within. Checked by simulation (type I error, interval coverage and
the SE against the spread of the estimates over simulated studies: readerstats/tests/test_split_plot.py,
benchmarks/coverage.py) and a hand-worked example; no published output of this design was available to compare with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats

from readerstats.core import CONFIDENCE, SYNTHETIC, _ordered_unique, _Result
from readerstats.mrmc.jackknife import (
    FOM_LABELS,
    NotEstimable,
    _modality_data,
    _scores,
    readings,
    too_few_readings,
)
from readerstats.mrmc.results import ModalityDifference, ModalityEstimate, _difference, _estimate

METHOD = "Obuchowski-Rockette, readers nested within modality (split-plot), jackknife covariances, Hillis (2007) ddf"


@dataclass(frozen=True)
class OrSplitPlot(_Result):
    """OR analysis with each modality read by its own readers: random readers and random cases."""

    fom: str
    fom_label: str
    method: str
    estimable: bool
    reason: str | None
    modalities: tuple
    panels: tuple[tuple, ...]
    """panels[i]: the readers of modality i."""
    case_counts: tuple[int, ...]
    shared_case_count: int
    reader_fom: tuple[tuple[float, ...], ...]
    """reader_fom[i][j]: modality i, its j-th reader (``panels`` order)."""
    modality_means: tuple[float, ...]
    var_error: float | None
    cov2: float | None
    cov3: float | None
    ms_t: float | None
    ms_r_within: float | None
    """MS[R(T)], readers within modality."""
    n0: float | None
    statistic: float | None
    ndf: int | None
    ddf: float | None
    p_value: float | None
    error_term: float | None
    differences: tuple[ModalityDifference, ...]
    single_modality: tuple[ModalityEstimate, ...]
    confidence: float


def or_split_plot(
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
) -> OrSplitPlot:
    """OR analysis of one row per (reader, modality, case) reading when every reader reads exactly one modality.

    The arguments are those of :func:`readerstats.mrmc.or_analysis`. Cases may be shared by modalities (real
    slices shown in several surveys: they give Cov3) or not.
    """
    reader, modality, case, truth, score, readers, modalities = readings(
        reader, modality, case, truth, score, fom=fom, confidence=confidence
    )
    base = dict(
        fom=fom, fom_label=FOM_LABELS[fom], method=METHOD, modalities=modalities, confidence=confidence
    )
    empty = dict(
        panels=(),
        case_counts=(),
        shared_case_count=0,
        reader_fom=(),
        modality_means=(),
        var_error=None,
        cov2=None,
        cov3=None,
        ms_t=None,
        ms_r_within=None,
        n0=None,
        statistic=None,
        ndf=None,
        ddf=None,
        p_value=None,
        error_term=None,
        differences=(),
        single_modality=(),
    )

    def not_estimable(reason, **fields):
        return OrSplitPlot(estimable=False, reason=reason, **base, **{**empty, **fields})

    too_few = too_few_readings(reader, readers)
    if too_few:
        return not_estimable(too_few)
    if len(modalities) < 2:
        return not_estimable("not estimable because there is one modality: a split-plot comparison needs two")
    panels = tuple(_ordered_unique(reader[modality == m]) for m in modalities)
    seen: dict = {}
    for m, panel in zip(modalities, panels, strict=True):
        for r in panel:
            if r in seen:
                return not_estimable(
                    f"not estimable because reader {r} read modalities {seen[r]} and {m}: the split-plot analysis "
                    "needs each reader in one modality (use or_analysis when every reader reads every modality)"
                )
            seen[r] = m
    for m, panel in zip(modalities, panels, strict=True):
        if len(panel) < 2:
            return not_estimable(
                f"not estimable because modality {m} has one reader: reader variability needs two per panel"
            )
    is_positive, values, mask = _scores(truth, score, fom, positive, indeterminable)
    data = []
    for m, panel in zip(modalities, panels, strict=True):
        rows = modality == m
        try:
            data.append(
                _modality_data(
                    reader[rows], case[rows], is_positive[rows], values[rows], mask[rows], panel, fom
                )
            )
        except NotEstimable as error:
            return not_estimable(str(error), panels=panels)
    sizes = np.array([len(panel) for panel in panels])
    t, total = len(modalities), int(sizes.sum())
    # jackknife covariance of all (modality, reader) FOMs over the cases two modalities share
    blocks = []
    for item in data:
        n = len(item.cases)
        deviation = item.jack - item.jack.mean(axis=1, keepdims=True)
        blocks.append((dict(zip(item.cases, range(n), strict=True)), deviation * math.sqrt((n - 1) / n)))
    var_sum = cov2_sum = cov3_sum = 0.0
    cov2_count = cov3_count = 0
    cov2_i, var_i = [], []
    for a, (index_a, dev_a) in enumerate(blocks):
        for b, (index_b, dev_b) in enumerate(blocks):
            shared = [value for value in index_a if value in index_b]
            block = np.zeros((sizes[a], sizes[b]))
            if shared:
                block = dev_a[:, [index_a[v] for v in shared]] @ dev_b[:, [index_b[v] for v in shared]].T
            if a == b:
                off = ~np.eye(sizes[a], dtype=bool)
                var_sum += float(np.trace(block))
                cov2_sum += float(block[off].sum())
                cov2_count += int(off.sum())
                var_i.append(float(np.diag(block).mean()))
                cov2_i.append(float(block[off].mean()))
            else:
                cov3_sum += float(block.sum())
                cov3_count += block.size
    var_error, cov2, cov3 = var_sum / total, cov2_sum / cov2_count, cov3_sum / cov3_count
    theta = [item.theta for item in data]
    means = np.array([values.mean() for values in theta])
    grand = float((sizes * means).sum() / total)
    ms_t = float((sizes * (means - grand) ** 2).sum() / (t - 1))
    ms_r = float(
        sum(((values - mean) ** 2).sum() for values, mean in zip(theta, means, strict=True)) / (total - t)
    )
    n0 = float((total**2 - (sizes**2).sum()) / (total * (t - 1)))
    excess = max(cov2 - cov3, 0.0)
    error = ms_r + n0 * excess
    shared_cases = set.intersection(*(set(item.cases) for item in data))
    singles = []
    for i, m in enumerate(modalities):
        ms_r_i = float(((theta[i] - means[i]) ** 2).sum() / (sizes[i] - 1))
        error_i = ms_r_i + sizes[i] * max(cov2_i[i], 0.0)
        df_i = error_i**2 / (ms_r_i**2 / (sizes[i] - 1)) if ms_r_i > 0 else None
        singles.append(
            _estimate(m, means[i], math.sqrt(max(error_i, 0.0) / sizes[i]), df_i, null, confidence)
        )
    fields = dict(
        panels=panels,
        case_counts=tuple(len(item.cases) for item in data),
        shared_case_count=len(shared_cases),
        reader_fom=tuple(tuple(float(value) for value in values) for values in theta),
        modality_means=tuple(float(value) for value in means),
        var_error=var_error,
        cov2=cov2,
        cov3=cov3,
        ms_t=ms_t,
        ms_r_within=ms_r,
        n0=n0,
        single_modality=tuple(singles),
    )
    if not error > 0:
        return not_estimable(
            "not estimable because the error term MS[R(T)] + n0*max(Cov2-Cov3, 0) is 0 (no variability over readers "
            "and cases)",
            **fields,
        )
    ddf = error**2 / (ms_r**2 / (total - t)) if ms_r > 0 else None
    statistic = ms_t / error
    p = stats.f.sf(statistic, t - 1, ddf) if ddf is not None else stats.chi2.sf(statistic * (t - 1), t - 1)
    differences = []
    for a, b in combinations(range(t), 2):
        weight = 1 / sizes[a] + 1 / sizes[b]
        variance = weight * ms_r + 2 * excess
        df = variance**2 / ((weight * ms_r) ** 2 / (total - t)) if ms_r > 0 else None
        differences.append(
            _difference(
                modalities[a], modalities[b], means[a] - means[b], math.sqrt(variance), df, confidence
            )
        )
    return OrSplitPlot(
        estimable=True,
        reason=None,
        statistic=float(statistic),
        ndf=t - 1,
        ddf=None if ddf is None else float(ddf),
        p_value=float(p),
        error_term=float(error),
        differences=tuple(differences),
        **base,
        **fields,
    )
