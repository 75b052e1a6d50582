"""Generation's vocabulary: generator architectures, MRI normalisation rules and the CT range of a checkpoint.

Pure Python and NumPy (no torch, no Django), so models, forms and commands can use it without loading PyTorch.
"""

from dataclasses import dataclass

import numpy as np

from imaging.constants import HU_RANGE, MR_MODALITIES


class CheckpointRefused(ValueError):
    """A checkpoint file or declaration that cannot be registered; the message is one line saying why."""


RESNET = "resnet"
MULTIMODAL = "multimodal"
ARCHITECTURES = (RESNET, MULTIMODAL)

HU_RANGE_DEFAULT = HU_RANGE
"""The CT range a tanh output of -1 .. 1 maps to unless a checkpoint declares another (12 bits from -1024)."""

INPUT_MODALITIES = MR_MODALITIES


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
NORMALISATION_CHOICES = [(rule.name, rule.label) for rule in NORMALISATION_RULES.values()]


def normalisation_rule(name: str) -> NormalisationRule:
    """The rule called `name`; ValueError (one line, listing the known names) for any other."""
    try:
        return NORMALISATION_RULES[name]
    except KeyError:
        known = ", ".join(NORMALISATION_RULES)
        raise ValueError(f"unknown normalisation rule {name!r}; known rules: {known}") from None


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
