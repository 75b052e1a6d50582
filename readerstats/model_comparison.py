"""Comparison of models (surveys) across reader panels with the logistic GLMM.

Model: ``correct ~ model + (1 | reader) + (1 | item)`` (treatment coding against the first model), fitted by the
Laplace approximation of :mod:`readerstats.glmm`. Readers are crossed with the models they read and items are
identified by their id: a synthetic item belongs to one model (nested), a real item shown in several models is one
item (crossed) when it keeps its id, or several when each model has its own. The same fit serves every design:

- fully crossed: every reader reads every model;
- split-plot: each model its own reader panel (the design of a visual Turing test with one survey per model);
- partially overlapping panels: some readers read several models.

What it reports:

- the accuracy of the typical reader on the typical item per model, expit(beta_0 + beta_model), with its CI;
- the omnibus likelihood-ratio test of equal models: 2 (log L(full) - log L(null)) against chi-squared with
  (models - 1) df, the null model ``correct ~ 1 + (1 | reader) + (1 | item)``;
- every pairwise difference in accuracy in percentage points, 100 (expit(eta_a) - expit(eta_b)), its standard
  error by the delta method from the covariance of the fixed effects (the Hessian of the Laplace deviance), a
  two-sided t-test (p raw and Holm-adjusted across the pairs), and simultaneous confidence intervals: the
  single-step max-|t| critical value of the pairs' joint distribution (Hothorn, Bretz & Westfall 2008,
  Biometrical Journal 50:346-363), so that all intervals cover together with the stated confidence.

Degrees of freedom: a Wald z-test treats the variance components as known, which with a few readers per panel
(the reader variance then enters every difference) rejects too often. Each difference and each model's accuracy
gets Satterthwaite degrees of freedom from the variability of the variance components (as lmerTest does for linear
mixed models; :func:`readerstats.glmm.satterthwaite_df`); in a split-plot design at most the between-within df,
readers - models (Schluchter & Elashoff 1990, J Stat Comput Simul 37:11-24; SAS's DDFM=BETWITHIN), since the
readers' part of every difference is estimated from that many; with every component on its bound 0 and readers
crossed with the models the normal applies.
``benchmarks/coverage.py`` measures the type I error and coverage in split-plot designs (docs/statistics.md).
Pure computation, named results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import expit

from readerstats.contingency import holm_adjust
from readerstats.core import CONFIDENCE, REAL, _ordered_unique, _Result
from readerstats.glmm import GlmmFit, glmm_fit, satterthwaite_df

METHOD = (
    "logistic GLMM correct ~ model + (1|reader) + (1|item), Laplace approximation (as lme4 nAGQ=1); "
    "likelihood-ratio omnibus test; pairwise accuracy differences by the delta method, Holm-adjusted p, "
    "single-step simultaneous CIs"
)
FULLY_CROSSED = "fully crossed (every reader read every model)"
SPLIT_PLOT = "split-plot (each model its own reader panel)"
OVERLAPPING = "partially overlapping reader panels"


@dataclass(frozen=True)
class ModelAccuracy(_Result):
    """One model: accuracy of the typical reader on the typical item, expit(log-odds), with its Wald CI."""

    model: Any
    accuracy: float
    ci_low: float
    ci_high: float
    log_odds: float
    log_odds_se: float
    reader_count: int
    item_count: int
    answer_count: int


@dataclass(frozen=True)
class ModelDifference(_Result):
    """Accuracy of ``model_a`` minus ``model_b`` in percentage points (delta method), t-test, Holm p and a
    simultaneous CI (``ci_low``/``ci_high``, all pairs together at the stated confidence)."""

    model_a: Any
    model_b: Any
    difference: float
    stderr: float
    z: float
    df: float | None
    """Satterthwaite degrees of freedom of the difference (None: normal, every variance on its bound 0)."""
    p_value: float
    holm_p_value: float
    ci_low: float
    ci_high: float
    log_odds_ratio: float


@dataclass(frozen=True)
class LikelihoodRatioTest(_Result):
    """2 (log L(full) - log L(null)) against chi-squared with ``df`` degrees of freedom."""

    statistic: float
    df: int
    p_value: float
    log_likelihood_full: float
    log_likelihood_null: float


@dataclass(frozen=True)
class ModelComparison(_Result):
    """The GLMM comparison of two or more models: design, per-model accuracy, omnibus test, pairwise differences."""

    estimable: bool
    reason: str | None
    method: str
    design: str | None
    real_items: str | None
    models: tuple
    accuracies: tuple[ModelAccuracy, ...]
    omnibus: LikelihoodRatioTest | None
    differences: tuple[ModelDifference, ...]
    critical_value: float | None
    """The simultaneous intervals' multiplier (1.96 for a single pair at 95%)."""
    confidence: float
    fit: GlmmFit | None
    null_fit: GlmmFit | None
    notes: tuple[str, ...] = ()

    def to_frame(self):
        """The pairwise differences as a pandas DataFrame, one row per pair."""
        import pandas as pd

        return pd.DataFrame([difference.to_dict() for difference in self.differences])


