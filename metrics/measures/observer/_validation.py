"""Cross-validation folds grouped by patient and stratified by axial layer, and AUCs with a patient bootstrap."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from metrics.measures.observer._pools import ObserverInputError, ObserverPool

__all__ = [
    "DEFAULT_FOLDS",
    "AUCEstimate",
    "auc_estimates",
    "grouped_folds",
    "patient_folds",
    "weighted_auc",
]

DEFAULT_FOLDS = 5
MIN_FOLDS = 2
BOOTSTRAP_REPLICATES = 1000
CI_LEVEL = 0.95
MIN_VALID_SHARE = 0.5
"""A CI needs at least this share of bootstrap replicates with both real and synthetic slices."""


def patient_folds(pool: ObserverPool, *, folds: int | None = None, seed: int = 0) -> np.ndarray:
    """The test fold (0..folds-1) of every slice: every slice of a patient in one fold (no patient in both a
    training and a test set), folds balanced in truth x axial layer (scikit-learn's ``StratifiedGroupKFold`` on
    that joint stratum), seeded. ``folds=None`` takes ``DEFAULT_FOLDS``, or one fold per patient when there are
    fewer. Raises :class:`ObserverInputError` when the patients cannot fill the folds or a fold would miss real
    or synthetic slices in its training or test set."""
    return grouped_folds(pool.patients, pool.layers, pool.synthetic, folds=folds, seed=seed)


def grouped_folds(
    patients: np.ndarray, layers: np.ndarray, synthetic: np.ndarray, *, folds: int | None, seed: int
) -> np.ndarray:
    """:func:`patient_folds` on plain arrays (one entry per slice)."""
    n_patients = len(np.unique(patients))
    n_real, n_synthetic = int((~synthetic).sum()), int(synthetic.sum())
    if n_real == 0 or n_synthetic == 0:
        raise ObserverInputError(
            f"the observer needs real and synthetic slices; got {n_real} real and {n_synthetic} synthetic"
        )
    if folds is None:
        folds = min(DEFAULT_FOLDS, n_patients)
    if folds < MIN_FOLDS:
        raise ObserverInputError(
            f"cross-validation grouped by patient needs at least {MIN_FOLDS} patients; the pools hold {n_patients}"
        )
    if n_patients < folds:
        raise ObserverInputError(
            f"{folds}-fold cross-validation grouped by patient needs at least {folds} patients; "
            f"the pools hold {n_patients}"
        )
    strata = synthetic.astype(int) * 100 + layers
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_of = np.full(len(patients), -1)
    with warnings.catch_warnings():
        # small strata (a layer with fewer slices than folds) are expected; the split stays grouped
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_, test) in enumerate(splitter.split(np.zeros(len(patients)), strata, groups=patients)):
            fold_of[test] = fold
    for fold in range(folds):
        test = fold_of == fold
        for where, rows in (("test", test), ("training", ~test)):
            real, fake = int((rows & ~synthetic).sum()), int((rows & synthetic).sum())
            if real == 0 or fake == 0:
                raise ObserverInputError(
                    f"fold {fold + 1} of {folds} has {real} real and {fake} synthetic slices in its {where} "
                    f"set; use fewer folds or pools with more patients of each kind ({n_patients} patients)"
                )
    return fold_of


def weighted_auc(scores: np.ndarray, synthetic: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Area under the ROC curve of ``scores`` (higher = more likely synthetic), ties counted half: the weighted
    Mann-Whitney probability that a synthetic slice scores above a real one. NaN without both kinds."""
    scores = np.asarray(scores, dtype=np.float64)
    synthetic = np.asarray(synthetic, dtype=bool)
    weights = np.ones(scores.shape) if weights is None else np.asarray(weights, dtype=np.float64)
    unique, inverse = np.unique(scores, return_inverse=True)
    return _auc_from_ranks(inverse, unique.size, synthetic, weights)


