"""Writing axial CT and MR slices as DICOM files: the one writer behind the phantoms and the volume exports.

Pure pydicom/NumPy. A `Series` holds what every slice of a series shares (patient, study, equipment, geometry,
pixel encoding, how it was derived); `slice_dataset` adds one `AxialImage` and returns a CT Image or MR Image
dataset (Part 10, explicit VR little endian) that holds every Type 1 and Type 2 attribute of the IOD's mandatory
modules, Type 2 ones empty where the value is not known (tests/imaging/test_dicom_conformance.py runs dciodvfy).
"""

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage

from imaging.constants import WindowPreset

SOP_CLASS_OF_MODALITY = {"CT": CTImageStorage, "MR": MRImageStorage}

# Attributes of the CT Image and MR Image modules that a series must give (Type 1), and those written empty
# unless it gives them (Type 2).
_REQUIRED = {"CT": (), "MR": ("ScanningSequence", "SequenceVariant")}
_TYPE_2 = {
    "CT": ("KVP", "AcquisitionNumber"),
    "MR": ("ScanOptions", "MRAcquisitionType", "EchoTime", "EchoTrainLength"),
}


@dataclass(frozen=True)
class CodedConcept:
    """A code of a coding scheme, as DICOM code sequences hold it.

    pydicom.sr has one (`Code`), but importing pydicom.sr loads its whole code dictionary (about 100 ms), which
    every web process would pay for.
    """

    value: str
    scheme: str
    meaning: str

    def item(self) -> Dataset:
        item = Dataset()
        item.CodeValue = self.value
        item.CodingSchemeDesignator = self.scheme
        item.CodeMeaning = self.meaning
        return item


# Source Image Sequence items say why each source was referenced: DCM 121322 "Source image for image processing
# operation" (CID 7202 Source Image Purpose of Reference).
SOURCE_IMAGE_PURPOSE = CodedConcept("121322", "DCM", "Source image for image processing operation")


@dataclass(frozen=True)
class Patient:
    name: str  # written as given (PN); a pseudonym
    id: str
    birth_date: str = ""  # DA; empty: not known
    sex: str = ""  # M, F, O; empty: not known


@dataclass(frozen=True)
class Study:
    uid: str
    patient: Patient
    description: str
    date: str = ""  # DA and TM; empty: not known
    time: str = ""
    study_id: str = ""
    accession_number: str = ""
    referring_physician: str = ""


@dataclass(frozen=True)
class Derivation:
    """How the images of a derived series were made and from what kind of images."""

    description: str  # DerivationDescription, free text
    code: CodedConcept | None = (
        None  # the one item of the Derivation Code Sequence (CID 7203 Image Derivation)
    )
    source_sop_class_uid: str = ""  # of every image named in AxialImage.source_sop_instance_uids


@dataclass(frozen=True)
class PixelEncoding:
    """How pixel values are stored: `bits_stored` in 16 allocated bits, signed or not.

    CT values are HU, stored as HU - rescale_intercept with slope 1; MR values are stored as they are (no rescale).
    """

    bits_stored: int = 16
    signed: bool = False
    rescale_intercept: int | None = None

    def stored(self, values: np.ndarray) -> np.ndarray:
        stored = values.astype(np.int32)
        if self.rescale_intercept is not None:
            stored -= self.rescale_intercept
        low, high = (
            (-(2 ** (self.bits_stored - 1)), 2 ** (self.bits_stored - 1) - 1)
            if self.signed
            else (0, 2**self.bits_stored - 1)
        )
        if stored.size and (int(stored.min()) < low or int(stored.max()) > high):
            raise ValueError(
                f"stored values {int(stored.min())}..{int(stored.max())} do not fit {self.bits_stored} "
                f"{'signed' if self.signed else 'unsigned'} bits"
            )
        return stored.astype("<i2" if self.signed else "<u2")


@dataclass(frozen=True)
class Series:
    """What every slice of one series shares."""

    study: Study
    modality: str  # "CT" or "MR"
    uid: str
    number: int
    description: str
    frame_of_reference_uid: str
    image_type: tuple[str, ...]
    pixel_spacing_mm: tuple[float, float]  # between rows, between columns
    encoding: PixelEncoding
    slice_thickness_mm: float | None = None
    spacing_between_slices_mm: float | None = None
    manufacturer: str = "Blindread"
    model_name: str = ""
    software_versions: str = ""
    body_part: str = ""
    patient_position: str = ""  # HFS, FFS...; empty: not known
    date: str = ""  # series and content date and time; empty: not known
    time: str = ""
    window: WindowPreset | None = None
    derivation: Derivation | None = None
    # Modality attributes written as given (CT: KVP, ConvolutionKernel, ContrastBolusAgent...; MR: the sequence).
    attributes: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        if self.modality not in SOP_CLASS_OF_MODALITY:
            raise ValueError(f"modality must be CT or MR, not {self.modality!r}")
        missing = [keyword for keyword in _REQUIRED[self.modality] if keyword not in self.attributes]
        if missing:
            raise ValueError(f"an {self.modality} series needs {', '.join(missing)}")


@dataclass(frozen=True)
class AxialImage:
    """One slice: its UID, place in the series, geometry and pixels (HU for CT, signal for MR)."""

    sop_instance_uid: str
    instance_number: int
    position_mm: tuple[float, float, float]  # centre of the first (top left) pixel, patient LPS
    orientation: tuple[float, ...]  # row and column direction cosines
    slice_location_mm: float
    pixels: np.ndarray  # (rows, columns)
    source_sop_instance_uids: tuple[str, ...] = ()


