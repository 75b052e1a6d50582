"""The display pipeline every survey item goes through, real or synthetic alike. Pure NumPy/SciPy/Pillow.

A slice in HU becomes a square int16 image of the policy's matrix size: clip to the HU range, crop or pad to the
field of view (or to a square), resample with the policy's interpolation, clip again, set everything outside the
mask to the background value (the bottom of the HU range), round. The payload sent to readers is that image as
raw little-endian int16, so every payload of a survey has exactly matrix * matrix * 2 bytes.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

PAYLOAD_DTYPE = np.dtype("<i2")
# Tissue is denser than this; air, and the scanner's padding, are not.
BODY_THRESHOLD_HU = -500.0
RESAMPLING_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "area": Image.Resampling.BOX,
}
MASKS = ("none", "body", "circle")


@dataclass(frozen=True)
class DisplayPolicy:
    matrix_size: int
    hu_min: int
    hu_max: int
    interpolation: str = "bilinear"
    mask: str = "body"
    field_of_view_mm: float | None = None

    def __post_init__(self):
        if not 16 <= self.matrix_size <= 2048:
            raise ValueError(f"matrix size {self.matrix_size} is outside 16..2048")
        if not self.hu_min < self.hu_max:
            raise ValueError(f"HU range {self.hu_min}..{self.hu_max} is empty")
        if not (np.iinfo(np.int16).min <= self.hu_min and self.hu_max <= np.iinfo(np.int16).max):
            raise ValueError("the HU range must fit in int16")
        if self.interpolation not in RESAMPLING_FILTERS:
            raise ValueError(f"unknown interpolation {self.interpolation!r}")
        if self.mask not in MASKS:
            raise ValueError(f"unknown mask {self.mask!r}")
        if self.field_of_view_mm is not None and not self.field_of_view_mm > 0:
            raise ValueError("the field of view must be positive")

    @property
    def background_hu(self) -> int:
        return self.hu_min

    @property
    def payload_bytes(self) -> int:
        return self.matrix_size * self.matrix_size * PAYLOAD_DTYPE.itemsize


def render_slice(
    hu: np.ndarray, *, row_spacing_mm: float, column_spacing_mm: float, policy: DisplayPolicy
) -> np.ndarray:
    """The slice as the reader will see it: (matrix, matrix) int16 HU inside the policy's range."""
    if hu.ndim != 2 or min(hu.shape) < 2:
        raise ValueError(f"a slice must be a 2-D image, not shape {hu.shape}")
    image = np.nan_to_num(
        hu.astype(np.float32), nan=policy.hu_min, posinf=policy.hu_max, neginf=policy.hu_min
    )
    image = np.clip(image, policy.hu_min, policy.hu_max)
    if policy.field_of_view_mm is not None:
        rows = max(2, round(policy.field_of_view_mm / row_spacing_mm))
        columns = max(2, round(policy.field_of_view_mm / column_spacing_mm))
    else:
        # Keep the physical aspect ratio: pad the shorter side (in mm) to a square.
        height_mm, width_mm = image.shape[0] * row_spacing_mm, image.shape[1] * column_spacing_mm
        side_mm = max(height_mm, width_mm)
        rows, columns = round(side_mm / row_spacing_mm), round(side_mm / column_spacing_mm)
    image = _crop_or_pad(image, rows, columns, fill=policy.background_hu)
    resampled = Image.fromarray(image).resize(
        (policy.matrix_size, policy.matrix_size), RESAMPLING_FILTERS[policy.interpolation]
    )
    image = np.clip(np.asarray(resampled, dtype=np.float32), policy.hu_min, policy.hu_max)
    if policy.mask == "body":
        image[~body_mask(image, hu_min=policy.hu_min)] = policy.background_hu
    elif policy.mask == "circle":
        image[~circle_mask(policy.matrix_size)] = policy.background_hu
    return np.rint(image).astype(np.int16)


def _crop_or_pad(image: np.ndarray, rows: int, columns: int, *, fill: float) -> np.ndarray:
    """Centre `image` in a rows x columns canvas filled with `fill`, cropping what does not fit."""
    out = np.full((rows, columns), fill, dtype=np.float32)
    src_rows, src_columns = image.shape

    def spans(source: int, target: int) -> tuple[slice, slice]:
        if source >= target:
            start = (source - target) // 2
            return slice(start, start + target), slice(0, target)
        start = (target - source) // 2
        return slice(0, source), slice(start, start + source)

    src_r, dst_r = spans(src_rows, rows)
    src_c, dst_c = spans(src_columns, columns)
    out[dst_r, dst_c] = image[src_r, src_c]
    return out


def body_mask(image: np.ndarray, *, hu_min: float) -> np.ndarray:
    """The largest connected region denser than air, holes (lungs, bowel gas) filled."""
    threshold = max(BODY_THRESHOLD_HU, hu_min)
    dense = image > threshold
    labels, count = ndimage.label(dense)
    if count == 0:
        return np.zeros(image.shape, dtype=bool)
    sizes = ndimage.sum_labels(dense, labels, index=np.arange(1, count + 1))
    largest = labels == (int(np.argmax(sizes)) + 1)
    return ndimage.binary_fill_holes(largest)


def circle_mask(matrix: int) -> np.ndarray:
    centre = (matrix - 1) / 2.0
    y, x = np.ogrid[:matrix, :matrix]
    return (y - centre) ** 2 + (x - centre) ** 2 <= (matrix / 2.0) ** 2


def encode_payload(pixels: np.ndarray) -> bytes:
    """Raw little-endian int16, row-major: what the reader's page decodes."""
    return np.ascontiguousarray(pixels, dtype=PAYLOAD_DTYPE).tobytes()


def decode_payload(data: bytes, matrix: int) -> np.ndarray:
    expected = matrix * matrix * PAYLOAD_DTYPE.itemsize
    if len(data) != expected:
        raise ValueError(
            f"payload has {len(data)} bytes, expected {expected} for a {matrix}x{matrix} int16 image"
        )
    return np.frombuffer(data, dtype=PAYLOAD_DTYPE).reshape(matrix, matrix)
