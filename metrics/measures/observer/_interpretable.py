"""The interpretable observer: logistic regression on named image features, cross-validated by patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from metrics.measures.observer._features import FEATURES, Feature, observer_features
from metrics.measures.observer._pools import ObserverInputError, ObserverPool
from metrics.measures.observer._validation import (
    REFIT_REPLICATES,
    AUCEstimate,
    refit_cross_validation,
    weighted_auc,
)
from metrics.measures.observer._volumetric import VOLUME_FEATURES

__all__ = [
    "FeatureDistribution",
    "FeatureWeight",
    "InterpretableObserverResult",
    "ValueSummary",
    "interpretable_observer",
    "volumetric_observer",
]

TELLING_FEATURES = 3
REGULARISATION_C = 1.0


@dataclass(frozen=True)
class ValueSummary:
    """One feature's values on one kind of slice: count, mean, standard deviation and five quantiles."""

    n: int
    mean: float
    std: float
    p05: float
    p25: float
    median: float
    p75: float
    p95: float

    @classmethod
    def of(cls, values: np.ndarray) -> ValueSummary:
        p05, p25, median, p75, p95 = np.percentile(values, [5, 25, 50, 75, 95])
        return cls(len(values), float(values.mean()), float(values.std()), p05, p25, median, p75, p95)


@dataclass(frozen=True)
class FeatureWeight:
    """A feature's weight in the logistic regression fitted on all slices, per standard deviation of the
    feature (positive: higher values point to synthetic)."""

    name: str
    label: str
    weight: float


@dataclass(frozen=True)
class FeatureDistribution:
    """How one feature differs between real and synthetic slices: its distributions, its AUC on its own
    (higher values read as synthetic; 0.5 = no difference, 0 or 1 = complete separation), the standardised mean
    difference (synthetic minus real, over the pooled standard deviation) and a sentence saying it."""

    name: str
    label: str
    unit: str
    description: str
    real: ValueSummary
    synthetic: ValueSummary
    auc: float
    standardised_difference: float
    sentence: str

    @property
    def separation(self) -> float:
        """How well the feature alone tells the two apart, whichever way round: max(AUC, 1 - AUC)."""
        return max(self.auc, 1 - self.auc)


@dataclass(frozen=True)
class InterpretableObserverResult:
    """Cross-validated AUCs (overall and per axial layer) of the logistic regression, its standardised weights,
    every feature's distributions, and the ``telling`` ones: the features that alone separate real from synthetic
    best (by AUC, ties by standardised difference), most telling first."""

    overall: AUCEstimate
    by_layer: tuple[AUCEstimate, ...]
    weights: tuple[FeatureWeight, ...]
    distributions: tuple[FeatureDistribution, ...]
    telling: tuple[FeatureDistribution, ...]
    folds: int
    fold_of_slice: np.ndarray
    scores: np.ndarray
    seed: int
    model: str = "logistic regression on image features"

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "overall": self.overall.to_dict(),
            "by_layer": [estimate.to_dict() for estimate in self.by_layer],
            "weights": [weight.__dict__ for weight in self.weights],
            "telling": [_distribution_dict(distribution) for distribution in self.telling],
            "distributions": [_distribution_dict(distribution) for distribution in self.distributions],
            "folds": self.folds,
            "seed": self.seed,
        }


def _distribution_dict(distribution: FeatureDistribution) -> dict:
    data = dict(distribution.__dict__)
    data["real"], data["synthetic"] = distribution.real.__dict__, distribution.synthetic.__dict__
    return data


def _classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(C=REGULARISATION_C, max_iter=5000))


def describe_feature(
    index: int, values: np.ndarray, synthetic: np.ndarray, feature_set: Sequence[Feature] = FEATURES
) -> FeatureDistribution:
    """The distributions, single-feature AUC, standardised difference and sentence of feature ``index`` of
    ``feature_set``."""
    feature = feature_set[index]
    real, fake = values[~synthetic], values[synthetic]
    pooled = np.sqrt((real.var() + fake.var()) / 2)
    difference = (fake.mean() - real.mean()) / pooled if pooled > 0 else 0.0
    real_summary, synthetic_summary = ValueSummary.of(real), ValueSummary.of(fake)
    medians = {
        "synthetic": feature.format(synthetic_summary.median),
        "real": feature.format(real_summary.median),
    }
    if medians["synthetic"] == medians["real"]:
        sentence = f"synthetic and real slices have the same median {feature.label}: {medians['real']}"
    else:
        template = feature.lower if synthetic_summary.median < real_summary.median else feature.higher
        sentence = "synthetic slices " + template.format(**medians)
    return FeatureDistribution(
        name=feature.name,
        label=feature.label,
        unit=feature.unit,
        description=feature.description,
        real=real_summary,
        synthetic=synthetic_summary,
        auc=weighted_auc(values, synthetic),
        standardised_difference=float(difference),
        sentence=sentence,
    )