def _quantile(confidence: float, df: float | None) -> float:
    tail = 0.5 + confidence / 2
    return float(stats.norm.ppf(tail) if df is None else stats.t.ppf(tail, df))


def describe_design(reader, model, item, truth=None) -> tuple[str, str | None]:
    """How the reader panels and the real items relate to the models, in words."""
    models = _ordered_unique(model)
    panels = {m: set(reader[model == m]) for m in models}
    per_reader = {}
    for readers in panels.values():
        for r in readers:
            per_reader[r] = per_reader.get(r, 0) + 1
    if all(count == len(models) for count in per_reader.values()):
        design = FULLY_CROSSED
    elif all(count == 1 for count in per_reader.values()):
        design = SPLIT_PLOT
    else:
        shared = sum(1 for count in per_reader.values() if count > 1)
        design = f"{OVERLAPPING} ({shared} of {len(per_reader)} readers read more than one model)"
    if truth is None:
        return design, None
    real = np.array([str(value) == REAL for value in truth], dtype=bool)
    real_models: dict[Any, set] = {}
    for i, m in zip(item[real], model[real], strict=True):
        real_models.setdefault(i, set()).add(m)
    if not real_models:
        return design, "no real items"
    shared_items = sum(1 for ms in real_models.values() if len(ms) > 1)
    if shared_items == 0:
        words = "each model its own real items"
    elif all(len(ms) == len(models) for ms in real_models.values()):
        words = "real items shared by every model"
    else:
        words = f"real items partly shared ({shared_items} of {len(real_models)} in more than one model)"
    return design, words


SIMULTANEOUS_DRAWS = 400_000
"""Monte Carlo draws for the simultaneous critical value (its Monte Carlo SE is about 0.003)."""


