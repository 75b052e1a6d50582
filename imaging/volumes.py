"""Plain data carried between the readers (DICOM, NIfTI) and the import service; no Django here."""

from dataclasses import dataclass, field

import numpy as np


class ImageError(Exception):
    """A file or series that cannot be imported; the message is one line saying why."""


@dataclass(frozen=True)
class ImportLimits:
    """What one import may claim before anything is allocated for it (settings IMPORT_MAX_*): a claimed size over
    a cap, or over the bytes the file holds, is refused with a reason instead of being read."""

    max_matrix: int = 4096  # rows and columns of one slice
    max_slices_per_series: int = 2000
    max_nifti_voxels: int = 512 * 512 * 1024

    def check_matrix(self, rows: int, columns: int) -> None:
        if rows > self.max_matrix or columns > self.max_matrix:
            raise ImageError(
                f"the header claims a {rows}x{columns} matrix, over the cap of {self.max_matrix}x{self.max_matrix} "
                "(IMPORT_MAX_MATRIX)"
            )

    def check_slices(self, count: int) -> None:
        if count > self.max_slices_per_series:
            raise ImageError(
                f"the series has {count} slices, over the cap of {self.max_slices_per_series} "
                "(IMPORT_MAX_SLICES_PER_SERIES)"
            )

    def check_voxels(self, shape: tuple[int, ...]) -> None:
        voxels = 1
        for n in shape:
            voxels *= int(n)
        if voxels > self.max_nifti_voxels:
            raise ImageError(
                f"the header claims {'x'.join(str(int(n)) for n in shape)} voxels, over the cap of "
                f"{self.max_nifti_voxels} (IMPORT_MAX_NIFTI_VOXELS)"
            )


DEFAULT_LIMITS = ImportLimits()


def out_of_memory(what: str, nbytes: int) -> ImageError:
    """The reason given when decoding `what` ran out of memory: the file or series is refused, the process goes on."""
    return ImageError(f"not enough memory to decode {what} ({nbytes / 1024**2:.0f} MB)")


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
