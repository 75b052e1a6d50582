"""The DICOM writer: pixels stored exactly, Type 2 attributes present, impossible series refused, stable UIDs."""

import io

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut
from pydicom.uid import MRImageStorage

from imaging.constants import DEFAULT_CT_WINDOW, HU_MAX, HU_MIN
from imaging.dicom import (
    AxialImage,
    Derivation,
    Patient,
    PixelEncoding,
    Series,
    Study,
    centred_position,
    dataset_bytes,
    decimal_string,
    exported_volume_uid,
    generated_slice_uid,
    phantom_uid,
    slice_dataset,
)
from imaging.dicom.writing import SOURCE_IMAGE_PURPOSE

VOLUME_UID = "6f1c1d6e-3a38-4c55-9f0e-2b8e0c1f4a10"
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
STUDY = Study(uid="1.2.3.1", patient=Patient(name="p1", id="p1"), description="test")


def ct_series(**changes) -> Series:
    fields = {
        "study": STUDY,
        "modality": "CT",
        "uid": "1.2.3.2",
        "number": 1,
        "description": "ct",
        "frame_of_reference_uid": "1.2.3.3",
        "image_type": ("DERIVED", "SECONDARY", "AXIAL"),
        "pixel_spacing_mm": (0.8, 0.7),
        "encoding": PixelEncoding(bits_stored=12, rescale_intercept=HU_MIN),
        "window": DEFAULT_CT_WINDOW,
    }
    return Series(**(fields | changes))


def image(pixels: np.ndarray, **changes) -> AxialImage:
    fields = {
        "sop_instance_uid": "1.2.3.4",
        "instance_number": 1,
        "position_mm": (-10.0, -12.0, 5.5),
        "orientation": AXIAL,
        "slice_location_mm": 5.5,
        "pixels": pixels,
    }
    return AxialImage(**(fields | changes))


def read_back(ds) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(dataset_bytes(ds)))


def test_ct_hu_are_stored_in_12_bits_and_read_back_exactly_through_the_modality_lut():
    hu = np.array([[HU_MIN, -1000, 0], [40, 1500, HU_MAX]], dtype=np.int16)
    back = read_back(slice_dataset(ct_series(), image(hu)))
    assert (back.BitsStored, back.HighBit, back.PixelRepresentation) == (12, 11, 0)
    assert int(back.pixel_array.max()) == 4095
    np.testing.assert_array_equal(apply_modality_lut(back.pixel_array, back), hu)
    assert (back.WindowWidth, back.WindowCenter) == (400, 40)


def test_signed_hu_are_stored_as_they_are():
    hu = np.array([[-2000, 0, 5000]], dtype=np.int16)
    series = ct_series(encoding=PixelEncoding(bits_stored=16, signed=True, rescale_intercept=0))
    back = read_back(slice_dataset(series, image(hu)))
    assert back.PixelRepresentation == 1
    np.testing.assert_array_equal(back.pixel_array, hu)


def test_hu_outside_what_the_encoding_holds_are_refused():
    with pytest.raises(ValueError, match="do not fit 12 unsigned bits"):
        slice_dataset(ct_series(), image(np.array([[HU_MAX + 1]], dtype=np.int16)))


def test_type_2_attributes_are_written_empty_when_not_known():
    back = read_back(slice_dataset(ct_series(), image(np.zeros((2, 2), np.int16))))
    for keyword in (
        "PatientBirthDate",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "AccessionNumber",
        "ReferringPhysicianName",
        "PatientPosition",
        "PositionReferenceIndicator",
        "KVP",
        "AcquisitionNumber",
        "SliceThickness",
        "Laterality",
    ):
        assert keyword in back and back[keyword].value in ("", None), keyword


def test_laterality_is_left_out_when_the_body_part_is_known():
    back = read_back(slice_dataset(ct_series(body_part="ABDOMEN"), image(np.zeros((2, 2), np.int16))))
    assert back.BodyPartExamined == "ABDOMEN" and "Laterality" not in back


def test_an_mr_series_needs_its_sequence_and_a_modality_must_be_ct_or_mr():
    with pytest.raises(ValueError, match="needs ScanningSequence, SequenceVariant"):
        ct_series(modality="MR")
    with pytest.raises(ValueError, match="modality must be CT or MR"):
        ct_series(modality="US")


def test_source_images_need_a_derivation_naming_their_sop_class():
    pixels = np.zeros((2, 2), np.int16)
    with pytest.raises(ValueError, match="need a Derivation"):
        slice_dataset(ct_series(), image(pixels, source_sop_instance_uids=("1.2.9",)))
    with pytest.raises(ValueError, match="need their SOP class"):
        slice_dataset(
            ct_series(derivation=Derivation("made")), image(pixels, source_sop_instance_uids=("1.2.9",))
        )
    series = ct_series(derivation=Derivation("made", source_sop_class_uid=MRImageStorage))
    back = read_back(slice_dataset(series, image(pixels, source_sop_instance_uids=("1.2.9", "1.2.10"))))
    assert [item.ReferencedSOPInstanceUID for item in back.SourceImageSequence] == ["1.2.9", "1.2.10"]
    assert back.DerivationDescription == "made" and "DerivationCodeSequence" not in back


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1 + 0.2, "0.3"),
        (-0.0, "0"),
        (-1e-9, "0"),
        (40.0, "40"),
        (-181.99265, "-181.99265"),
        (1e12, "1000000000000"),
    ],
)
def test_decimal_strings_are_short_and_clean(value, text):
    assert decimal_string(value) == text and len(text) <= 16


def test_a_long_decimal_string_gives_up_decimals_to_fit_16_characters():
    assert decimal_string(123456789.1234567) == "123456789.123457"
    assert decimal_string(-1234567890.123456) == "-1234567890.1235"


def test_a_centred_slice_puts_its_first_pixel_half_a_field_of_view_up_and_to_the_right():
    assert centred_position(3, 5, (2.0, 1.0), AXIAL, 7.0) == (-2.0, -2.0, 7.0)


def test_uids_are_the_ones_minted_before_there_was_one_helper():
    # Stored slices and files already written carry these; the helper must keep giving them.
    assert (
        generated_slice_uid(VOLUME_UID, 3)
        == "1.2.826.0.1.3680043.8.498.30767272490809012702654915171344425883"
    )
    assert (
        exported_volume_uid(VOLUME_UID, "series")
        == "1.2.826.0.1.3680043.8.498.95265402647942433082291036442933845423"
    )
    assert (
        phantom_uid(11, 1, "ct", "instance", 0)
        == "1.2.826.0.1.3680043.8.498.10027504391442570367616246152699264150"
    )


def test_the_source_image_purpose_is_the_standards_own_code():
    from pydicom.sr.codedict import codes  # slow to import, so only here

    standard = codes.DCM.SourceImageForImageProcessingOperation
    assert (SOURCE_IMAGE_PURPOSE.value, SOURCE_IMAGE_PURPOSE.scheme, SOURCE_IMAGE_PURPOSE.meaning) == (
        standard.value,
        standard.scheme_designator,
        standard.meaning,
    )
