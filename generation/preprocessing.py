"""The array steps around a generator's forward pass: MRI normalisation, resizing, and tanh output to HU.

Pure NumPy/PyTorch, no Django. The same functions serve generation and training, so a checkpoint sees at
inference exactly the input scaling it was trained on.
"""

import numpy as np
import torch
from torch.nn import functional

from generation.vocabulary import (  # noqa: F401  (re-exported: the steps and their vocabulary in one place)
    DEFAULT_NORMALISATION,
    HU_RANGE_DEFAULT,
    NORMALISATION_RULES,
    NormalisationRule,
    check_hu_range,
    normalisation_rule,
    parse_hu_range,
)


def normalise_volume(volume: np.ndarray, rule: str | NormalisationRule) -> np.ndarray:
    """MRI volume (slices, rows, columns), any real dtype, to float32 in [-1, 1] by `rule`.

    A volume whose two percentiles coincide (blank) maps to -1 everywhere rather than dividing by zero.
    """
    rule = rule if isinstance(rule, NormalisationRule) else normalisation_rule(rule)
    values = np.asarray(volume, dtype=np.float32)
    if values.size == 0:
        return values.copy()
    low, high = np.percentile(values, [rule.low_percentile, rule.high_percentile])
    if not np.isfinite([low, high]).all():
        raise ValueError("MRI volume holds NaN or infinite values")
    if high <= low:
        return np.full(values.shape, -1.0, dtype=np.float32)
    scaled = (values - np.float32(low)) * np.float32(2.0 / (high - low)) - np.float32(1.0)
    return np.clip(scaled, -1.0, 1.0, out=scaled)


def resize_batch(images: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """(B, C, H, W) float images resized to `size` (bilinear, antialiased when shrinking); unchanged if equal."""
    target = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(images.shape[-2:]) == target:
        return images
    return functional.interpolate(images, size=target, mode="bilinear", align_corners=False, antialias=True)


def tanh_to_hu(output: torch.Tensor, hu_min: int, hu_max: int) -> torch.Tensor:
    """Generator output in [-1, 1] to HU as int16: -1 -> hu_min, 1 -> hu_max, linear between, rounded.

    Runs where `output` lives (on the GPU, half the bytes travel back); values outside [-1, 1] are clipped.
    """
    scale = (hu_max - hu_min) / 2.0
    hu = (output.float() + 1.0) * scale + hu_min
    return hu.round_().clamp_(hu_min, hu_max).to(torch.int16)


def hu_to_tanh(hu: np.ndarray, hu_min: int, hu_max: int) -> np.ndarray:
    """CT HU to float32 in [-1, 1] (the inverse of `tanh_to_hu`), clipped to the range first."""
    values = np.clip(np.asarray(hu, dtype=np.float32), hu_min, hu_max)
    return (values - np.float32(hu_min)) * np.float32(2.0 / (hu_max - hu_min)) - np.float32(1.0)
