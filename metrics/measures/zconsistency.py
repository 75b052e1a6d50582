"""Realism along z: how consistent a CT volume is from one slice to the next, and how real and synthetic pools of
volumes differ in it. Pure NumPy/SciPy, no Django.

A model that makes CT slice by slice can pass in every axial slice and still give itself away along z: organ edges
that jump between slices, noise that does not continue, bone that steps in a coronal or sagittal reformat. Per
volume, on a common grid (:func:`resample_volume`: the same slice spacing and in-plane pixel for every volume of a
comparison, so that a finer scanner does not look smoother):

- the **z-gradient** ``|hu[k + 1] - hu[k]| / slice_mm`` (HU/mm) at every pixel inside the body in both slices
  (:func:`metrics.measures.radiomics.slice_mask` of each slice): its mean, median, 90th and 99th percentiles and
  its histogram (``GRADIENT_EDGES``);
- the **z-to-in-plane ratio**: the mean z-gradient over the mean in-plane gradient (columns, HU/mm) inside the
  body: 1 for isotropic texture, higher when slices jump more than neighbouring pixels differ;
- the **high-frequency fraction along z**: of the power of the body's z-profiles (each pixel inside the body in
  every slice, its mean removed), the share above half the Nyquist frequency of the grid;
- the **reformat radiomics**: :func:`metrics.measures.radiomics.slice_radiomics` (72 features) of coronal and
  sagittal reformats at the body's 25th, 50th and 75th percentile row and column, resampled to square pixels.

Pools are compared per statistic by the 1-Wasserstein distance between their per-volume values
(:func:`compare_statistic`), the z-gradient distribution by the 1-Wasserstein distance between the pooled
histograms (:func:`gradient_distribution_distance`), the reformats by the Fréchet distance of their radiomic
features z-scored by the real pool (:func:`reformat_radiomic_distance`); each with a percentile bootstrap CI that
resamples volumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage
import scipy.stats

from imaging.constants import HU_MAX, HU_MIN
from metrics.measures.distribution import feature_statistics, frechet_distance
from metrics.measures.layerwise import MetricScore, unavailable_scores
from metrics.measures.layerwise import _score as metric_score
from metrics.measures.radiomics import FEATURE_COUNT, slice_mask, slice_radiomics, standardise
from metrics.measures.vocabulary import AVERAGE_LAYER, VOLUME_METRICS

__all__ = [
    "GRADIENT_EDGES",
    "MIN_SLICES",
    "REFORMAT_QUANTILES",
    "Z_STATISTICS",
    "StatisticComparison",
    "VolumeGrid",
    "VolumeZProfile",
    "ZConsistencyError",
    "common_grid",
    "compare_statistic",
    "gradient_distribution_distance",
    "reformat_radiomic_distance",
    "reformats",
    "resample_volume",
    "volume_scores",
    "volume_z_profile",
]

Z_STATISTICS = (
    "z_gradient_mean",
    "z_gradient_p50",
    "z_gradient_p90",
    "z_gradient_p99",
    "z_to_inplane_ratio",
    "z_high_frequency",
)
"""The named per-volume statistics of :func:`volume_z_profile`, in this order."""

GRADIENT_EDGES = np.linspace(0.0, 100.0, 201)
"""Histogram bins of the z-gradient (HU/mm), 0.5 HU/mm wide; larger values count in the last bin. (Inside the body
most z-gradients are a few HU/mm: soft tissue noise of 15 HU over 8 mm slices is about 2 HU/mm.)"""
HIGH_FREQUENCY_FROM = 0.5
"""The high-frequency band along z starts at this fraction of the grid's Nyquist frequency."""
REFORMAT_QUANTILES = (25, 50, 75)
MIN_SLICES = 4
MIN_PROFILES = 16
"""Fewer pixels inside the body in every slice leave the high-frequency fraction undefined (NaN)."""
BOOTSTRAP = 1000
CI_LEVEL = 0.95


class ZConsistencyError(ValueError):
    """A volume or pool the measure cannot use (too few slices, an empty pool); one line."""


