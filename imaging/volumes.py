"""Plain data carried between the readers (DICOM, NIfTI) and the import service; no Django here."""

from dataclasses import dataclass, field

import numpy as np


class ImageError(Exception):
    """A file or series that cannot be imported; the message is one line saying why."""


@dataclass(frozen=True)
class Rejection:
    path: str
    reason: str

    def __str__(self):
        return f"{self.path}: {self.reason}"


@dataclass
class VolumeData:
    """One decoded series, slices ordered from inferior to superior."""

    patient: str
    modality: str  # ct | t1_in | t1_out | t2
    series_key: str
    source_format: str  # dicom | nifti
    source_path: str
    pixels: np.ndarray  # (slices, rows, columns): int16 HU for CT, float32 raw intensity for MRI
    z_mm: np.ndarray  # (slices,) patient z of each slice, ascending
    row_spacing_mm: float
    column_spacing_mm: float
    orientation: tuple[float, ...]
    sop_instance_uids: list[str] = field(default_factory=list)

    @property
    def slice_spacing_mm(self) -> float | None:
        if len(self.z_mm) < 2:
            return None
        return round(float(np.median(np.diff(self.z_mm))), 4)


def to_hu_int16(hu: np.ndarray, where: str) -> np.ndarray:
    """Round HU to int16, refusing values that int16 cannot hold rather than wrapping them."""
    rounded = np.rint(hu)
    low, high = float(rounded.min()), float(rounded.max())
    if low < np.iinfo(np.int16).min or high > np.iinfo(np.int16).max:
        raise ImageError(f"HU values {low:.0f}..{high:.0f} do not fit in int16 ({where})")
    return rounded.astype(np.int16)