def decimal_string(value: float) -> str:
    """A DS value: at most 6 decimals and 16 characters, no trailing zeros, never "-0"."""
    for decimals in range(6, -1, -1):
        text = f"{value:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
        if len(text) <= 16:
            return text
    raise ValueError(f"{value} does not fit a decimal string")


def centred_position(
    rows: int, columns: int, pixel_spacing_mm: tuple[float, float], orientation, z_mm: float
) -> tuple[float, float, float]:
    """The first pixel's centre for a slice whose centre lies on the patient axis (x = y = 0) at height z."""
    row_direction = np.array(orientation[:3], dtype=np.float64)
    column_direction = np.array(orientation[3:], dtype=np.float64)
    corner = (
        np.array([0.0, 0.0, z_mm])
        - row_direction * (columns - 1) / 2 * pixel_spacing_mm[1]
        - column_direction * (rows - 1) / 2 * pixel_spacing_mm[0]
    )
    return (float(corner[0]), float(corner[1]), float(corner[2]))


def _text(value: str, limit: int) -> str:
    return str(value)[:limit]


def _optional_ds(value: float | None) -> str:
    return "" if value is None else decimal_string(value)


def slice_dataset(series: Series, image: AxialImage) -> Dataset:
    """The DICOM dataset of one slice of `series` (save it with `write_dataset` or `dataset_bytes`)."""
    if image.pixels.ndim != 2:
        raise ValueError(f"expected one (rows, columns) slice, got shape {image.pixels.shape}")
    sop_class = SOP_CLASS_OF_MODALITY[series.modality]
    study, patient = series.study, series.study.patient

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = image.sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    # SOP Common
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = image.sop_instance_uid
    # Patient
    ds.PatientName = _text(patient.name, 64)
    ds.PatientID = _text(patient.id, 64)
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    # General Study
    ds.StudyInstanceUID = study.uid
    ds.StudyDate = study.date
    ds.StudyTime = study.time
    ds.ReferringPhysicianName = study.referring_physician
    ds.StudyID = _text(study.study_id, 16)
    ds.AccessionNumber = _text(study.accession_number, 16)
    ds.StudyDescription = _text(study.description, 64)
    # General Series
    ds.Modality = series.modality
    ds.SeriesInstanceUID = series.uid
    ds.SeriesNumber = series.number
    ds.SeriesDescription = _text(series.description, 64)
    ds.PatientPosition = series.patient_position
    if series.body_part:
        ds.BodyPartExamined = series.body_part
    else:
        # Laterality is required for a paired body part; with the body part unknown, so is the laterality.
        ds.Laterality = ""
    if series.date:
        ds.SeriesDate = ds.ContentDate = series.date
    if series.time:
        ds.SeriesTime = ds.ContentTime = series.time
    # Frame of Reference
    ds.FrameOfReferenceUID = series.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    # General Equipment
    ds.Manufacturer = series.manufacturer
    if series.model_name:
        ds.ManufacturerModelName = _text(series.model_name, 64)
    if series.software_versions:
        ds.SoftwareVersions = _text(series.software_versions, 64)
    # General Image and General Reference
    ds.InstanceNumber = image.instance_number
    ds.ImageType = list(series.image_type)
    ds.BurnedInAnnotation = "NO"
    _derivation(ds, series, image)
    # Image Plane
    ds.ImagePositionPatient = [decimal_string(v) for v in image.position_mm]
    ds.ImageOrientationPatient = [decimal_string(v) for v in image.orientation]
    ds.PixelSpacing = [decimal_string(v) for v in series.pixel_spacing_mm]
    ds.SliceThickness = _optional_ds(series.slice_thickness_mm)
    if series.spacing_between_slices_mm is not None:
        ds.SpacingBetweenSlices = decimal_string(series.spacing_between_slices_mm)
    ds.SliceLocation = decimal_string(image.slice_location_mm)
    # Image Pixel
    encoding = series.encoding
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = image.pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = encoding.bits_stored
    ds.HighBit = encoding.bits_stored - 1
    ds.PixelRepresentation = 1 if encoding.signed else 0
    if encoding.rescale_intercept is not None:
        ds.RescaleIntercept = str(encoding.rescale_intercept)
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
    if series.window is not None:
        ds.WindowCenter = decimal_string(series.window.level)
        ds.WindowWidth = decimal_string(series.window.width)
    # CT Image or MR Image
    for keyword in _TYPE_2[series.modality]:
        setattr(ds, keyword, "")
    for keyword, value in series.attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(encoding.stored(image.pixels)).tobytes()
    return ds


def _derivation(ds: Dataset, series: Series, image: AxialImage) -> None:
    derivation = series.derivation
    if derivation is None:
        if image.source_sop_instance_uids:
            raise ValueError("source images need a Derivation saying what kind of images they are")
        return
    ds.DerivationDescription = _text(derivation.description, 1024)
    if derivation.code is not None:
        ds.DerivationCodeSequence = Sequence([derivation.code.item()])
    if image.source_sop_instance_uids:
        if not derivation.source_sop_class_uid:
            raise ValueError("source images need their SOP class (Derivation.source_sop_class_uid)")
        references = []
        for uid in image.source_sop_instance_uids:
            item = Dataset()
            item.ReferencedSOPClassUID = derivation.source_sop_class_uid
            item.ReferencedSOPInstanceUID = uid
            item.PurposeOfReferenceCodeSequence = Sequence([SOURCE_IMAGE_PURPOSE.item()])
            references.append(item)
        ds.SourceImageSequence = Sequence(references)


def dataset_bytes(ds: Dataset) -> bytes:
    """The Part 10 file (preamble, file meta, dataset) of `ds`."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write_dataset(ds: Dataset, path: str | Path) -> Path:
    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path