@dataclass(frozen=True)
class VolumeGrid:
    """The grid every volume of a comparison is resampled to: slice spacing and square in-plane pixel (mm)."""

    slice_mm: float
    pixel_mm: float

    def __post_init__(self):
        if not (self.slice_mm > 0 and self.pixel_mm > 0):
            raise ZConsistencyError(
                f"grid spacings must be positive, got {self.slice_mm} and {self.pixel_mm}"
            )


def common_grid(spacings: Sequence[tuple[float, float, float]]) -> VolumeGrid:
    """The coarsest slice spacing and in-plane pixel among ``(slice, row, column)`` spacings (mm): no volume is
    upsampled along any axis, so none gains apparent smoothness from interpolation."""
    if not spacings:
        raise ZConsistencyError("no volumes to take a grid from")
    return VolumeGrid(
        slice_mm=float(max(s for s, _, _ in spacings)), pixel_mm=float(max(max(r, c) for _, r, c in spacings))
    )


def resample_volume(
    hu: np.ndarray, *, slice_mm: float, row_mm: float, column_mm: float, grid: VolumeGrid
) -> np.ndarray:
    """``(z, rows, columns)`` HU resampled to ``grid`` by trilinear interpolation (float32, clipped to the HU
    range); the field of view is kept, the number of samples along each axis follows from it."""
    hu = np.asarray(hu, dtype=np.float32)
    if hu.ndim != 3:
        raise ZConsistencyError(f"a volume must be (slices, rows, columns), got shape {hu.shape}")
    factors = (slice_mm / grid.slice_mm, row_mm / grid.pixel_mm, column_mm / grid.pixel_mm)
    if np.allclose(factors, 1.0):
        return np.clip(hu, HU_MIN, HU_MAX)
    shape = tuple(max(1, round(n * f)) for n, f in zip(hu.shape, factors, strict=True))
    zoom = tuple(new / old for new, old in zip(shape, hu.shape, strict=True))
    resampled = scipy.ndimage.zoom(hu, zoom, order=1, mode="nearest", grid_mode=True)
    return np.clip(resampled, HU_MIN, HU_MAX)


@dataclass(frozen=True)
class VolumeZProfile:
    """One volume's consistency along z: ``statistics`` (``Z_STATISTICS`` by name), the z-gradient histogram
    (counts over ``GRADIENT_EDGES``) and the radiomic features of its coronal and sagittal reformats
    (``(6, FEATURE_COUNT)``, or fewer rows when the body is too small)."""

    statistics: dict[str, float]
    gradient_histogram: np.ndarray
    reformat_features: np.ndarray = field(repr=False)
    slices: int = 0

    def vector(self) -> np.ndarray:
        return np.array([self.statistics[name] for name in Z_STATISTICS])


def _body_masks(volume: np.ndarray) -> np.ndarray:
    return np.stack([slice_mask(hu) for hu in volume])


def reformats(volume: np.ndarray, masks: np.ndarray, grid: VolumeGrid) -> list[np.ndarray]:
    """Coronal (rows fixed) then sagittal (columns fixed) reformats through the body at ``REFORMAT_QUANTILES`` of
    its rows and columns, superior up, resampled along z to square pixels of ``grid.pixel_mm``."""
    body = masks.any(axis=0)
    rows, columns = np.nonzero(body)
    if rows.size == 0:
        rows, columns = np.arange(volume.shape[1]), np.arange(volume.shape[2])
    stretch = grid.slice_mm / grid.pixel_mm
    images = []
    for axis, where in ((1, rows), (2, columns)):
        for quantile in REFORMAT_QUANTILES:
            index = int(np.percentile(where, quantile))
            plane = volume[:, index, :] if axis == 1 else volume[:, :, index]
            height = max(2, round(plane.shape[0] * stretch))
            plane = scipy.ndimage.zoom(plane, (height / plane.shape[0], 1.0), order=1, mode="nearest")
            images.append(np.rint(plane[::-1]).astype(np.int16))
    return images


