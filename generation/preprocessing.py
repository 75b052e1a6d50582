"""The array steps around a generator's forward pass: MRI normalisation, resizing, and tanh output to HU.

Pure NumPy/PyTorch, no Django. The same functions serve generation and training, so a checkpoint sees at
inference exactly the input scaling it was trained on.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional

HU_RANGE_DEFAULT = (-1024, 3071)
"""The CT range a tanh output of -1 .. 1 maps to unless a checkpoint declares another (12 bits from -1024)."""


@dataclass(frozen=True)
class NormalisationRule:
    """MRI intensities of one volume mapped linearly so that the `low`..`high` percentiles become -1 .. 1,
    values outside clipped. Percentiles are taken over every voxel of the volume, so slices of one volume
    share one scale."""

    name: str
    label: str
    low_percentile: float
    high_percentile: float


NORMALISATION_RULES: dict[str, NormalisationRule] = {
    rule.name: rule
    for rule in (
        NormalisationRule(
            "percentile_0_5_99_5", "Per volume: percentiles 0.5 .. 99.5 to [-1, 1], clipped", 0.5, 99.5
        ),
        NormalisationRule(
            "percentile_1_99", "Per volume: percentiles 1 .. 99 to [-1, 1], clipped", 1.0, 99.0
        ),
        NormalisationRule("min_max", "Per volume: minimum .. maximum to [-1, 1]", 0.0, 100.0),
    )
}
DEFAULT_NORMALISATION = "percentile_0_5_99_5"


def normalisation_rule(name: str) -> NormalisationRule:
    """The rule called `name`; ValueError (one line, listing the known names) for any other."""
    try:
        return NORMALISATION_RULES[name]
    except KeyError:
        known = ", ".join(NORMALISATION_RULES)
        raise ValueError(f"unknown normalisation rule {name!r}; known rules: {known}") from None


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


def check_hu_range(hu_min: int, hu_max: int) -> None:
    """ValueError (one line) unless hu_min < hu_max and both fit in int16."""
    info = np.iinfo(np.int16)
    if not (info.min <= hu_min < hu_max <= info.max):
        raise ValueError(
            f"CT range {hu_min},{hu_max} must be two integers low < high within {info.min}..{info.max}"
        )


def parse_hu_range(text: str) -> tuple[int, int]:
    """'-1024,3071' -> (-1024, 3071); ValueError (one line) for anything else."""
    parts = [part.strip() for part in str(text).split(",")]
    try:
        hu_min, hu_max = (int(part) for part in parts)
    except ValueError:
        raise ValueError(f"CT range must be two integers LOW,HIGH such as -1024,3071, not {text!r}") from None
    check_hu_range(hu_min, hu_max)
    return hu_min, hu_max