def simultaneous_critical_value(
    loadings: np.ndarray, confidence: float, *, df: float | None = None, seed: int = 0
) -> float:
    """c with P(max_k |T_k| <= c) = confidence for T = Z / sqrt(chi2_df / df), Z = loadings @ N(0, I) with
    unit-variance rows (single-step max-|t|; ``df`` None: normal).

    ``loadings`` (comparisons x factors) may describe a singular joint distribution (pairwise differences of t
    means have rank t - 1). The quantile of max |T| is taken over seeded Monte Carlo draws.
    """
    loadings = np.asarray(loadings, dtype=float)
    loadings = loadings / np.linalg.norm(loadings, axis=1, keepdims=True)
    if loadings.shape[0] == 1:
        tail = 0.5 + confidence / 2
        return float(stats.norm.ppf(tail) if df is None else stats.t.ppf(tail, df))
    rng = np.random.default_rng(seed)
    maxima = []
    for _ in range(SIMULTANEOUS_DRAWS // 100_000):
        draws = rng.standard_normal((100_000, loadings.shape[1])) @ loadings.T
        if df is not None:
            draws /= np.sqrt(rng.chisquare(df, 100_000) / df)[:, None]
        maxima.append(np.max(np.abs(draws), axis=1))
    return float(np.quantile(np.concatenate(maxima), confidence))


def compare_models(
    correct,
    reader,
    item,
    model,
    *,
    truth=None,
    confidence: float = CONFIDENCE,
    omnibus: bool = True,
) -> ModelComparison:
    """Compare the models' accuracy with ``correct ~ model + (1|reader) + (1|item)``.

    One row per answer: ``correct`` 0/1 (None/NaN: not scored, e.g. indeterminable, dropped), the reader's id, the
    item's id (a real item shared by models keeps one id) and the model. ``truth`` (optional) only describes how
    real items are shared. The first model in sorted order is the reference level of the fit; the differences
    are reported for every pair (a minus b, in sorted order). ``omnibus=False`` skips the null model and its
    likelihood-ratio test (the simulation benchmark only needs the pairs).
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    columns = [list(correct), list(reader), list(item), list(model)]
    if truth is not None:
        columns.append(list(truth))
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"columns differ in length: {[len(column) for column in columns]}")
    y = np.array([np.nan if value is None else float(value) for value in columns[0]], dtype=float)
    keep = np.isfinite(y)
    reader, item, model = (np.asarray(column, dtype=object)[keep] for column in columns[1:4])
    truth_kept = np.asarray(columns[4], dtype=object)[keep] if truth is not None else None
    y = y[keep]
    models = _ordered_unique(model)
    base = dict(method=METHOD, models=models, confidence=confidence)

    def not_estimable(reason, design=None, real_items=None, fit=None, null_fit=None):
        return ModelComparison(
            False, reason, design=design, real_items=real_items, accuracies=(), omnibus=None, differences=(),
            critical_value=None, fit=fit, null_fit=null_fit, **base,
        )  # fmt: skip

    if len(models) < 2:
        return not_estimable("not estimable because there is one model: a comparison needs at least two")
    design, real_items = describe_design(reader, model, item, truth_kept)
    for m in models:
        rows = model == m
        if np.all(y[rows] == 1) or np.all(y[rows] == 0):
            word = "correct" if y[rows][0] == 1 else "wrong"
            return not_estimable(
                f"not estimable because every answer in model {m} is {word}: its log-odds are infinite",
                design,
                real_items,
            )
    fixed = {f"model{m}": (model == m).astype(float) for m in models[1:]}
    fit = glmm_fit(y, reader, item, fixed=fixed)
    if not fit.estimable:
        return not_estimable(fit.reason, design, real_items, fit)
    null_fit, test = None, None
    if omnibus:
        null_fit = glmm_fit(y, reader, item)
        if not null_fit.estimable:
            return not_estimable(null_fit.reason, design, real_items, fit, null_fit)
        statistic = max(2 * (fit.log_likelihood - null_fit.log_likelihood), 0.0)
        test = LikelihoodRatioTest(
            statistic=float(statistic),
            df=len(models) - 1,
            p_value=float(stats.chi2.sf(statistic, len(models) - 1)),
            log_likelihood_full=fit.log_likelihood,
            log_likelihood_null=null_fit.log_likelihood,
        )
    notes = [
        f"the {name} model's optimum is {one.convergence}"
        for name, one in (("full", fit), ("null", null_fit))
        if one is not None and not one.converged
    ]
    beta = np.array(fit.coefficients)
    covariance = np.array(fit.covariance)
    # eta_m = contrast_m . beta
    contrasts = np.zeros((len(models), len(beta)))
    contrasts[:, 0] = 1
    for k in range(1, len(models)):
        contrasts[k, k] = 1
    eta = contrasts @ beta
    eta_covariance = contrasts @ covariance @ contrasts.T
    # between-within df (Schluchter & Elashoff 1990): in a split-plot design the models differ between readers, so
    # what the readers contribute is estimated from (readers - models) df at most
    between = len(set(reader)) - len(models) if design == SPLIT_PLOT else None

    def capped(df):
        if between is None:
            return df
        return between if df is None else min(df, between)

    accuracies = []
    for k, m in enumerate(models):
        rows = model == m
        se = math.sqrt(eta_covariance[k, k])
        q = _quantile(confidence, capped(satterthwaite_df(fit, contrasts[k])))
        accuracies.append(
            ModelAccuracy(
                model=m,
                accuracy=float(expit(eta[k])),
                ci_low=float(expit(eta[k] - q * se)),
                ci_high=float(expit(eta[k] + q * se)),
                log_odds=float(eta[k]),
                log_odds_se=se,
                reader_count=len(set(reader[rows])),
                item_count=len(set(item[rows])),
                answer_count=int(rows.sum()),
            )
        )
    pairs = list(combinations(range(len(models)), 2))
    slopes = expit(eta) * (1 - expit(eta))
    gradients = np.zeros((len(pairs), len(models)))
    for row, (a, b) in enumerate(pairs):
        gradients[row, a], gradients[row, b] = slopes[a], -slopes[b]
    difference_covariance = 1e4 * gradients @ eta_covariance @ gradients.T  # percentage points squared
    stderrs = np.sqrt(np.diag(difference_covariance))
    estimates = np.array([100 * (expit(eta[a]) - expit(eta[b])) for a, b in pairs])
    z = estimates / stderrs
    # Satterthwaite df of each difference (the expit slopes held fixed): d = gradient . eta = (gradient C) . beta
    dfs = [capped(satterthwaite_df(fit, gradients[row] @ contrasts)) for row in range(len(pairs))]
    p_values = np.array(
        [
            2 * (stats.norm.sf(abs(v)) if df is None else stats.t.sf(abs(v), df))
            for v, df in zip(z, dfs, strict=True)
        ]
    )
    holm = holm_adjust(list(p_values))
    factor = np.linalg.cholesky(eta_covariance + 1e-14 * np.eye(len(models)))
    smallest = min((df for df in dfs if df is not None), default=None)
    critical = simultaneous_critical_value(gradients @ factor, confidence, df=smallest)
    differences = tuple(
        ModelDifference(
            model_a=models[a],
            model_b=models[b],
            difference=float(estimates[row]),
            stderr=float(stderrs[row]),
            z=float(z[row]),
            df=None if dfs[row] is None else float(dfs[row]),
            p_value=float(p_values[row]),
            holm_p_value=float(holm[row]),
            ci_low=float(estimates[row] - critical * stderrs[row]),
            ci_high=float(estimates[row] + critical * stderrs[row]),
            log_odds_ratio=float(eta[a] - eta[b]),
        )
        for row, (a, b) in enumerate(pairs)
    )
    return ModelComparison(
        True,
        None,
        design=design,
        real_items=real_items,
        accuracies=tuple(accuracies),
        omnibus=test,
        differences=differences,
        critical_value=critical,
        fit=fit,
        null_fit=null_fit,
        notes=tuple(notes),
        **base,
    )
