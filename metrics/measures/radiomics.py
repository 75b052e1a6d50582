"""Radiomic features of CT slices inside the body, from scikit-image and NumPy; no Django, no downloaded weights.

The radiomic Fréchet distance and the radiomic KID of :mod:`metrics.measures.layerwise` compare two sets of slices through
these features, as FID and KID compare them through Inception features. Per slice, inside the body mask
(:func:`studies.rendering.body_mask`: the largest region denser than -500 HU, holes filled), on four images:

- ``original``: the slice in HU;
- ``log_sigma1``, ``log_sigma2``, ``log_sigma4``: the slice filtered with a scale-normalised Laplacian of
  Gaussian, ``sigma**2 * LoG_sigma`` (in HU), for sigma 1, 2 and 4 pixels of the compared matrix;

and on each image:

- 12 first-order statistics of the pixels: mean, standard deviation, skewness, excess kurtosis, 10th, 25th, 50th,
  75th and 90th percentiles, mean absolute deviation, entropy and uniformity of the histogram with bins of
  ``BIN_WIDTH_HU`` (25 HU, pyradiomics' default bin width);
- 6 grey-level co-occurrence (GLCM) properties from :func:`skimage.feature.graycoprops`: contrast,
  dissimilarity, homogeneity, angular second moment, correlation and entropy of the symmetric co-occurrence matrix
  of the quantised image (bins of ``BIN_WIDTH_HU``), distance 1 pixel, averaged over the four directions 0, 45,
  90 and 135 degrees; only pairs of pixels that both lie inside the body count.

4 images x 18 = ``FEATURE_COUNT`` (72) features. The LoG images are computed by FFT (periodic boundaries; the
slice minus air is close to zero at the border of a CT slice, so the wrap-around is negligible there). LoG values
are clipped to +-``LOG_CLIP_HU`` for the histograms and the GLCM. Sigma is in pixels, not millimetres: the metrics
resample every slice of a comparison to one matrix first (:func:`metrics.measures.layerwise.match_shape`), so a pixel is the
same size in every set of one comparison, but not across datasets with another field of view.

What this is not: the Fréchet Radiomic Distance v1 of Konz, Osuala et al. (pyradiomics, 5 feature classes on the
original, LoG (sigma 2-5 mm) and wavelet images, about 464 features, a log of the distance); see docs/metrics.md.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft
from skimage.feature import graycomatrix
from threadpoolctl import threadpool_limits

from imaging.constants import HU_MAX, HU_MIN
from metrics.measures.vocabulary import RADIOMIC_FEATURE_COUNT
from studies.rendering import body_mask

BIN_WIDTH_HU = 25
LOG_SIGMAS_PX = (1.0, 2.0, 4.0)
LOG_CLIP_HU = 800.0
GLCM_ANGLES = (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)
MIN_BODY_PIXELS = 16
"""A slice with a smaller body mask (nothing but air) is described by all its pixels instead."""

FIRST_ORDER = (
    "mean",
    "std",
    "skewness",
    "kurtosis",
    "p10",
    "p25",
    "median",
    "p75",
    "p90",
    "mean_absolute_deviation",
    "entropy",
    "uniformity",
)
GLCM_PROPERTIES = ("contrast", "dissimilarity", "homogeneity", "ASM", "correlation", "entropy")
IMAGES = ("original", *(f"log_sigma{sigma:g}" for sigma in LOG_SIGMAS_PX))
FEATURE_NAMES = tuple(
    f"{image}_{group}_{name}"
    for image in IMAGES
    for group, names in (("firstorder", FIRST_ORDER), ("glcm", GLCM_PROPERTIES))
    for name in names
)
FEATURE_COUNT = len(FEATURE_NAMES)
if (
    FEATURE_COUNT != RADIOMIC_FEATURE_COUNT
):  # the metrics' names (metrics.measures.vocabulary) say how many there are
    raise ImportError(
        f"{FEATURE_COUNT} radiomic features, but metrics.measures.vocabulary says {RADIOMIC_FEATURE_COUNT}"
    )
PERCENTILES = (10, 25, 50, 75, 90)


def first_order_features(values: np.ndarray, *, low: float, bin_width: float = BIN_WIDTH_HU) -> np.ndarray:
    """The 12 first-order statistics (``FIRST_ORDER``, in that order) of a 1-D array of pixel values.

    Moments are the population ones (``scipy.stats.skew`` / ``kurtosis`` with ``bias=True``); a constant region
    has skewness and kurtosis 0. The histogram's bins are ``bin_width`` wide, counted from ``low``.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("no pixels to describe")
    mean = values.mean()
    centred = values - mean
    squared = centred * centred  # products, not powers: np.power is several times slower
    m2 = squared.mean()
    if m2 > 0:
        skewness = np.dot(squared, centred) / values.size / m2**1.5
        kurtosis = np.dot(squared, squared) / values.size / m2**2 - 3.0
    else:
        skewness = kurtosis = 0.0
    percentiles = np.percentile(values, PERCENTILES)
    bins = np.floor((values - low) / bin_width).astype(np.intp)
    counts = np.bincount(bins - bins.min())
    p = counts[counts > 0] / values.size
    return np.array(
        [
            mean,
            math.sqrt(m2),
            skewness,
            kurtosis,
            *percentiles,
            np.mean(np.abs(centred)),
            float(-(p * np.log2(p)).sum()),
            float((p * p).sum()),
        ]
    )


