"""The interpretable observer: logistic regression on named image features, cross-validated by patient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from metrics.measures.observer._features import FEATURES, observer_features
from metrics.measures.observer._pools import ObserverInputError, ObserverPool
from metrics.measures.observer._validation import (
    REFIT_REPLICATES,
    AUCEstimate,
    refit_cross_validation,
    weighted_auc,
)

__all__ = [
    "FeatureDistribution",
    "FeatureWeight",
    "InterpretableObserverResult",
    "ValueSummary",
    "interpretable_observer",
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

    def to_dict(self) -> dict:
        return {
            "model": "logistic regression on image features",
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


def describe_feature(index: int, values: np.ndarray, synthetic: np.ndarray) -> FeatureDistribution:
    """The distributions, single-feature AUC, standardised difference and sentence of feature ``index``."""
    feature = FEATURES[index]
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
) -> InterpretableObserverResult:
    """Train and evaluate a logistic regression (features standardised, L2, C=1) that tells the pool's synthetic
    slices from its real ones, with folds grouped by patient (:func:`patient_folds`); the AUCs are on the
    out-of-fold scores, their CIs from ``bootstrap`` refitted resamples of the patients
    (:func:`refit_cross_validation`). ``features`` may pass :func:`observer_features` of the pool already
    computed."""
    values = observer_features(pool.hu, hu_min=pool.hu_min, workers=workers) if features is None else features
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(pool), len(FEATURES)):
        raise ObserverInputError(f"features must be ({len(pool)}, {len(FEATURES)}), got {values.shape}")
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
        for feature, weight in zip(FEATURES, coefficients, strict=True)
    )
    distributions = tuple(
        describe_feature(index, values[:, index], pool.synthetic) for index in range(len(FEATURES))
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
    )
