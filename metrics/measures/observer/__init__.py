"""Machine observers: classifiers that tell a model's synthetic CT slices from real ones. Pure NumPy,
scikit-learn and PyTorch; no Django.

A human reader study shows whether synthetic slices fool people at a glance; a machine observer shows whether
they can be told apart at all, and by what. Both see the same slices: the readers' display pipeline
(:func:`prepare_pool` renders raw slices with :func:`studies.rendering.render_slice`).

- :class:`ObserverPool`, :class:`RawSlice`, :func:`prepare_pool` -- the slices, their patient, layer and truth;
- :func:`interpretable_observer` -- logistic regression on named image features (:data:`FEATURES`), with
  standardised weights and the three most telling features described in words;
- :func:`metrics.measures.observer.cnn.cnn_observer` -- a small CNN trained on random crops, on any torch device (its own
  module, imported only where the observer runs, so that importing this package does not load PyTorch);
- :func:`volumetric_observer`, :data:`VOLUME_FEATURES`, :func:`slab_features` -- the same logistic regression on
  3-D features of the slab around each slice (z-gradient, high-frequency power along z, reformat texture);
- :func:`patient_folds` (:func:`grouped_folds` on plain arrays) -- cross-validation folds grouped by patient and stratified by truth x axial layer;
- :func:`auc_estimates`, :class:`AUCEstimate` -- AUC overall and per axial layer with a bootstrap CI that
  resamples patients;
- :class:`ObserverInputError` -- a one-line refusal (too few patients for the folds, a class missing).

docs/metrics.md describes the features, the validation and the limits.
"""

from metrics.measures.observer._features import (
    FEATURE_NAMES,
    FEATURES,
    Feature,
    observer_features,
    slice_features,
)
from metrics.measures.observer._interpretable import (
    FeatureDistribution,
    FeatureWeight,
    InterpretableObserverResult,
    ValueSummary,
    interpretable_observer,
    volumetric_observer,
)
from metrics.measures.observer._pools import ObserverInputError, ObserverPool, RawSlice, prepare_pool
from metrics.measures.observer._validation import (
    BOOTSTRAP_REPLICATES,
    DEFAULT_FOLDS,
    REFIT_REPLICATES,
    AUCEstimate,
    auc_estimates,
    grouped_folds,
    patient_folds,
    weighted_auc,
)
from metrics.measures.observer._volumetric import SLAB_HALF, VOLUME_FEATURES, slab_around, slab_features

__all__ = [
    "BOOTSTRAP_REPLICATES",
    "DEFAULT_FOLDS",
    "REFIT_REPLICATES",
    "FEATURES",
    "FEATURE_NAMES",
    "AUCEstimate",
    "Feature",
    "FeatureDistribution",
    "FeatureWeight",
    "InterpretableObserverResult",
    "ObserverInputError",
    "ObserverPool",
    "RawSlice",
    "ValueSummary",
    "auc_estimates",
    "grouped_folds",
    "interpretable_observer",
    "observer_features",
    "patient_folds",
    "prepare_pool",
    "slice_features",
    "weighted_auc",
    "SLAB_HALF",
    "VOLUME_FEATURES",
    "slab_around",
    "slab_features",
    "volumetric_observer",
]
