"""Paired metrics of synthetic CT against the real CT of the same patient, registered: MAE, PSNR and MS-SSIM inside
the body mask, per slice and per patient (SynthRAD-style). Pure NumPy/SciPy; no Django.

Only meaningful when a real CT and an MRI volume are the same patient registered to each other (phantom patients are:
both are drawn from one anatomy). The body mask is :func:`studies.rendering.body_mask` of the *real* slice.

- MAE: mean |synthetic - real| HU over the mask;
- PSNR: ``10 log10(DATA_RANGE_HU**2 / MSE)`` over the mask, data range 4000 HU;
- MS-SSIM (Wang, Simoncelli and Bovik 2003): SSIM with an 11-tap Gaussian window (sigma 1.5, scikit-image's
  ``gaussian_weights=True``), K1 0.01, K2 0.03, data range 4000 HU, at up to five scales halved by 2x2 averaging;
  contrast-structure at every scale and luminance at the coarsest, each averaged over the mask at that scale (the mask
  averaged 2x2 too, a pixel counting when at least half of it is body), weights (0.0448, 0.2856, 0.3001, 0.2363,
  0.1333). A slice too small for five scales (a side under 176 pixels) uses as many as fit with a side of at least
  11 pixels, with the first weights renormalised to sum 1: MS-SSIM values of different matrix sizes are not
  comparable.

Per patient, MAE and PSNR pool every masked pixel of the patient's slices; MS-SSIM is the mean over its slices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.ndimage

from imaging.constants import HU_MIN
from studies.rendering import body_mask

DATA_RANGE_HU = 4000.0
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5  # an 11-tap window, as scikit-image
MIN_SCALE_SIDE = 11
K1, K2 = 0.01, 0.03


class PairedMetricsError(ValueError):
    """Slices that cannot be compared (shapes differ, empty mask); one line."""


def _ssim_maps(x: np.ndarray, y: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Luminance and contrast-structure maps of SSIM (population covariances, Gaussian window, reflect)."""

    def blur(image):
        return scipy.ndimage.gaussian_filter(image, SSIM_SIGMA, truncate=SSIM_TRUNCATE, mode="reflect")

    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    luminance = (2 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    contrast_structure = (2 * cov + c2) / (var_x + var_y + c2)
    return luminance, contrast_structure


def ssim_map(x: np.ndarray, y: np.ndarray, *, data_range: float = DATA_RANGE_HU) -> np.ndarray:
    """The SSIM map of two images (scikit-image's ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, full=True)`` map)."""
    luminance, contrast_structure = _ssim_maps(
        np.asarray(x, np.float64), np.asarray(y, np.float64), data_range
    )
    return luminance * contrast_structure


def _halve(image: np.ndarray) -> np.ndarray:
    rows, columns = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    image = image[:rows, :columns]
    return (image[0::2, 0::2] + image[1::2, 0::2] + image[0::2, 1::2] + image[1::2, 1::2]) / 4


def ms_ssim_scales(shape: tuple[int, int]) -> int:
    """How many MS-SSIM scales a slice of ``shape`` allows (1..5)."""
    side = min(shape)
    scales = 1
    while scales < len(MS_SSIM_WEIGHTS) and side // 2**scales >= MIN_SCALE_SIDE:
        scales += 1
    return scales


def masked_ms_ssim(
    real: np.ndarray, synthetic: np.ndarray, mask: np.ndarray, *, data_range: float = DATA_RANGE_HU
) -> float:
    """MS-SSIM of ``synthetic`` against ``real`` inside ``mask`` (see the module docstring)."""
    x, y = np.asarray(real, np.float64), np.asarray(synthetic, np.float64)
    weight_mask = np.asarray(mask, np.float64)
    scales = ms_ssim_scales(x.shape)
    weights = np.array(MS_SSIM_WEIGHTS[:scales])
    if scales < len(MS_SSIM_WEIGHTS):  # the full set is Wang et al.'s as published (summing to 0.9999)
        weights /= weights.sum()
    value = 1.0
    for scale in range(scales):
        inside = weight_mask >= 0.5
        if not inside.any():
            raise PairedMetricsError(f"the body mask has no pixel at MS-SSIM scale {scale + 1}")
        luminance, contrast_structure = _ssim_maps(x, y, data_range)
        term = contrast_structure if scale < scales - 1 else luminance * contrast_structure
        value *= max(float(term[inside].mean()), 0.0) ** weights[scale]
        x, y, weight_mask = _halve(x), _halve(y), _halve(weight_mask)
    return value


@dataclass(frozen=True)
class SliceComparison:
    """One synthetic slice against its real slice: MAE (HU), PSNR (dB), MS-SSIM, and the pixels compared."""

    patient: str
    mae: float
    psnr: float
    ms_ssim: float
    pixels: int
    squared_error_sum: float
    absolute_error_sum: float


@dataclass(frozen=True)
class PatientComparison:
    patient: str
    slices: int
    mae: float
    psnr: float
    ms_ssim: float


def _psnr(mse: float, data_range: float) -> float:
    return math.inf if mse == 0 else 10 * math.log10(data_range**2 / mse)


def compare_slice(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    patient: str = "",
    mask: np.ndarray | None = None,
    data_range: float = DATA_RANGE_HU,
) -> SliceComparison:
    """MAE, PSNR and MS-SSIM of a synthetic slice against the registered real slice, inside the real slice's body
    mask (or ``mask``)."""
    real, synthetic = np.asarray(real, np.float64), np.asarray(synthetic, np.float64)
    if real.shape != synthetic.shape or real.ndim != 2:
        raise PairedMetricsError(
            f"slices must be two images of one shape, got {real.shape} and {synthetic.shape}"
        )
    mask = body_mask(real.astype(np.float32), hu_min=HU_MIN) if mask is None else np.asarray(mask, bool)
    if not mask.any():
        raise PairedMetricsError("the real slice has no body to compare inside")
    difference = (synthetic - real)[mask]
    squared, absolute = float(np.dot(difference, difference)), float(np.abs(difference).sum())
    pixels = int(mask.sum())
    return SliceComparison(
        patient=str(patient),
        mae=absolute / pixels,
        psnr=_psnr(squared / pixels, data_range),
        ms_ssim=masked_ms_ssim(real, synthetic, mask, data_range=data_range),
        pixels=pixels,
        squared_error_sum=squared,
        absolute_error_sum=absolute,
    )


def per_patient(
    slices: Sequence[SliceComparison], *, data_range: float = DATA_RANGE_HU
) -> list[PatientComparison]:
    """Per patient: MAE and PSNR over all its masked pixels, MS-SSIM the mean over its slices."""
    grouped: dict[str, list[SliceComparison]] = {}
    for comparison in slices:
        grouped.setdefault(comparison.patient, []).append(comparison)
    patients = []
    for patient, rows in sorted(grouped.items()):
        pixels = sum(row.pixels for row in rows)
        patients.append(
            PatientComparison(
                patient=patient,
                slices=len(rows),
                mae=sum(row.absolute_error_sum for row in rows) / pixels,
                psnr=_psnr(sum(row.squared_error_sum for row in rows) / pixels, data_range),
                ms_ssim=float(np.mean([row.ms_ssim for row in rows])),
            )
        )
    return patients
