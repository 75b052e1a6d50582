"""Reading DICOM series: headers first (to group files into series), then pixels one series at a time.

Pure pydicom/NumPy. Every problem with a file or a series is raised as `ImageError` with a one-line reason;
no pydicom or NumPy exception escapes for bad input.
"""

from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut
from pydicom.uid import UID

from imaging.constants import HU_AIR
from imaging.dicom.deidentify import Deidentifier
from imaging.volumes import (
    DEFAULT_LIMITS,
    ImageError,
    ImportLimits,
    Rejection,
    VolumeData,
    out_of_memory,
    to_hu_int16,
)

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
PIXEL_DATA = 0x7FE00010
SUPPORTED_PHOTOMETRIC = {"MONOCHROME1", "MONOCHROME2"}
EXPECTED_MODALITY = {"ct": "CT", "sct": "CT", "mr": "MR"}


@dataclass(frozen=True)
class DicomHeader:
    """What grouping and geometry checks need, read without the pixel data."""

    path: str
    series_uid: str
    patient: str
    rows: int
    columns: int
    position: tuple[float, float, float]
    orientation: tuple[float, ...]
    pixel_spacing: tuple[float, float]
    sop_instance_uid: str


class NotImageFile(Exception):
    """A valid DICOM file that holds no image (DICOMDIR, structured report...): skipped, not an error."""


def _float_tuple(value, count: int, name: str) -> tuple[float, ...]:
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ImageError(f"{name} is not numeric") from None
    if len(numbers) != count or not all(np.isfinite(numbers)):
        raise ImageError(f"{name} must hold {count} finite numbers")
    return numbers


def _read(path: str, *, stop_before_pixels: bool) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        raise ImageError("not a DICOM file") from None
    except (OSError, EOFError) as exc:
        raise ImageError(f"cannot read the file ({exc.__class__.__name__}: {exc})") from None
    except Exception as exc:  # pydicom raises many types on corrupt headers; none may escape as a traceback
        raise ImageError(f"corrupt DICOM header ({exc.__class__.__name__}: {_first_line(exc)})") from None