def volume_z_profile(volume: np.ndarray, grid: VolumeGrid, *, with_reformats: bool = True) -> VolumeZProfile:
    """The consistency along z of one ``(z, rows, columns)`` HU volume already on ``grid`` (see the module)."""
    volume = np.asarray(volume, dtype=np.float32)
    if volume.ndim != 3 or volume.shape[0] < MIN_SLICES:
        raise ZConsistencyError(
            f"a volume needs at least {MIN_SLICES} slices along z, got shape {tuple(volume.shape)}"
        )
    masks = _body_masks(volume)
    pairs = masks[1:] & masks[:-1]
    if not pairs.any():
        raise ZConsistencyError("no pixel lies inside the body in two neighbouring slices")
    gradient = (np.abs(volume[1:] - volume[:-1]) / grid.slice_mm)[pairs]
    across = masks[:, :, 1:] & masks[:, :, :-1]
    in_plane = (np.abs(volume[:, :, 1:] - volume[:, :, :-1]) / grid.pixel_mm)[across]
    in_plane_mean = float(in_plane.mean()) if in_plane.size else float("nan")
    p50, p90, p99 = np.percentile(gradient, [50, 90, 99])
    statistics = {
        "z_gradient_mean": float(gradient.mean()),
        "z_gradient_p50": float(p50),
        "z_gradient_p90": float(p90),
        "z_gradient_p99": float(p99),
        "z_to_inplane_ratio": float(gradient.mean() / in_plane_mean) if in_plane_mean > 0 else float("nan"),
        "z_high_frequency": high_frequency_fraction(volume, masks.all(axis=0)),
    }
    histogram = np.histogram(np.minimum(gradient, GRADIENT_EDGES[-1]), bins=GRADIENT_EDGES)[0]
    features = np.zeros((0, FEATURE_COUNT))
    if with_reformats:
        features = np.stack([slice_radiomics(image) for image in reformats(volume, masks, grid)])
    return VolumeZProfile(statistics, histogram, features, slices=int(volume.shape[0]))


def high_frequency_fraction(volume: np.ndarray, inside: np.ndarray) -> float:
    """The share of the power of the z-profiles of the ``inside`` pixels (each minus its mean) at frequencies
    above ``HIGH_FREQUENCY_FROM`` of Nyquist; NaN with fewer than ``MIN_PROFILES`` pixels or no power."""
    if inside.sum() < MIN_PROFILES:
        return float("nan")
    profiles = volume[:, inside].astype(np.float64)
    profiles -= profiles.mean(axis=0, keepdims=True)
    power = np.abs(np.fft.rfft(profiles, axis=0)) ** 2
    frequency = np.fft.rfftfreq(volume.shape[0])  # cycles per slice; Nyquist = 0.5
    total = power[frequency > 0].sum()
    if total <= 0:
        return float("nan")
    return float(power[frequency > HIGH_FREQUENCY_FROM * 0.5].sum() / total)


