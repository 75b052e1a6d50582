"""The interpretable observer's image features: what a radiologist could name, computed inside the body.

Each feature is one number per displayed slice. The body is :func:`studies.rendering.body_mask` of the displayed
slice (the largest region denser than -500 HU, holes filled); the noise feature uses that mask eroded by one
pixel, so that the Laplacian never straddles the body's outline.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.ndimage
from threadpoolctl import threadpool_limits

from imaging.constants import HU_MAX, HU_MIN
from metrics.measures.distribution import TISSUE_EDGES_HU, radial_average
from metrics.measures.radiomics import (
    BIN_WIDTH_HU,
    MIN_BODY_PIXELS,
    first_order_features,
    glcm_level_count,
    masked_glcm_features,
    quantise,
)
from studies.rendering import body_mask

__all__ = ["FEATURES", "FEATURE_NAMES", "Feature", "observer_features", "slice_features"]

HISTOGRAM_BIN_HU = 10
SPECTRAL_BAND = (0.1, 0.45)
"""Cycles per pixel over which the spectral slope is fitted: above the anatomy, up to just below Nyquist."""


@dataclass(frozen=True)
class Feature:
    """One image feature: its code, what to call it in a sentence, its unit, how to print it, and the sentence
    that describes synthetic slices when their median is ``lower`` or ``higher`` than the real slices'
    (``{synthetic}`` and ``{real}`` are the formatted medians)."""

    name: str
    label: str
    unit: str
    description: str
    lower: str
    higher: str
    digits: int = 0

    def format(self, value: float) -> str:
        number = f"{value:.{self.digits}f}"
        return f"{number} {self.unit}" if self.unit else number


FEATURES = (
    Feature(
        "hu_mean",
        "mean HU",
        "HU",
        "Mean HU inside the body.",
        "are darker: mean {synthetic} vs {real}",
        "are brighter: mean {synthetic} vs {real}",
    ),
    Feature(
        "hu_std",
        "HU spread",
        "HU",
        "Standard deviation of HU inside the body.",
        "have less contrast: HU spread {synthetic} vs {real}",
        "have more contrast: HU spread {synthetic} vs {real}",
    ),
    Feature(
        "hu_skewness",
        "HU skewness",
        "",
        "Skewness of HU inside the body.",
        "have a lower HU skewness: {synthetic} vs {real}",
        "have a higher HU skewness: {synthetic} vs {real}",
        2,
    ),
    Feature(
        "hu_kurtosis",
        "HU kurtosis",
        "",
        "Excess kurtosis of HU inside the body.",
        "have lighter HU tails: kurtosis {synthetic} vs {real}",
        "have heavier HU tails: kurtosis {synthetic} vs {real}",
        1,
    ),
    Feature(
        "hu_p10",
        "10th HU percentile",
        "HU",
        "10th percentile of HU inside the body.",
        "have darker low-density tissue: 10th HU percentile {synthetic} vs {real}",
        "have brighter low-density tissue: 10th HU percentile {synthetic} vs {real}",
    ),
    Feature(
        "hu_median",
        "median HU",
        "HU",
        "Median HU inside the body.",
        "are darker: median {synthetic} vs {real}",
        "are brighter: median {synthetic} vs {real}",
    ),
    Feature(
        "hu_p90",
        "90th HU percentile",
        "HU",
        "90th percentile of HU inside the body.",
        "have darker dense tissue: 90th HU percentile {synthetic} vs {real}",
        "have brighter dense tissue: 90th HU percentile {synthetic} vs {real}",
    ),
    Feature(
        "noise",
        "noise",
        "HU",
        "Median absolute 4-neighbour Laplacian inside the body eroded by one pixel (for white noise of "
        "standard deviation s it is about 3 s).",
        "are smoother: noise {synthetic} vs {real}",
        "are noisier: noise {synthetic} vs {real}",
    ),
    Feature(
        "distinct_hu_values",
        "distinct HU values",
        "",
        "Number of distinct integer HU values inside the body.",
        "use fewer distinct HU values: {synthetic} vs {real}",
        "use more distinct HU values: {synthetic} vs {real}",
    ),
    Feature(
        "histogram_entropy",
        "histogram entropy",
        "bits",
        f"Entropy of the HU histogram inside the body, {HISTOGRAM_BIN_HU} HU bins.",
        "have a narrower HU histogram: entropy {synthetic} vs {real}",
        "have a wider HU histogram: entropy {synthetic} vs {real}",
        2,
    ),
    Feature(
        "air_fraction",
        "share of air and lung",
        "",
        f"Fraction of body pixels below {TISSUE_EDGES_HU[0]} HU (lung, bowel gas).",
        "hold less air and lung: {synthetic} vs {real} of the body",
        "hold more air and lung: {synthetic} vs {real} of the body",
        3,
    ),
    Feature(
        "bone_fraction",
        "share of bone",
        "",
        f"Fraction of body pixels at or above {TISSUE_EDGES_HU[1]} HU (bone, dense contrast).",
        "hold less bone: {synthetic} vs {real} of the body",
        "hold more bone: {synthetic} vs {real} of the body",
        3,
    ),
    Feature(
        "glcm_contrast",
        "GLCM contrast",
        "",
        f"GLCM contrast (scikit-image), {BIN_WIDTH_HU} HU grey levels, distance 1, four directions averaged.",
        "have less fine texture: GLCM contrast {synthetic} vs {real}",
        "have more fine texture: GLCM contrast {synthetic} vs {real}",
        2,
    ),
    Feature(
        "glcm_homogeneity",
        "GLCM homogeneity",
        "",
        "GLCM homogeneity (scikit-image), as GLCM contrast.",
        "are less homogeneous: GLCM homogeneity {synthetic} vs {real}",
        "are more homogeneous: GLCM homogeneity {synthetic} vs {real}",
        3,
    ),
    Feature(
        "glcm_asm",
        "GLCM angular second moment",
        "",
        "GLCM angular second moment, as GLCM contrast.",
        "are less uniform: GLCM ASM {synthetic} vs {real}",
        "are more uniform: GLCM ASM {synthetic} vs {real}",
        4,
    ),
    Feature(
        "glcm_correlation",
        "GLCM correlation",
        "",
        "GLCM correlation, as GLCM contrast.",
        "have less correlated neighbours: GLCM correlation {synthetic} vs {real}",
        "have more correlated neighbours: GLCM correlation {synthetic} vs {real}",
        3,
    ),
    Feature(
        "spectral_slope",
        "spectral slope",
        "",
        f"Slope of log10 power against log10 frequency of the radially averaged spectrum between "
        f"{SPECTRAL_BAND[0]} and {SPECTRAL_BAND[1]} cycles per pixel, outside the body set to its mean.",
        "lose fine detail faster: spectral slope {synthetic} vs {real}",
        "keep more fine detail: spectral slope {synthetic} vs {real}",
        2,
    ),
)
FEATURE_NAMES = tuple(feature.name for feature in FEATURES)
_GLCM_INDEX = {"glcm_contrast": 0, "glcm_homogeneity": 2, "glcm_asm": 3, "glcm_correlation": 4}
_FIRST_ORDER_INDEX = {
    "hu_mean": 0,
    "hu_std": 1,
    "hu_skewness": 2,
    "hu_kurtosis": 3,
    "hu_p10": 4,
    "hu_median": 6,
    "hu_p90": 8,
}


def _spectral_slope(image: np.ndarray, mask: np.ndarray) -> float:
    filled = np.where(mask, image, image[mask].mean()).astype(np.float32)
    filled -= filled.mean()
    power = np.abs(scipy.fft.rfft2(filled, workers=1)) ** 2
    profile = radial_average(power, image.shape)
    frequency = np.arange(profile.size) / max(image.shape)
    band = (frequency >= SPECTRAL_BAND[0]) & (frequency <= SPECTRAL_BAND[1]) & (profile > 0)
    if band.sum() < 2:
        return 0.0
    slope, _ = np.polyfit(np.log10(frequency[band]), np.log10(profile[band]), 1)
    return float(slope)


def slice_features(hu: np.ndarray, *, hu_min: int = HU_MIN) -> np.ndarray:
    """The ``FEATURES`` of one displayed ``(H, W)`` HU slice, in that order."""
    hu = np.asarray(hu)
    image = hu.astype(np.float64)
    mask = body_mask(image.astype(np.float32), hu_min=hu_min)
    if mask.sum() < MIN_BODY_PIXELS:
        mask = np.ones(hu.shape, dtype=bool)
    inside = image[mask]
    first_order = first_order_features(inside, low=HU_MIN)
    values = {name: first_order[index] for name, index in _FIRST_ORDER_INDEX.items()}

    interior = scipy.ndimage.binary_erosion(mask)
    if interior.sum() < MIN_BODY_PIXELS:
        interior = mask
    laplacian = scipy.ndimage.laplace(image, mode="nearest")
    values["noise"] = float(np.median(np.abs(laplacian[interior])))
    integers = np.rint(inside).astype(np.int64)
    values["distinct_hu_values"] = float(np.count_nonzero(np.bincount(integers - integers.min())))
    bins = np.floor((inside - HU_MIN) / HISTOGRAM_BIN_HU).astype(np.int64)
    p = np.bincount(bins - bins.min()) / inside.size
    p = p[p > 0]
    values["histogram_entropy"] = float(-(p * np.log2(p)).sum())
    values["air_fraction"] = float(np.mean(inside < TISSUE_EDGES_HU[0]))
    values["bone_fraction"] = float(np.mean(inside >= TISSUE_EDGES_HU[1]))

    n_levels = glcm_level_count(low=HU_MIN, high=HU_MAX, bin_width=BIN_WIDTH_HU)
    levels = quantise(image, mask, low=HU_MIN, high=HU_MAX, bin_width=BIN_WIDTH_HU)
    glcm = masked_glcm_features(levels, n_levels)
    values.update({name: glcm[index] for name, index in _GLCM_INDEX.items()})
    values["spectral_slope"] = _spectral_slope(image, mask)
    return np.array([values[name] for name in FEATURE_NAMES], dtype=np.float64)


def _default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def observer_features(hu: np.ndarray, *, hu_min: int = HU_MIN, workers: int | None = None) -> np.ndarray:
    """``(n, len(FEATURES))`` features of ``(n, H, W)`` displayed slices, on ``workers`` threads."""
    hu = np.asarray(hu)
    workers = max(1, int(workers or _default_workers()))

    def one(index: int) -> np.ndarray:
        return slice_features(hu[index], hu_min=hu_min)

    with threadpool_limits(
        limits=1, user_api="blas"
    ):  # the slices run in parallel; BLAS threads would compete
        if workers == 1 or len(hu) < 2:
            rows = [one(index) for index in range(len(hu))]
        else:
            with ThreadPoolExecutor(workers) as pool:
                rows = list(pool.map(one, range(len(hu))))
    return np.stack(rows) if rows else np.zeros((0, len(FEATURES)))