def _what_it_holds(ds) -> str:
    """What a DICOM file without pixels is, by its SOP class ("RT Plan", "Comprehensive SR"), else its Modality."""
    name = UID(str(ds.get("SOPClassUID", ""))).name if ds.get("SOPClassUID") else ""
    if name and name != str(ds.get("SOPClassUID")):
        return name.removesuffix(" Storage")
    return f"Modality {ds.get('Modality')}" if ds.get("Modality") else "a DICOM file"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def read_header(
    path: str, *, kind: str, deidentifier: Deidentifier, limits: ImportLimits = DEFAULT_LIMITS
) -> DicomHeader:
    """Read and validate one file's header for an import of `kind` ("ct", "sct" or "mr"), de-identified: the
    header's patient is the pseudonym and its UIDs are the new ones (imaging.dicom.deidentify); nothing of the
    original identity leaves this function. A file flagged BurnedInAnnotation YES is refused."""
    ds = _read(path, stop_before_pixels=True)
    sop_class = str(getattr(ds.file_meta, "MediaStorageSOPClassUID", "")) if hasattr(ds, "file_meta") else ""
    if sop_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        raise NotImageFile("DICOMDIR (an index of the media), no image")
    if "Rows" not in ds and "PixelData" not in ds:
        if "SOPClassUID" not in ds:
            raise ImageError("truncated or empty DICOM file (no image attributes)")
        # A structured report, RT plan or similar beside the images: nothing to import, nothing wrong.
        raise NotImageFile(f"{_what_it_holds(ds)}, no image")
    if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        raise ImageError(
            "BurnedInAnnotation is YES: the pixels may show who the patient is, and pixels are never cleaned"
        )
    try:
        deidentifier.apply(ds)
    except Exception as exc:  # a value the profile cannot read (a corrupt date, a broken sequence)
        raise ImageError(
            f"cannot de-identify the header ({exc.__class__.__name__}: {_first_line(exc)})"
        ) from None
    modality = str(ds.get("Modality", "")).upper()
    expected = EXPECTED_MODALITY[kind]
    if modality != expected:
        raise ImageError(f"Modality is {modality or 'missing'} but --kind {kind} expects {expected}")
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if photometric not in SUPPORTED_PHOTOMETRIC:
        raise ImageError(
            f"unsupported photometric interpretation {photometric or 'missing'} (need MONOCHROME1/2)"
        )
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise ImageError(f"unsupported SamplesPerPixel {ds.SamplesPerPixel} (need 1)")
    bits = int(ds.get("BitsAllocated", 0))
    if bits not in (8, 16):
        raise ImageError(f"unsupported bit depth: BitsAllocated {bits} (need 8 or 16)")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames != 1:
        raise ImageError(f"multi-frame images are not supported ({frames} frames)")
    for keyword in ("SeriesInstanceUID", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
        if keyword not in ds or ds[keyword].value in (None, ""):
            raise ImageError(f"missing {keyword}")
    rows, columns = int(ds.Rows), int(ds.Columns)
    if rows < 1 or columns < 1:
        raise ImageError(f"empty image ({rows}x{columns})")
    limits.check_matrix(rows, columns)
    if not _compressed(ds):
        _check_pixel_bytes(ds, present=_pixel_data_length(path))
    spacing = _float_tuple(ds.PixelSpacing, 2, "PixelSpacing")
    if min(spacing) <= 0:
        raise ImageError(f"PixelSpacing must be positive, got {spacing}")
    return DicomHeader(
        path=path,
        series_uid=str(ds.SeriesInstanceUID),
        patient=str(ds.PatientID),
        rows=rows,
        columns=columns,
        position=_float_tuple(ds.ImagePositionPatient, 3, "ImagePositionPatient"),
        orientation=_float_tuple(ds.ImageOrientationPatient, 6, "ImageOrientationPatient"),
        pixel_spacing=spacing,
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
    )


def read_pixels(path: str, *, kind: str) -> np.ndarray:
    """Decode one file's pixels: int16 HU for CT (modality LUT, padding set to air), raw float32 for MRI."""
    ds = _read(path, stop_before_pixels=False)
    if "PixelData" not in ds:
        raise ImageError("no pixel data")
    _check_pixel_bytes(ds)
    try:
        stored = ds.pixel_array
    except NotImplementedError as exc:
        syntax = ds.file_meta.TransferSyntaxUID.name
        raise ImageError(f"cannot decode transfer syntax {syntax}: {_first_line(exc)}") from None
    except MemoryError:
        raise out_of_memory("the pixel data", int(ds.Rows) * int(ds.Columns) * 8) from None
    except Exception as exc:
        raise ImageError(f"pixel data unreadable ({_first_line(exc)})") from None
    if stored.ndim != 2 or stored.shape != (int(ds.Rows), int(ds.Columns)):
        raise ImageError(f"pixel data has shape {stored.shape}, header says {int(ds.Rows)}x{int(ds.Columns)}")
    if kind == "mr":
        return apply_modality_lut(stored, ds).astype(np.float32)
    hu = _hu(stored, ds)
    padding = _padding_mask(stored, ds)
    if padding is not None:
        hu[padding] = HU_AIR
    return hu


def _compressed(ds: pydicom.Dataset) -> bool:
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return syntax is not None and UID(str(syntax)).is_compressed


def _pixel_data_length(path: str) -> int | None:
    """The length of the file's pixel data as its element says, read without reading the pixels (None: none, or
    of undefined length, as compressed data are)."""
    try:
        ds = pydicom.dcmread(path, defer_size=256, specific_tags=[PIXEL_DATA])
        raw = ds.get_item(PIXEL_DATA, keep_deferred=True)
    except Exception:  # the header read already succeeded; the pixels are judged when decoded
        return None
    length = getattr(raw, "length", None)
    return None if length in (None, 0xFFFFFFFF) else int(length)


def _check_pixel_bytes(ds: pydicom.Dataset, *, present: int | None = None) -> None:
    """Uncompressed pixel data must hold the bytes the header claims (rows x columns x bits) before anything is
    allocated for it; a compressed frame is decoded into a matrix the caps have already bounded. `present`: the
    length read from the file when `ds` was read without its pixels."""
    if _compressed(ds):
        return
    if present is None:
        if "PixelData" not in ds:
            return
        present = len(ds.PixelData)
    claimed = (
        int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1) * int(ds.BitsAllocated) // 8
    )
    if present < claimed:
        raise ImageError(
            f"pixel data holds {present} bytes, the header claims {int(ds.Rows)}x{int(ds.Columns)} "
            f"({claimed} bytes)"
        )