# --- Comparing pools ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatisticComparison:
    """A per-volume statistic in a real and a synthetic pool: means and standard deviations (ddof=1 where n > 1),
    the standardised difference (synthetic minus real over the pooled standard deviation; 0 when both are
    constant), the 1-Wasserstein distance between the two sets of values and its bootstrap CI."""

    name: str
    real_mean: float
    synthetic_mean: float
    real_std: float
    synthetic_std: float
    standardised_difference: float
    wasserstein: float
    ci_low: float | None
    ci_high: float | None
    n_real: int
    n_synthetic: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _std(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if values.size > 1 else 0.0


def _bootstrap_ci(statistic, sizes: tuple[int, int], *, replicates: int, seed: int) -> tuple:
    if replicates <= 0:
        return None, None
    rng = np.random.default_rng([seed, 28])
    values = np.array(
        [
            statistic(rng.integers(0, sizes[0], sizes[0]), rng.integers(0, sizes[1], sizes[1]))
            for _ in range(replicates)
        ]
    )
    values = values[np.isfinite(values)]
    if values.size < replicates / 2:
        return None, None
    tail = (1 - CI_LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def compare_statistic(
    name: str, real: Sequence[float], synthetic: Sequence[float], *, bootstrap: int = BOOTSTRAP, seed: int = 0
) -> StatisticComparison:
    """How a per-volume statistic differs between a real and a synthetic pool (NaN values left out): the
    1-Wasserstein distance (``scipy.stats.wasserstein_distance``) with a CI from resampling the volumes of each
    pool, and the standardised difference."""
    real = np.asarray(real, dtype=np.float64)
    synthetic = np.asarray(synthetic, dtype=np.float64)
    real, synthetic = real[np.isfinite(real)], synthetic[np.isfinite(synthetic)]
    if real.size == 0 or synthetic.size == 0:
        raise ZConsistencyError(f"{name}: no value in the {'real' if real.size == 0 else 'synthetic'} pool")
    pooled = np.sqrt((_std(real) ** 2 + _std(synthetic) ** 2) / 2)
    difference = (synthetic.mean() - real.mean()) / pooled if pooled > 0 else 0.0
    low, high = _bootstrap_ci(
        lambda a, b: scipy.stats.wasserstein_distance(real[a], synthetic[b]),
        (real.size, synthetic.size),
        replicates=bootstrap,
        seed=seed,
    )
    return StatisticComparison(
        name=name,
        real_mean=float(real.mean()),
        synthetic_mean=float(synthetic.mean()),
        real_std=_std(real),
        synthetic_std=_std(synthetic),
        standardised_difference=float(difference),
        wasserstein=float(scipy.stats.wasserstein_distance(real, synthetic)),
        ci_low=low,
        ci_high=high,
        n_real=int(real.size),
        n_synthetic=int(synthetic.size),
    )


def histogram_wasserstein(a: np.ndarray, b: np.ndarray, edges: np.ndarray = GRADIENT_EDGES) -> float:
    """1-Wasserstein distance between two histograms over the same ``edges``, mass at the bin centres:
    ``sum |CDF_a - CDF_b| * bin width``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.sum() <= 0 or b.sum() <= 0:
        return float("nan")
    gap = np.abs(np.cumsum(a / a.sum()) - np.cumsum(b / b.sum()))[:-1]
    return float((gap * np.diff((edges[:-1] + edges[1:]) / 2)).sum())


def gradient_distribution_distance(
    real: np.ndarray, synthetic: np.ndarray, *, bootstrap: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float | None, float | None]:
    """The 1-Wasserstein distance (HU/mm) between the pooled z-gradient histograms of two pools (``(n, bins)``
    counts, one row per volume), and its bootstrap CI resampling volumes."""
    real, synthetic = np.atleast_2d(real), np.atleast_2d(synthetic)
    value = histogram_wasserstein(real.sum(axis=0), synthetic.sum(axis=0))
    low, high = _bootstrap_ci(
        lambda a, b: histogram_wasserstein(real[a].sum(axis=0), synthetic[b].sum(axis=0)),
        (len(real), len(synthetic)),
        replicates=bootstrap,
        seed=seed,
    )
    return value, low, high


def reformat_radiomic_distance(reference: np.ndarray, other: np.ndarray) -> float:
    """Fréchet distance between the reformat radiomic features of two pools (``(n, FEATURE_COUNT)`` each, n >= 2),
    z-scored by ``reference`` (as the axial radiomic Fréchet distance, :mod:`metrics.measures.layerwise`)."""
    if len(reference) < 2 or len(other) < 2:
        raise ZConsistencyError("the reformat radiomic distance needs at least 2 reformats in each pool")
    reference, other = standardise(reference, other)
    return frechet_distance(*feature_statistics(reference), *feature_statistics(other))


# --- The stored scores ----------------------------------------------------------------------------------------

VOLUME_SCOPE = "whole volumes"
_STATISTIC_OF = {"z_to_inplane_w1": "z_to_inplane_ratio", "z_high_frequency_w1": "z_high_frequency"}


def _pooled_histogram(profiles: Sequence[VolumeZProfile]) -> list[float]:
    total = np.sum([profile.gradient_histogram for profile in profiles], axis=0).astype(np.float64)
    return [round(float(value), 6) for value in total / max(total.sum(), 1.0)]


def volume_scores(
    reference: Sequence[VolumeZProfile],
    held_out: Sequence[VolumeZProfile],
    synthetic: Sequence[VolumeZProfile],
    *,
    grid: VolumeGrid,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> list[MetricScore]:
    """The ``VOLUME_METRICS`` rows (:class:`metrics.measures.layerwise.MetricScore`, layer ``AVERAGE_LAYER``) of a
    model: each distance between the reference half of the real volumes and the synthetic ones (``value``) and
    between the reference and the held-out half (``baseline``), as the per-layer metrics; ``detail`` holds the
    CI of the value, the comparison of every real volume with the synthetic ones (means, standardised
    differences) and the pooled z-gradient histograms."""
    sizes = (len(synthetic), len(reference), len(held_out))
    detail = {
        "scope": VOLUME_SCOPE,
        "unit": "volumes",
        "grid": {"slice_mm": grid.slice_mm, "pixel_mm": grid.pixel_mm},
    }
    if not synthetic or len(reference) < 1 or len(held_out) < 1:
        reason = "no synthetic volume" if not synthetic else "the real CT needs volumes in both halves"
        return unavailable_scores(AVERAGE_LAYER, reason, sizes=sizes, metrics=VOLUME_METRICS, detail=detail)
    real = [*reference, *held_out]

    def values(profiles, name):
        return [profile.statistics[name] for profile in profiles]

    comparisons = {}
    for name in Z_STATISTICS:  # a statistic undefined (NaN) in every volume of a pool is left out
        try:
            comparisons[name] = compare_statistic(
                name, values(real, name), values(synthetic, name), bootstrap=bootstrap, seed=seed
            )
        except ZConsistencyError:
            continue
    summary = {
        **detail,
        "statistics": {name: comparison.to_dict() for name, comparison in comparisons.items()},
    }
    scores = []
    histogram = np.stack([profile.gradient_histogram for profile in reference])
    value, low, high = gradient_distribution_distance(
        histogram, np.stack([p.gradient_histogram for p in synthetic]), bootstrap=bootstrap, seed=seed
    )
    baseline, _, _ = gradient_distribution_distance(
        histogram, np.stack([p.gradient_histogram for p in held_out]), bootstrap=0
    )
    scores.append(
        metric_score(
            AVERAGE_LAYER,
            "z_gradient_w1",
            value,
            baseline,
            sizes,
            detail={
                **summary,
                "ci": [low, high],
                "edges": [float(edge) for edge in GRADIENT_EDGES],
                "real_histogram": _pooled_histogram(real),
                "synthetic_histogram": _pooled_histogram(synthetic),
            },
        )
    )
    for metric, statistic in _STATISTIC_OF.items():
        ref, held, fake = (
            values(reference, statistic),
            values(held_out, statistic),
            values(synthetic, statistic),
        )
        try:
            model = compare_statistic(statistic, ref, fake, bootstrap=bootstrap, seed=seed)
            base = compare_statistic(statistic, ref, held, bootstrap=0)
        except ZConsistencyError as exc:
            scores.extend(
                unavailable_scores(AVERAGE_LAYER, str(exc), sizes=sizes, metrics=(metric,), detail=detail)
            )
            continue
        scores.append(
            metric_score(
                AVERAGE_LAYER,
                metric,
                model.wasserstein,
                base.wasserstein,
                sizes,
                detail={
                    **detail,
                    "ci": [model.ci_low, model.ci_high],
                    "comparison": comparisons[statistic].to_dict() if statistic in comparisons else None,
                },
            )
        )
    ref_features = np.concatenate([p.reformat_features for p in reference])
    held_features = np.concatenate([p.reformat_features for p in held_out])
    fake_features = np.concatenate([p.reformat_features for p in synthetic])
    try:
        model_fd = reformat_radiomic_distance(ref_features, fake_features)
        base_fd = reformat_radiomic_distance(ref_features, held_features)
    except ZConsistencyError as exc:
        scores.extend(
            unavailable_scores(
                AVERAGE_LAYER, str(exc), sizes=sizes, metrics=("reformat_radiomic_fd",), detail=detail
            )
        )
    else:
        scores.append(
            metric_score(
                AVERAGE_LAYER,
                "reformat_radiomic_fd",
                model_fd,
                base_fd,
                sizes,
                detail={
                    **detail,
                    "reformats": {
                        "reference": len(ref_features),
                        "held_out": len(held_features),
                        "synthetic": len(fake_features),
                    },
                    "standardised_by": "reference half",
                },
            )
        )
    return scores
