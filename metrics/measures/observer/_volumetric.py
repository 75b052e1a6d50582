"""The volumetric observer's features: what a slice's neighbours along z give away, one row per pool slice.

The 2-D observers see one displayed slice; a radiologist scrolls and reformats. For each slice of the pool the
volumetric observer reads a slab of ``2 * SLAB_HALF + 1`` slices centred on it (fewer at the ends of a volume),
on the grid every volume of the comparison was resampled to (:mod:`metrics.measures.zconsistency`), and
describes it by the z-gradient inside the body, its ratio to the in-plane gradient, the high-frequency power
along z, and the texture (GLCM contrast, HU) of the coronal and sagittal reformats through the body's centre.
The same logistic regression and the same cross-validation grouped by patient as the interpretable observer
(:func:`metrics.measures.observer.interpretable_observer`) then tell real from synthetic.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from metrics.measures.observer._features import Feature
from metrics.measures.observer._pools import ObserverInputError
from metrics.measures.radiomics import (
    BIN_WIDTH_HU,
    glcm_level_count,
    masked_glcm_features,
    quantise,
    slice_mask,
)
from metrics.measures.zconsistency import VolumeGrid, high_frequency_fraction

__all__ = ["SLAB_HALF", "VOLUME_FEATURES", "slab_features", "slab_around"]

SLAB_HALF = 3
"""Slices each side of the pool slice: a slab of 7 slices (49 mm on a 7 mm grid)."""
MIN_SLAB = 3

VOLUME_FEATURES = (
    Feature(
        "z_gradient_mean",
        "mean z-gradient",
        "HU/mm",
        "Mean |HU difference| between neighbouring slices per mm, inside the body.",
        "change less from slice to slice: z-gradient {synthetic} vs {real}",
        "change more from slice to slice: z-gradient {synthetic} vs {real}",
        2,
    ),
    Feature(
        "z_gradient_p90",
        "90th percentile z-gradient",
        "HU/mm",
        "90th percentile of |HU difference| between neighbouring slices per mm, inside the body.",
        "have fewer steps along z: 90th percentile z-gradient {synthetic} vs {real}",
        "have more steps along z: 90th percentile z-gradient {synthetic} vs {real}",
        2,
    ),
    Feature(
        "z_to_inplane_ratio",
        "z-to-in-plane gradient ratio",
        "",
        "Mean z-gradient over mean in-plane gradient inside the body (1: isotropic).",
        "are smoother along z than across: z-to-in-plane ratio {synthetic} vs {real}",
        "jump more along z than across: z-to-in-plane ratio {synthetic} vs {real}",
        2,
    ),
    Feature(
        "z_high_frequency",
        "high-frequency power along z",
        "",
        "Share of the power of the body's z-profiles above half the Nyquist frequency.",
        "vary less quickly along z: high-frequency share {synthetic} vs {real}",
        "flicker along z: high-frequency share {synthetic} vs {real}",
        3,
    ),
    Feature(
        "coronal_contrast",
        "coronal GLCM contrast",
        "",
        "GLCM contrast (25 HU bins) of the coronal reformat through the body's centre.",
        "have smoother coronal reformats: GLCM contrast {synthetic} vs {real}",
        "have rougher coronal reformats: GLCM contrast {synthetic} vs {real}",
        2,
    ),
    Feature(
        "sagittal_contrast",
        "sagittal GLCM contrast",
        "",
        "GLCM contrast (25 HU bins) of the sagittal reformat through the body's centre.",
        "have smoother sagittal reformats: GLCM contrast {synthetic} vs {real}",
        "have rougher sagittal reformats: GLCM contrast {synthetic} vs {real}",
        2,
    ),
)


def slab_around(volume: np.ndarray, index: int, half: int = SLAB_HALF) -> np.ndarray:
    """The slices ``index - half .. index + half`` of a ``(z, rows, columns)`` volume, cut at its ends."""
    index = int(np.clip(index, 0, len(volume) - 1))
    return volume[max(0, index - half) : index + half + 1]


def _glcm_contrast(plane: np.ndarray) -> float:
    mask = slice_mask(plane)
    low, high = float(np.min(plane)), float(np.max(plane)) + BIN_WIDTH_HU
    levels = quantise(plane, mask, low=low, high=high, bin_width=BIN_WIDTH_HU)
    return float(
        masked_glcm_features(levels, glcm_level_count(low=low, high=high, bin_width=BIN_WIDTH_HU))[0]
    )


def slab_features(slab: np.ndarray, grid: VolumeGrid) -> np.ndarray:
    """The ``VOLUME_FEATURES`` of one ``(k, rows, columns)`` HU slab on ``grid``, k >= ``MIN_SLAB``."""
    slab = np.asarray(slab, dtype=np.float32)
    if slab.ndim != 3 or slab.shape[0] < MIN_SLAB:
        raise ObserverInputError(f"a slab needs at least {MIN_SLAB} slices, got shape {slab.shape}")
    masks = np.stack([slice_mask(hu) for hu in slab])
    pairs = masks[1:] & masks[:-1]
    if not pairs.any():
        pairs = np.ones_like(pairs)
    gradient = (np.abs(slab[1:] - slab[:-1]) / grid.slice_mm)[pairs]
    across = masks[:, :, 1:] & masks[:, :, :-1]
    in_plane = (np.abs(slab[:, :, 1:] - slab[:, :, :-1]) / grid.pixel_mm)[across]
    ratio = gradient.mean() / in_plane.mean() if in_plane.size and in_plane.mean() > 0 else 0.0
    high = high_frequency_fraction(slab, masks.all(axis=0))
    rows, columns = np.nonzero(masks.any(axis=0))
    row = int(np.median(rows)) if rows.size else slab.shape[1] // 2
    column = int(np.median(columns)) if columns.size else slab.shape[2] // 2
    stretch = grid.slice_mm / grid.pixel_mm
    contrasts = []
    for plane in (slab[:, row, :], slab[:, :, column]):
        height = max(2, round(plane.shape[0] * stretch))
        square = scipy.ndimage.zoom(plane, (height / plane.shape[0], 1.0), order=1, mode="nearest")
        contrasts.append(_glcm_contrast(square))
    return np.array(
        [
            gradient.mean(),
            np.percentile(gradient, 90),
            ratio,
            0.0 if not np.isfinite(high) else high,
            *contrasts,
        ]
    )