def _hu(stored: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """HU as int16, equal to pydicom's modality LUT (rounded when the rescale is fractional).

    The common integer rescale is done in int32, which is exact and several times faster than float64.
    """
    slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    if "ModalityLUTSequence" in ds or slope is None or intercept is None:
        return to_hu_int16(apply_modality_lut(stored, ds), "modality LUT")
    slope, intercept = float(slope), float(intercept)
    if slope.is_integer() and intercept.is_integer():
        hu = stored.astype(np.int32)
        if slope != 1:
            hu *= int(slope)
        hu += int(intercept)
        low, high = int(hu.min()), int(hu.max())
        if low < np.iinfo(np.int16).min or high > np.iinfo(np.int16).max:
            raise ImageError(f"HU values {low}..{high} do not fit in int16")
        return hu.astype(np.int16)
    return to_hu_int16(stored * slope + intercept, "rescaled pixels")


def _padding_mask(stored: np.ndarray, ds: pydicom.Dataset) -> np.ndarray | None:
    """Pixels marked as padding (outside the scanned field), per PixelPaddingValue and PixelPaddingRangeLimit."""
    if "PixelPaddingValue" not in ds:
        return None
    first = _as_stored_int(ds.PixelPaddingValue, ds)
    limit = ds.get("PixelPaddingRangeLimit")
    if limit is None:
        return stored == first
    last = _as_stored_int(limit, ds)
    low, high = min(first, last), max(first, last)
    return (stored >= low) & (stored <= high)


def _as_stored_int(value, ds: pydicom.Dataset) -> int:
    # US/SS ambiguous tags may arrive as raw bytes when pydicom cannot resolve the VR.
    if isinstance(value, bytes):
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        return int.from_bytes(value[:2], "little", signed=signed)
    return int(value)


def order_and_check_geometry(headers: list[DicomHeader], *, spacing_tolerance: float) -> list[DicomHeader]:
    """Sort a series along its slice normal and raise ImageError if its geometry is not one regular stack."""
    first = headers[0]
    for header in headers[1:]:
        if (header.rows, header.columns) != (first.rows, first.columns):
            raise ImageError(
                f"inconsistent geometry: {header.path} is {header.rows}x{header.columns}, "
                f"{first.path} is {first.rows}x{first.columns}"
            )
        if not np.allclose(header.orientation, first.orientation, atol=1e-3):
            raise ImageError(f"inconsistent geometry: ImageOrientationPatient differs in {header.path}")
        if not np.allclose(header.pixel_spacing, first.pixel_spacing, rtol=1e-3):
            raise ImageError(f"inconsistent geometry: PixelSpacing differs in {header.path}")
    row_cosine, column_cosine = np.array(first.orientation[:3]), np.array(first.orientation[3:])
    normal = np.cross(row_cosine, column_cosine)
    if np.linalg.norm(normal) < 0.9:
        raise ImageError("ImageOrientationPatient does not hold two orthogonal unit vectors")
    distances = np.array([np.dot(normal, header.position) for header in headers])
    order = np.argsort(distances, kind="stable")
    ordered = [headers[i] for i in order]
    gaps = np.diff(distances[order])
    if len(gaps) and gaps.min() < 1e-3:
        index = int(np.argmin(gaps))
        raise ImageError(
            f"inconsistent geometry: {ordered[index].path} and {ordered[index + 1].path} are at the same position"
        )
    if len(gaps) > 1:
        median = float(np.median(gaps))
        if np.abs(gaps - median).max() > spacing_tolerance * median:
            raise ImageError(
                f"inconsistent geometry: slice spacing varies from {gaps.min():.2f} to {gaps.max():.2f} mm "
                "(missing or extra slices?)"
            )
    return ordered


def axial_z(headers: list[DicomHeader]) -> np.ndarray:
    """Patient z (superior positive) of each slice, for ordering inferior to superior and for axial layers."""
    return np.array([header.position[2] for header in headers], dtype=np.float64)


def load_series(
    headers: list[DicomHeader],
    *,
    kind: str,
    modality: str,
    patient: str,
    spacing_tolerance: float,
    source_path: str,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> VolumeData:
    """Decode a whole series; raise `SeriesRejected` naming every file that failed, and ImageError for the series
    (a cap exceeded, its memory not to be had) before anything is allocated."""
    limits.check_slices(len(headers))
    limits.check_matrix(headers[0].rows, headers[0].columns)
    ordered = order_and_check_geometry(headers, spacing_tolerance=spacing_tolerance)
    z = axial_z(ordered)
    if len(z) > 1 and z[-1] < z[0]:
        # Stacked along -z (feet first): keep slices ordered inferior to superior.
        ordered, z = ordered[::-1], z[::-1]
    first = ordered[0]
    dtype = np.float32 if kind == "mr" else np.int16
    shape = (len(ordered), first.rows, first.columns)
    try:
        pixels = np.empty(shape, dtype)
    except MemoryError:
        raise out_of_memory("the series", int(np.prod(shape)) * np.dtype(dtype).itemsize) from None
    rejected = []
    for index, header in enumerate(ordered):
        try:
            pixels[index] = read_pixels(header.path, kind=kind)
        except ImageError as exc:
            rejected.append(Rejection(header.path, str(exc)))
        except MemoryError:
            rejected.append(
                Rejection(header.path, str(out_of_memory("the file", first.rows * first.columns * 8)))
            )
    if rejected:
        raise SeriesRejected(rejected)
    return VolumeData(
        patient=patient,
        modality=modality,
        series_key=first.series_uid,
        source_format="dicom",
        source_path=source_path,
        pixels=pixels,
        z_mm=np.ascontiguousarray(z),
        row_spacing_mm=first.pixel_spacing[0],
        column_spacing_mm=first.pixel_spacing[1],
        orientation=first.orientation,
        sop_instance_uids=[h.sop_instance_uid for h in ordered],
    )


class SeriesRejected(Exception):
    def __init__(self, rejections: list[Rejection]):
        super().__init__(f"{len(rejections)} file(s) rejected")
        self.rejections = rejections