def _auc_from_ranks(inverse: np.ndarray, n_values: int, synthetic: np.ndarray, weights: np.ndarray) -> float:
    real_mass = np.bincount(inverse, weights=weights * ~synthetic, minlength=n_values)
    synthetic_mass = np.bincount(inverse, weights=weights * synthetic, minlength=n_values)
    total_real, total_synthetic = real_mass.sum(), synthetic_mass.sum()
    if total_real <= 0 or total_synthetic <= 0:
        return float("nan")
    real_below = np.cumsum(real_mass) - real_mass
    wins = np.dot(synthetic_mass, real_below + 0.5 * real_mass)
    return float(wins / (total_real * total_synthetic))


@dataclass(frozen=True)
class AUCEstimate:
    """AUC of telling synthetic from real slices, over all layers (``layer`` None) or in one axial layer, with a
    percentile bootstrap CI from resampling patients (``None`` when too few replicates had both kinds)."""

    layer: int | None
    auc: float | None
    ci_low: float | None
    ci_high: float | None
    n_real: int
    n_synthetic: int
    n_patients: int
    replicates: int
    valid_replicates: int
    confidence: float = CI_LEVEL

    def covers(self, value: float) -> bool:
        return self.ci_low is not None and self.ci_low <= value <= self.ci_high

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def auc_estimates(
    pool: ObserverPool,
    scores: np.ndarray,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = 0,
) -> tuple[AUCEstimate, tuple[AUCEstimate, ...]]:
    """The AUC of ``scores`` overall and per axial layer, each with a bootstrap CI: ``replicates`` times the
    patients are drawn with replacement (the same draws for every layer), each slice weighted by how often its
    patient was drawn; replicates without both real and synthetic slices are left out of that CI."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(pool),):
        raise ObserverInputError(f"one score per slice expected ({len(pool)}), got shape {scores.shape}")
    patients, patient_of = np.unique(pool.patients, return_inverse=True)
    rng = np.random.default_rng([seed, 7])
    draws = rng.integers(0, patients.size, size=(replicates, patients.size))
    weights = np.stack([np.bincount(draw, minlength=patients.size) for draw in draws])[:, patient_of]

    def estimate(rows: np.ndarray, layer: int | None) -> AUCEstimate:
        synthetic = pool.synthetic[rows]
        unique, inverse = np.unique(scores[rows], return_inverse=True)
        point = _auc_from_ranks(inverse, unique.size, synthetic, np.ones(rows.sum()))
        boot = np.array([_auc_from_ranks(inverse, unique.size, synthetic, w[rows]) for w in weights])
        valid = boot[np.isfinite(boot)]
        low = high = None
        if valid.size and valid.size >= MIN_VALID_SHARE * replicates:
            tail = (1 - CI_LEVEL) / 2 * 100
            low, high = (float(v) for v in np.percentile(valid, [tail, 100 - tail]))
        return AUCEstimate(
            layer=layer,
            auc=None if np.isnan(point) else point,
            ci_low=low,
            ci_high=high,
            n_real=int((~synthetic).sum()),
            n_synthetic=int(synthetic.sum()),
            n_patients=len(np.unique(pool.patients[rows])),
            replicates=replicates,
            valid_replicates=int(valid.size),
        )

    overall = estimate(np.ones(len(pool), dtype=bool), None)
    by_layer = tuple(estimate(pool.layers == layer, int(layer)) for layer in np.unique(pool.layers))
    return overall, by_layer


FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``(training rows, test rows) -> scores of the test rows``; rows index the pool and may repeat."""
REFIT_REPLICATES = 200


@dataclass(frozen=True)
class CrossValidated:
    """Out-of-fold scores of a classifier and their AUCs, overall and per axial layer."""

    fold_of_slice: np.ndarray
    scores: np.ndarray
    overall: AUCEstimate
    by_layer: tuple[AUCEstimate, ...]

    @property
    def folds(self) -> int:
        return int(self.fold_of_slice.max()) + 1


