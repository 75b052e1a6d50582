"""Writing a CT volume of the image library (real or synthetic) as a DICOM series or a NIfTI file.

Pure pydicom/nibabel/NumPy, no Django.

DICOM, through `imaging.dicom`'s writer: CT Image Storage, one file per slice, signed 16-bit HU (RescaleSlope 1,
RescaleIntercept 0), ImageType DERIVED\\SECONDARY\\AXIAL, study, series and frame of reference UIDs of the export's own
(derived from the volume's uid, so a second export gives the same files) and a DerivationDescription saying where
the volume came from. A volume made by a checkpoint keeps the SOP Instance UIDs stored with its slices and names
the MRI slices each was made from (Source Image Sequence) and how (Derivation Code Sequence); an imported volume
gets new SOP Instance UIDs, never those of the files it was imported from, since these files hold other content.

NIfTI: int16 HU in RAS+ voxel order with an affine such that `imaging.nifti.load_nifti` reads the same slices
back. Only the volume's z positions are known (not its in-plane origin), so the image centre sits at x = y = 0.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage

from imaging.constants import DEFAULT_CT_WINDOW
from imaging.dicom import (
    AxialImage,
    CodedConcept,
    Derivation,
    Patient,
    PixelEncoding,
    Series,
    Study,
    centred_position,
    exported_volume_uid,
    slice_dataset,
)

if TYPE_CHECKING:
    import nibabel

IMAGE_TYPE = ("DERIVED", "SECONDARY", "AXIAL")
HU_ENCODING = PixelEncoding(bits_stored=16, signed=True, rescale_intercept=0)

# CID 7203 "Image Derivation" (extensible) has no code for an image synthesised from images of another modality by
# a learned model. DCM 110001 "Image Processing" is the standard concept that is true of every synthetic slice;
# the DerivationDescription names the checkpoint, its inputs and its HU range.
SYNTHESIS_DERIVATION = CodedConcept("110001", "DCM", "Image Processing")


@dataclass
class ExportedVolume:
    """What an export needs: HU slices ordered inferior to superior, their geometry and provenance."""

    hu: np.ndarray  # (slices, rows, columns) int16
    z_mm: np.ndarray  # (slices,)
    row_spacing_mm: float
    column_spacing_mm: float
    orientation: tuple[float, ...]
    patient: str
    volume_uid: (
        str  # the volume's uuid: the export's study, series and frame of reference UIDs derive from it
    )
    study_description: str  # "Synthetic CT", "CT"
    description: str  # e.g. "Synthetic CT (checkpoint X)"
    derivation: str  # DerivationDescription
    software: str
    contrast_enhanced: bool | None = None
    synthetic: bool = False  # the volume is synthetic CT (imported or generated), not real CT
    sop_instance_uids: list[str] = field(default_factory=list)  # kept (generated slices); new ones when empty
    source_sop_instance_uids: list[list[str]] = field(default_factory=list)  # per slice, the MRI slices' UIDs

    @property
    def slice_spacing_mm(self) -> float:
        return float(np.median(np.diff(self.z_mm))) if len(self.z_mm) > 1 else 1.0

    def spacing_is_regular(self, tolerance_mm: float = 0.1) -> bool:
        if len(self.z_mm) < 3:
            return True
        return float(np.abs(np.diff(self.z_mm) - self.slice_spacing_mm).max()) <= tolerance_mm


def _contrast_attributes(volume: ExportedVolume) -> dict[str, str]:
    # The Contrast/Bolus module belongs to images made with contrast: a synthetic CT shows the enhancement its
    # checkpoint learned, no agent was given; for real CT the agent is not known.
    if not volume.contrast_enhanced:
        return {}
    return {"ContrastBolusAgent": "SYNTHETIC" if volume.synthetic else ""}


def dicom_series(volume: ExportedVolume) -> Series:
    """The attributes every slice of the exported series shares."""
    made_from_mri = any(volume.source_sop_instance_uids)
    return Series(
        study=Study(
            uid=exported_volume_uid(volume.volume_uid, "study"),
            patient=Patient(name=volume.patient, id=volume.patient),
            description=volume.study_description,
        ),
        modality="CT",
        uid=exported_volume_uid(volume.volume_uid, "series"),
        number=1,
        description=volume.description,
        frame_of_reference_uid=exported_volume_uid(volume.volume_uid, "frame"),
        image_type=IMAGE_TYPE,
        pixel_spacing_mm=(volume.row_spacing_mm, volume.column_spacing_mm),
        encoding=HU_ENCODING,
        slice_thickness_mm=volume.slice_spacing_mm,
        software_versions=volume.software,
        window=DEFAULT_CT_WINDOW,
        derivation=Derivation(
            description=volume.derivation,
            code=SYNTHESIS_DERIVATION if made_from_mri else None,
            source_sop_class_uid=MRImageStorage if made_from_mri else "",
        ),
        attributes=_contrast_attributes(volume),
    )


def dicom_slices(volume: ExportedVolume) -> list[Dataset]:
    """One DICOM dataset per slice (write each with `imaging.dicom.write_dataset` or `dataset_bytes`)."""
    if volume.hu.dtype != np.int16 or volume.hu.ndim != 3:
        raise ValueError(
            f"expected (slices, rows, columns) int16 HU, got {volume.hu.dtype} {volume.hu.shape}"
        )
    series = dicom_series(volume)
    rows, columns = volume.hu.shape[1:]
    datasets = []
    for index, (plane, z) in enumerate(zip(volume.hu, volume.z_mm, strict=True)):
        image = AxialImage(
            sop_instance_uid=(
                volume.sop_instance_uids[index]
                if volume.sop_instance_uids
                else exported_volume_uid(volume.volume_uid, "instance", index)
            ),
            instance_number=index + 1,
            position_mm=centred_position(
                rows, columns, series.pixel_spacing_mm, volume.orientation, float(z)
            ),
            orientation=volume.orientation,
            slice_location_mm=float(z),
            pixels=plane,
            source_sop_instance_uids=(
                tuple(volume.source_sop_instance_uids[index]) if volume.source_sop_instance_uids else ()
            ),
        )
        datasets.append(slice_dataset(series, image))
    return datasets


def nifti_image(volume: ExportedVolume) -> nibabel.Nifti1Image:
    """The volume as a RAS+ NIfTI image (the inverse of `imaging.nifti.load_nifti`'s slice order)."""
    import nibabel  # here, not at the top: nibabel loads SciPy, and the admin imports this module

    slices, rows, columns = volume.hu.shape
    data = np.transpose(np.flip(volume.hu, axis=(1, 2)), (2, 1, 0))
    affine = np.diag([volume.column_spacing_mm, volume.row_spacing_mm, volume.slice_spacing_mm, 1.0])
    affine[:3, 3] = [
        -(columns - 1) / 2 * volume.column_spacing_mm,
        -(rows - 1) / 2 * volume.row_spacing_mm,
        float(volume.z_mm[0]),
    ]
    image = nibabel.Nifti1Image(np.ascontiguousarray(data, dtype=np.int16), affine)
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = volume.derivation[:79].encode("ascii", "replace")
    image.header.set_qform(affine, code=1)
    image.header.set_sform(affine, code=1)
    return image


def nifti_bytes(volume: ExportedVolume) -> bytes:
    """gzip-compressed NIfTI-1 file contents (.nii.gz), byte-identical for the same volume."""
    return gzip.compress(nifti_image(volume).to_bytes(), compresslevel=6, mtime=0)
