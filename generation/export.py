"""Writing a synthetic CT volume as a DICOM series or a NIfTI file. Pure pydicom/nibabel/NumPy, no Django.

DICOM: CT Image Storage, one file per slice, signed 16-bit HU (RescaleSlope 1, RescaleIntercept 0), UIDs that
belong to the synthetic volume (never the MRI's), ImageType DERIVED\\SECONDARY, and a DerivationDescription
naming the checkpoint; the source MRI slices are referenced in SourceImageSequence.

NIfTI: int16 HU in RAS+ voxel order with an affine such that `imaging.nifti.load_nifti` reads the same slices
back. Only the volume's z positions are known (not its in-plane origin), so the image centre sits at x = y = 0.
"""

import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

IMAGE_TYPE = ["DERIVED", "SECONDARY", "AXIAL"]
DEFAULT_WINDOW = (40.0, 400.0)  # centre, width: soft tissue


@dataclass
class SyntheticVolume:
    """What an export needs: HU slices ordered inferior to superior and their geometry and provenance."""

    hu: np.ndarray  # (slices, rows, columns) int16
    z_mm: np.ndarray  # (slices,)
    row_spacing_mm: float
    column_spacing_mm: float
    orientation: tuple[float, ...]
    patient: str
    volume_uid: str  # the synthetic volume's uuid: every DICOM UID is derived from it
    description: str  # e.g. "Synthetic CT (checkpoint X)"
    derivation: str  # DerivationDescription
    software: str
    contrast_enhanced: bool | None = None
    sop_instance_uids: list[str] = field(default_factory=list)
    source_sop_instance_uids: list[list[str]] = field(default_factory=list)  # per slice, the MRI slices' UIDs

    @property
    def slice_spacing_mm(self) -> float:
        return float(np.median(np.diff(self.z_mm))) if len(self.z_mm) > 1 else 1.0

    def spacing_is_regular(self, tolerance_mm: float = 0.1) -> bool:
        if len(self.z_mm) < 3:
            return True
        return float(np.abs(np.diff(self.z_mm) - self.slice_spacing_mm).max()) <= tolerance_mm


def _uid(volume: SyntheticVolume, *parts: object) -> str:
    return generate_uid(entropy_srcs=["blindread-synthetic", volume.volume_uid, *(str(p) for p in parts)])


def _ds(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text[:16]


def _top_left(volume: SyntheticVolume, z: float) -> list[float]:
    rows, columns = volume.hu.shape[1:]
    row_direction = np.array(volume.orientation[:3], dtype=np.float64)
    column_direction = np.array(volume.orientation[3:], dtype=np.float64)
    centre = np.array([0.0, 0.0, z])
    corner = (
        centre
        - row_direction * (columns - 1) / 2 * volume.column_spacing_mm
        - column_direction * (rows - 1) / 2 * volume.row_spacing_mm
    )
    return [float(v) for v in corner]


def dicom_slices(volume: SyntheticVolume) -> list[Dataset]:
    """One DICOM dataset per slice (written with `write_dicom_series` or `dicom_bytes`)."""
    if volume.hu.dtype != np.int16 or volume.hu.ndim != 3:
        raise ValueError(
            f"expected (slices, rows, columns) int16 HU, got {volume.hu.dtype} {volume.hu.shape}"
        )
    study_uid = _uid(volume, "study")
    series_uid = _uid(volume, "series")
    frame_uid = _uid(volume, "frame")
    datasets = []
    for index, (plane, z) in enumerate(zip(volume.hu, volume.z_mm, strict=True)):
        sop_uid = (
            volume.sop_instance_uids[index] if volume.sop_instance_uids else _uid(volume, "instance", index)
        )
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = IMAGE_TYPE
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.Modality = "CT"
        ds.Manufacturer = "Blindread"
        ds.SoftwareVersions = volume.software[:64]
        ds.SeriesDescription = volume.description[:64]
        ds.StudyDescription = "Synthetic CT"
        ds.DerivationDescription = volume.derivation[:1024]
        ds.BurnedInAnnotation = "NO"
        ds.PatientName = volume.patient[:64]
        ds.PatientID = volume.patient[:64]
        ds.SeriesNumber = 1
        ds.InstanceNumber = index + 1
        if volume.contrast_enhanced is not None:
            ds.ContrastBolusAgent = "SYNTHETIC" if volume.contrast_enhanced else ""
        ds.ImagePositionPatient = [_ds(v) for v in _top_left(volume, float(z))]
        ds.ImageOrientationPatient = [_ds(v) for v in volume.orientation]
        ds.SliceLocation = _ds(float(z))
        ds.SliceThickness = _ds(volume.slice_spacing_mm)
        ds.PixelSpacing = [_ds(volume.row_spacing_mm), _ds(volume.column_spacing_mm)]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.WindowCenter, ds.WindowWidth = (_ds(v) for v in DEFAULT_WINDOW)
        sources = volume.source_sop_instance_uids[index] if volume.source_sop_instance_uids else []
        if sources:
            references = []
            for source_uid in sources:
                item = Dataset()
                item.ReferencedSOPClassUID = MRImageStorage
                item.ReferencedSOPInstanceUID = source_uid
                references.append(item)
            ds.SourceImageSequence = Sequence(references)
        ds.PixelData = np.ascontiguousarray(plane, dtype="<i2").tobytes()
        datasets.append(ds)
    return datasets


def dicom_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write_dicom_series(volume: SyntheticVolume, folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, ds in enumerate(dicom_slices(volume)):
        path = folder / f"CT{index + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def nifti_image(volume: SyntheticVolume) -> nib.Nifti1Image:
    """The volume as a RAS+ NIfTI image (the inverse of `imaging.nifti.load_nifti`'s slice order)."""
    slices, rows, columns = volume.hu.shape
    data = np.transpose(np.flip(volume.hu, axis=(1, 2)), (2, 1, 0))
    affine = np.diag([volume.column_spacing_mm, volume.row_spacing_mm, volume.slice_spacing_mm, 1.0])
    affine[:3, 3] = [
        -(columns - 1) / 2 * volume.column_spacing_mm,
        -(rows - 1) / 2 * volume.row_spacing_mm,
        float(volume.z_mm[0]),
    ]
    image = nib.Nifti1Image(np.ascontiguousarray(data, dtype=np.int16), affine)
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = volume.derivation[:79].encode("ascii", "replace")
    image.header.set_qform(affine, code=1)
    image.header.set_sform(affine, code=1)
    return image


def nifti_bytes(volume: SyntheticVolume) -> bytes:
    """gzip-compressed NIfTI-1 file contents (.nii.gz), byte-identical for the same volume."""
    return gzip.compress(nifti_image(volume).to_bytes(), compresslevel=6, mtime=0)


def write_nifti(volume: SyntheticVolume, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(nifti_bytes(volume) if path.name.endswith(".gz") else nifti_image(volume).to_bytes())
    return path
