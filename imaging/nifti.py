"""Reading NIfTI volumes (.nii, .nii.gz) into axial slices in the same orientation as DICOM. Pure nibabel/NumPy."""

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np

from imaging.volumes import ImageError, VolumeData, to_hu_int16

NIFTI_SUFFIXES = (".nii", ".nii.gz")

# Rows run anterior to posterior and columns patient right to left, as in an axial DICOM image (LPS).
AXIAL_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def is_nifti(path: str | Path) -> bool:
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def patient_from_filename(path: str | Path) -> str:
    name = Path(path).name
    for suffix in sorted(NIFTI_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def load_nifti(path: str | Path, *, kind: str, modality: str, patient: str | None = None) -> VolumeData:
    """Read a 3-D NIfTI volume; CT voxel values are taken as HU (scaling applied), MRI as raw intensities."""
    try:
        image = nib.load(str(path))
        shape = image.shape
    except Exception as exc:  # nibabel raises ImageFileError, EOFError, zlib errors...
        raise ImageError(f"not a readable NIfTI file ({exc.__class__.__name__})") from None
    squeezed = tuple(n for n in shape[3:] if n != 1)
    if len(shape) < 3 or squeezed:
        raise ImageError(f"NIfTI volume is not 3-D (shape {tuple(shape)})")
    if min(shape[:3]) < 1:
        raise ImageError(f"NIfTI volume is empty (shape {tuple(shape)})")
    try:
        canonical = nib.as_closest_canonical(image)
        data = np.asarray(canonical.dataobj, dtype=np.float64).reshape(canonical.shape[:3])
    except Exception as exc:
        raise ImageError(f"NIfTI voxel data unreadable ({exc.__class__.__name__}: {exc})") from None
    if not np.isfinite(data).all():
        raise ImageError("NIfTI volume holds NaN or infinite values")
    affine = canonical.affine
    zooms = [float(z) for z in canonical.header.get_zooms()[:3]]
    # Canonical voxel axes run to the patient's right, anterior and superior (RAS+); image rows run anterior to
    # posterior and columns right to left, so both in-plane axes are flipped after moving z to the front.
    slices = np.flip(np.transpose(data, (2, 1, 0)), axis=(1, 2))
    z_mm = np.array([float((affine @ np.array([0.0, 0.0, k, 1.0]))[2]) for k in range(data.shape[2])])
    pixels = slices.astype(np.float32) if kind == "mr" else to_hu_int16(slices, str(path))
    return VolumeData(
        patient=patient or patient_from_filename(path),
        modality=modality,
        series_key=f"nifti:{file_sha256(path)}",
        source_format="nifti",
        source_path=str(path),
        pixels=np.ascontiguousarray(pixels),
        z_mm=z_mm,
        row_spacing_mm=zooms[1],
        column_spacing_mm=zooms[0],
        orientation=AXIAL_ORIENTATION,
    )
