"""The names of the image-distribution metrics and of the layers they are computed on. Pure Python.

Models, forms and tables use these without loading the computation (NumPy, SciPy, PyTorch).
"""

from imaging.constants import LAYERS

AVERAGE_LAYER = 0
"""The ``layer`` of the row that averages a metric over axial layers 1..10."""

FEATURE_METRICS = ("fid", "kid")
RADIOMIC_METRICS = ("radiomic_fd", "radiomic_kid")
RADIOMIC_FEATURE_COUNT = 72
"""How many radiomic features the radiomic metrics use (metrics.measures.radiomics.FEATURE_NAMES)."""
SLICE_METRICS = (
    "kl_divergence_256",
    "kl_divergence_3",
    "histogram_correlation",
    "histogram_intersection",
    "spectral_score",
)
METRICS = FEATURE_METRICS + RADIOMIC_METRICS + SLICE_METRICS
"""The per-layer metrics (one row per axial layer and their mean in ``AVERAGE_LAYER``)."""
VOLUME_METRICS = ("z_gradient_w1", "z_to_inplane_w1", "z_high_frequency_w1", "reformat_radiomic_fd")
"""Realism along z (metrics.measures.zconsistency): computed once on whole volumes, stored in ``AVERAGE_LAYER``."""
STORED_METRICS = METRICS + VOLUME_METRICS
METRIC_LABELS = {
    "fid": "FID",
    "kid": "KID",
    "radiomic_fd": f"Radiomic Fréchet distance, {RADIOMIC_FEATURE_COUNT} features",
    "radiomic_kid": f"Radiomic KID, {RADIOMIC_FEATURE_COUNT} features",
    "kl_divergence_256": "KL divergence, 256 bins",
    "kl_divergence_3": "KL divergence, 3 bins",
    "histogram_correlation": "Histogram correlation",
    "histogram_intersection": "Histogram intersection",
    "spectral_score": "Spectral score",
    "z_gradient_w1": "z-gradient distribution, Wasserstein (HU/mm)",
    "z_to_inplane_w1": "z-to-in-plane gradient ratio, Wasserstein",
    "z_high_frequency_w1": "High-frequency power along z, Wasserstein",
    "reformat_radiomic_fd": f"Coronal/sagittal reformat radiomic Fréchet distance, {RADIOMIC_FEATURE_COUNT} features",
}
LOWER_IS_BETTER = frozenset(
    {"fid", "kid", "radiomic_fd", "radiomic_kid", "kl_divergence_256", "kl_divergence_3", *VOLUME_METRICS}
)
"""Distances (0 = same distribution); the other metrics are similarities (1 = same)."""

__all__ = [
    "AVERAGE_LAYER",
    "FEATURE_METRICS",
    "LAYERS",
    "LOWER_IS_BETTER",
    "METRICS",
    "METRIC_LABELS",
    "RADIOMIC_FEATURE_COUNT",
    "RADIOMIC_METRICS",
    "SLICE_METRICS",
    "STORED_METRICS",
    "VOLUME_METRICS",
]
