"""The training data of a run: both domains in memory, and their random crops and flips."""

import math
from dataclasses import dataclass

import numpy as np

from generation.training.setups import TrainingOptions


@dataclass
class TrainingData:
    """Both domains in memory at image_size: MRI (N, n_inputs, S, S) and CT (M, 1, S, S), float32 in [-1, 1]."""

    mri: np.ndarray
    ct: np.ndarray

    def check(self, options: TrainingOptions) -> None:
        size = options.image_size
        if self.mri.ndim != 4 or self.mri.shape[1:] != (len(options.inputs), size, size):
            raise ValueError(
                f"MRI training array has shape {self.mri.shape}, expected (N, {len(options.inputs)}, {size}, {size})"
            )
        if self.ct.ndim != 4 or self.ct.shape[1:] != (1, size, size):
            raise ValueError(f"CT training array has shape {self.ct.shape}, expected (M, 1, {size}, {size})")
        if len(self.mri) == 0 or len(self.ct) == 0:
            raise ValueError(
                f"training needs MRI and CT slices; got {len(self.mri)} MRI and {len(self.ct)} CT"
            )

    def iterations_per_epoch(self, batch_size: int) -> int:
        return math.ceil(max(len(self.mri), len(self.ct)) / batch_size)


def augment(images: np.ndarray, options: TrainingOptions, rng: np.random.Generator) -> np.ndarray:
    """Random crop (with a margin of background when the crop is the full size) and horizontal flip."""
    count, channels, size, _ = images.shape
    crop = options.crop_size
    if crop == size:
        margin = size // 16
        padded = np.pad(images, ((0, 0), (0, 0), (margin, margin), (margin, margin)), constant_values=-1.0)
        span = 2 * margin
    else:
        padded, span = images, size - crop
    out = np.empty((count, channels, crop, crop), dtype=np.float32)
    for i in range(count):
        top, left = (int(v) for v in rng.integers(0, span + 1, size=2))
        patch = padded[i, :, top : top + crop, left : left + crop]
        out[i] = patch[:, :, ::-1] if options.flip and rng.random() < 0.5 else patch
    return out
