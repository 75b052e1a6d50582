"""DICOM in and out: `reading` (headers, pixels, series geometry for import), `writing` (the one writer of axial CT
and MR slices, for phantoms and exports) and `uids` (every UID the platform mints). Pure pydicom/NumPy."""

from imaging.dicom.reading import (
    DicomHeader,
    NotImageFile,
    SeriesRejected,
    load_series,
    read_header,
    read_pixels,
)
from imaging.dicom.uids import (
    archived_item_uid,
    derived_uid,
    exported_volume_uid,
    generated_slice_uid,
    phantom_uid,
)
from imaging.dicom.writing import (
    SOP_CLASS_OF_MODALITY,
    AxialImage,
    CodedConcept,
    Derivation,
    Patient,
    PixelEncoding,
    Series,
    Study,
    centred_position,
    dataset_bytes,
    decimal_string,
    slice_dataset,
    write_dataset,
)

__all__ = [
    "SOP_CLASS_OF_MODALITY",
    "archived_item_uid",
    "AxialImage",
    "CodedConcept",
    "Derivation",
    "DicomHeader",
    "NotImageFile",
    "Patient",
    "PixelEncoding",
    "Series",
    "SeriesRejected",
    "Study",
    "centred_position",
    "dataset_bytes",
    "decimal_string",
    "derived_uid",
    "exported_volume_uid",
    "generated_slice_uid",
    "load_series",
    "phantom_uid",
    "read_header",
    "read_pixels",
    "slice_dataset",
    "write_dataset",
]
