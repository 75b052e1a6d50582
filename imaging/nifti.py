"""Reading NIfTI volumes (.nii, .nii.gz) into axial slices in the same orientation as DICOM. Pure nibabel/NumPy."""

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from imaging.volumes import DEFAULT_LIMITS, ImageError, ImportLimits, VolumeData, out_of_memory, to_hu_int16

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


def _voxel_bytes_present(path: str | Path, needed: int) -> int:
    """How many bytes of the file lie past the header, counted up to `needed` and no further (a .nii.gz is
    decompressed in small blocks and never held whole, so a small file claiming a huge volume costs nothing)."""
    if not str(path).lower().endswith(".gz"):
        return Path(path).stat().st_size
    count = 0
    try:
        with gzip.open(path, "rb") as stream:
            while count < needed:
                block = stream.read(min(1 << 20, needed - count))
                if not block:
                    break
                count += len(block)
    except (OSError, EOFError, zlib.error):
        pass  # a truncated stream holds what was counted so far
    return count


def load_nifti(
    path: str | Path,
    *,
    kind: str,
    modality: str,
    patient: str,
    source_path: str,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> VolumeData:
    """Read a 3-D NIfTI volume; CT voxel values are taken as HU (scaling applied), MRI as raw intensities.

    `patient` is the pseudonym the importer chose (never the file's name) and `source_path` what the volume records
    about where it came from. The header's claimed size is compared with the caps and with the bytes the file
    holds before any voxel is read."""
    import nibabel as nib  # here, not at the top: nibabel loads SciPy, and web processes import this module

    try:
        image = nib.load(str(path))
        shape = image.shape
        header = image.header
        # Voxels start at vox_offset, and never inside the header and its 4-byte extension flag.
        offset = max(int(header["vox_offset"]), int(header["sizeof_hdr"]) + 4)
        bytes_per_voxel = max(1, int(header["bitpix"]) // 8)
    except Exception as exc:  # nibabel raises ImageFileError, EOFError, zlib errors...
        raise ImageError(f"not a readable NIfTI file ({exc.__class__.__name__})") from None
    squeezed = tuple(n for n in shape[3:] if n != 1)
    if len(shape) < 3 or squeezed:
        raise ImageError(f"NIfTI volume is not 3-D (shape {tuple(shape)})")
    if min(shape[:3]) < 1:
        raise ImageError(f"NIfTI volume is empty (shape {tuple(shape)})")
    limits.check_voxels(tuple(shape[:3]))
    needed = offset + int(np.prod(shape[:3], dtype=np.int64)) * bytes_per_voxel
    present = _voxel_bytes_present(path, needed)
    if present < needed:
        raise ImageError(
            f"the header claims {'x'.join(str(n) for n in shape[:3])} voxels ({needed} bytes), "
            f"the file holds {present}"
        )
    try:
        canonical = nib.as_closest_canonical(image)
        data = np.asarray(canonical.dataobj, dtype=np.float64).reshape(canonical.shape[:3])
    except MemoryError:
        raise out_of_memory("the NIfTI volume", int(np.prod(shape[:3], dtype=np.int64)) * 8) from None
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
    pixels = slices.astype(np.float32) if kind == "mr" else to_hu_int16(slices, "NIfTI voxels")
    return VolumeData(
        patient=patient,
        modality=modality,
        series_key=f"nifti:{file_sha256(path)}",
        source_format="nifti",
        source_path=source_path,
        pixels=np.ascontiguousarray(pixels),
        z_mm=z_mm,
        row_spacing_mm=zooms[1],
        column_spacing_mm=zooms[0],
        orientation=AXIAL_ORIENTATION,
    )