def interpretable_observer(
    pool: ObserverPool,
    *,
    folds: int | None = None,
    seed: int = 0,
    bootstrap: int = REFIT_REPLICATES,
    features: np.ndarray | None = None,
    workers: int | None = None,
    feature_set: Sequence[Feature] = FEATURES,
    model: str = "logistic regression on image features",
) -> InterpretableObserverResult:
    """Train and evaluate a logistic regression (features standardised, L2, C=1) that tells the pool's synthetic
    slices from its real ones, with folds grouped by patient (:func:`patient_folds`); the AUCs are on the
    out-of-fold scores, their CIs from ``bootstrap`` refitted resamples of the patients
    (:func:`refit_cross_validation`). ``features`` may pass :func:`observer_features` of the pool already
    computed. Another ``feature_set`` (the volumetric observer's) needs its ``features`` given, one row per slice
    of the pool, and names the classifier ``model``."""
    if features is None:
        if feature_set is not FEATURES:
            raise ObserverInputError("features of another feature set must be given")
        features = observer_features(pool.hu, hu_min=pool.hu_min, workers=workers)
    values = np.asarray(features, dtype=np.float64)
    if values.shape != (len(pool), len(feature_set)):
        raise ObserverInputError(f"features must be ({len(pool)}, {len(feature_set)}), got {values.shape}")
    if not np.isfinite(values).all():
        raise ObserverInputError("some image features are not finite")

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        classifier = _classifier().fit(values[train], pool.synthetic[train])
        return classifier.predict_proba(values[test])[:, 1]

    # about a thousand fits of 17 coefficients: BLAS threads only add contention (several times slower on a busy
    # machine), so one thread each
    with threadpool_limits(limits=1, user_api="blas"):
        validated = refit_cross_validation(pool, fit_predict, folds=folds, seed=seed, replicates=bootstrap)
        fitted = _classifier().fit(values, pool.synthetic)
    coefficients = fitted[-1].coef_[0]
    weights = tuple(
        FeatureWeight(feature.name, feature.label, float(weight))
        for feature, weight in zip(feature_set, coefficients, strict=True)
    )
    distributions = tuple(
        describe_feature(index, values[:, index], pool.synthetic, feature_set)
        for index in range(len(feature_set))
    )
    ranked = sorted(distributions, key=lambda d: (-round(d.separation, 6), -abs(d.standardised_difference)))
    return InterpretableObserverResult(
        overall=validated.overall,
        by_layer=validated.by_layer,
        weights=weights,
        distributions=distributions,
        telling=tuple(ranked[:TELLING_FEATURES]),
        folds=validated.folds,
        fold_of_slice=validated.fold_of_slice,
        scores=validated.scores,
        seed=seed,
        model=model,
    )


VOLUMETRIC_MODEL = "logistic regression on 3-D features of slabs"


def volumetric_observer(
    pool: ObserverPool,
    features: np.ndarray,
    *,
    folds: int | None = None,
    seed: int = 0,
    bootstrap: int = REFIT_REPLICATES,
) -> InterpretableObserverResult:
    """The volumetric observer: :func:`interpretable_observer` (same classifier, same folds grouped by patient,
    same refitted bootstrap) on ``VOLUME_FEATURES`` of the slab around each pool slice (``features``, ``(n, 6)``
    from :func:`metrics.measures.observer._volumetric.slab_features`)."""
    return interpretable_observer(
        pool,
        folds=folds,
        seed=seed,
        bootstrap=bootstrap,
        features=features,
        feature_set=VOLUME_FEATURES,
        model=VOLUMETRIC_MODEL,
    )