def _out_of_fold(fit_predict: FitPredict, rows: np.ndarray, fold_of: np.ndarray) -> np.ndarray:
    scores = np.empty(len(rows))
    for fold in range(int(fold_of.max()) + 1):
        test = fold_of == fold
        scores[test] = fit_predict(rows[~test], rows[test])
    return scores


def refit_cross_validation(
    pool: ObserverPool,
    fit_predict: FitPredict,
    *,
    folds: int | None = None,
    seed: int = 0,
    replicates: int = REFIT_REPLICATES,
) -> CrossValidated:
    """Cross-validate ``fit_predict`` with folds grouped by patient, and put a CI on its AUCs by repeating the
    whole cross-validation (new folds, new fits) on ``replicates`` bootstrap resamples of the patients.

    Refitting matters: under no difference at all the out-of-fold AUC varies more than a bootstrap of fixed
    scores says (the fitted models vary from fold to fold), and a CI from fixed scores covered 0.5 in only
    about 60% of simulated same-distribution pools. A patient drawn twice stays in one fold, so a resample never
    tests on a patient it trained on. A resample whose patients cannot fill the folds with both kinds is
    cross-validated with fewer folds, and left out when not even two folds can be filled.
    """
    fold_of = patient_folds(pool, folds=folds, seed=seed)
    n_folds = int(fold_of.max()) + 1
    every_row = np.arange(len(pool))
    scores = _out_of_fold(fit_predict, every_row, fold_of)
    layers = np.unique(pool.layers)
    patients, patient_of = np.unique(pool.patients, return_inverse=True)
    rows_of = [np.flatnonzero(patient_of == index) for index in range(patients.size)]
    rng = np.random.default_rng([seed, 13])
    overall_boot, layer_boot = [], {int(layer): [] for layer in layers}
    for replicate in range(replicates):
        drawn = rng.integers(0, patients.size, size=patients.size)
        rows = np.concatenate([rows_of[index] for index in drawn])
        fold_b = None
        # fewer folds when the resample's patients cannot fill them with both kinds
        for k in range(min(n_folds, len(np.unique(drawn))), MIN_FOLDS - 1, -1):
            try:
                fold_b = grouped_folds(
                    pool.patients[rows],
                    pool.layers[rows],
                    pool.synthetic[rows],
                    folds=k,
                    seed=seed + 1 + replicate,
                )
                break
            except ObserverInputError:
                continue
        if fold_b is None:
            continue
        scores_b = _out_of_fold(fit_predict, rows, fold_b)
        synthetic_b, layers_b = pool.synthetic[rows], pool.layers[rows]
        overall_boot.append(weighted_auc(scores_b, synthetic_b))
        for layer in layer_boot:
            here = layers_b == layer
            layer_boot[layer].append(
                weighted_auc(scores_b[here], synthetic_b[here]) if here.any() else np.nan
            )

    def estimate(rows: np.ndarray, layer: int | None, boot: list[float]) -> AUCEstimate:
        point = weighted_auc(scores[rows], pool.synthetic[rows])
        valid = np.asarray([value for value in boot if np.isfinite(value)])
        low = high = None
        if valid.size and valid.size >= MIN_VALID_SHARE * replicates:
            tail = (1 - CI_LEVEL) / 2 * 100
            low, high = (float(v) for v in np.percentile(valid, [tail, 100 - tail]))
        return AUCEstimate(
            layer=layer,
            auc=None if np.isnan(point) else point,
            ci_low=low,
            ci_high=high,
            n_real=int((rows & ~pool.synthetic).sum()),
            n_synthetic=int((rows & pool.synthetic).sum()),
            n_patients=len(np.unique(pool.patients[rows])),
            replicates=replicates,
            valid_replicates=int(valid.size),
        )

    overall = estimate(np.ones(len(pool), dtype=bool), None, overall_boot)
    by_layer = tuple(estimate(pool.layers == layer, int(layer), layer_boot[int(layer)]) for layer in layers)
    return CrossValidated(fold_of_slice=fold_of, scores=scores, overall=overall, by_layer=by_layer)