def quantise(image: np.ndarray, mask: np.ndarray, *, low: float, high: float, bin_width: float) -> np.ndarray:
    """Grey levels for the GLCM: 1 + the bin of ``clip(image, low, high)`` inside ``mask``, 0 outside."""
    levels = 1 + np.floor((np.clip(image, low, high) - low) / bin_width).astype(np.intp)
    levels[~mask] = 0
    return levels


def glcm_level_count(*, low: float, high: float, bin_width: float) -> int:
    """Grey levels :func:`quantise` can give for that range, counting level 0 (outside the mask)."""
    return 2 + int(math.floor((high - low) / bin_width))


def masked_glcm_features(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """The 6 GLCM properties (``GLCM_PROPERTIES``) of a quantised image whose level 0 marks pixels outside the
    mask: the symmetric co-occurrence counts at distance 1 in four directions, without the pairs that touch
    level 0, each direction normalised by scikit-image and the properties averaged over the directions."""
    counts = graycomatrix(
        levels.astype(np.uint8 if n_levels <= 256 else np.uint16),
        distances=[1],
        angles=list(GLCM_ANGLES),
        levels=n_levels,
        symmetric=True,
    )[1:, 1:]
    directions = counts.sum(axis=(0, 1))[0] > 0
    if not directions.any():  # a mask without two neighbouring pixels: nothing co-occurs
        return np.zeros(len(GLCM_PROPERTIES))
    # only the grey levels that occur matter; the properties do not change when the levels are shifted
    occupied = np.flatnonzero(counts.sum(axis=(1, 2, 3)))
    window = slice(occupied[0], occupied[-1] + 1)
    return glcm_properties(counts[window, window, 0][:, :, directions])


def glcm_properties(counts: np.ndarray) -> np.ndarray:
    """``GLCM_PROPERTIES`` of ``(L, L, k)`` co-occurrence counts (k directions), each direction normalised to
    sum 1, averaged over the directions; the definitions of :func:`skimage.feature.graycoprops` (correlation 1
    where a direction's grey levels do not vary), computed in one pass."""
    counts = np.asarray(counts, dtype=np.float64)
    p = counts / counts.sum(axis=(0, 1), keepdims=True)
    size = p.shape[0]
    i = np.arange(size, dtype=np.float64)[:, None, None]
    j = np.arange(size, dtype=np.float64)[None, :, None]
    difference = (i - j) ** 2
    contrast = (p * difference).sum(axis=(0, 1))
    dissimilarity = (p * np.sqrt(difference)).sum(axis=(0, 1))
    homogeneity = (p / (1.0 + difference)).sum(axis=(0, 1))
    asm = (p * p).sum(axis=(0, 1))
    mean_i = (p * i).sum(axis=(0, 1))
    mean_j = (p * j).sum(axis=(0, 1))
    std_i = np.sqrt((p * (i - mean_i) ** 2).sum(axis=(0, 1)))
    std_j = np.sqrt((p * (j - mean_j) ** 2).sum(axis=(0, 1)))
    covariance = (p * (i - mean_i) * (j - mean_j)).sum(axis=(0, 1))
    flat = (std_i < 1e-15) | (std_j < 1e-15)
    correlation = np.where(flat, 1.0, covariance / np.where(flat, 1.0, std_i * std_j))
    logs = np.log(p, out=np.zeros_like(p), where=p > 0)
    entropy = -(p * logs).sum(axis=(0, 1))
    stacked = np.stack([contrast, dissimilarity, homogeneity, asm, correlation, entropy])
    return stacked.mean(axis=1)


def _log_transfer(shape: tuple[int, int], sigmas: tuple[float, ...]) -> np.ndarray:
    """``sigma**2`` times the Fourier transform of the Laplacian of Gaussian, on the ``rfft2`` grid."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    squared = fy**2 + fx**2
    return np.stack(
        [
            (sigma**2 * -4 * math.pi**2 * squared * np.exp(-2 * math.pi**2 * sigma**2 * squared)).astype(
                np.float32
            )
            for sigma in sigmas
        ]
    )


_TRANSFERS: dict[tuple[tuple[int, int], tuple[float, ...]], np.ndarray] = {}


def laplacian_of_gaussian(
    hu: np.ndarray, sigmas: tuple[float, ...] = LOG_SIGMAS_PX, *, background: float = HU_MIN
) -> np.ndarray:
    """``(len(sigmas), H, W)``: the scale-normalised LoG ``sigma**2 * (d2/dy2 + d2/dx2)(G_sigma * hu)`` of a
    slice, by FFT with periodic boundaries (``background`` is subtracted first, so air borders are about 0)."""
    key = (tuple(hu.shape), tuple(sigmas))
    transfer = _TRANSFERS.get(key)
    if transfer is None:
        transfer = _TRANSFERS.setdefault(key, _log_transfer(hu.shape, tuple(sigmas)))
    spectrum = scipy.fft.rfft2(np.asarray(hu, dtype=np.float32) - np.float32(background), workers=1)
    return scipy.fft.irfft2(spectrum[None] * transfer, s=hu.shape, axes=(-2, -1), workers=1)


def slice_mask(hu: np.ndarray) -> np.ndarray:
    """The body mask the features are computed in (every pixel when the body is smaller than MIN_BODY_PIXELS)."""
    mask = body_mask(np.asarray(hu, dtype=np.float32), hu_min=HU_MIN)
    if mask.sum() < MIN_BODY_PIXELS:
        return np.ones(hu.shape, dtype=bool)
    return mask


def slice_radiomics(hu: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The ``FEATURE_COUNT`` features (``FEATURE_NAMES``, in that order) of one ``(H, W)`` HU slice."""
    hu = np.asarray(hu)
    if hu.ndim != 2 or min(hu.shape) < 2:
        raise ValueError(f"a slice must be a 2-D image, not shape {hu.shape}")
    mask = slice_mask(hu) if mask is None else np.asarray(mask, dtype=bool)
    clipped = np.clip(hu.astype(np.float64), HU_MIN, HU_MAX)
    images = [(clipped, HU_MIN, HU_MAX)]
    for filtered in laplacian_of_gaussian(clipped):
        images.append((np.clip(filtered, -LOG_CLIP_HU, LOG_CLIP_HU), -LOG_CLIP_HU, LOG_CLIP_HU))
    features = []
    for image, low, high in images:
        features.append(first_order_features(image[mask], low=low))
        n_levels = glcm_level_count(low=low, high=high, bin_width=BIN_WIDTH_HU)
        levels = quantise(image, mask, low=low, high=high, bin_width=BIN_WIDTH_HU)
        features.append(masked_glcm_features(levels, n_levels))
    return np.concatenate(features)


def _default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def slice_key(hu: np.ndarray) -> bytes:
    """A digest of a slice's pixels, shape and type: the key of a :func:`radiomic_features` cache (the same
    pixels have the same features, whichever dataset or job they come from)."""
    hu = np.ascontiguousarray(hu)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{hu.dtype.str}{hu.shape}".encode())
    digest.update(hu.data)
    return digest.digest()


def radiomic_features(
    slices: np.ndarray, *, workers: int | None = None, cache: MutableMapping[bytes, np.ndarray] | None = None
) -> np.ndarray:
    """``(k, FEATURE_COUNT)`` features of a ``(k, H, W)`` stack of HU slices, on ``workers`` threads (FFTs,
    scikit-image's GLCM and NumPy's sorting release the GIL); ``workers`` defaults to the usable CPUs.

    ``cache`` (a dict the caller keeps, keyed by :func:`slice_key`) holds features already computed: slices found
    there are not computed again, and new ones are added. BLAS is held to one thread while the slices are
    computed in parallel (its own threads would only compete with them)."""
    slices = np.asarray(slices)
    if slices.ndim == 2:
        slices = slices[None]
    if slices.ndim != 3:
        raise ValueError(f"slices must be (k, rows, columns), got shape {slices.shape}")
    keys = [slice_key(hu) for hu in slices] if cache is not None else None
    rows: list[np.ndarray | None] = [cache.get(key) for key in keys] if keys else [None] * len(slices)
    missing = [index for index, row in enumerate(rows) if row is None]
    workers = max(1, int(workers or _default_workers()))
    with threadpool_limits(limits=1, user_api="blas"):
        if workers == 1 or len(missing) <= 1:
            computed = [slice_radiomics(slices[index]) for index in missing]
        else:
            with ThreadPoolExecutor(workers) as pool:
                computed = list(pool.map(lambda index: slice_radiomics(slices[index]), missing))
    for index, row in zip(missing, computed, strict=True):
        rows[index] = row
        if keys:
            cache[keys[index]] = row
    return np.stack(rows) if rows else np.zeros((0, FEATURE_COUNT))


def standardise(reference: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Z-scores of ``reference`` and ``others`` with the reference's mean and standard deviation (ddof=0); a
    feature constant in the reference keeps its scale (divided by 1), so it adds only its mean difference."""
    reference = np.asarray(reference, dtype=np.float64)
    mean = reference.mean(axis=0)
    scale = reference.std(axis=0)
    scale[~(scale > 0)] = 1.0
    return [(np.asarray(features, dtype=np.float64) - mean) / scale for features in (reference, *others)]
