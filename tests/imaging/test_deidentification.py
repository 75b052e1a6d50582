"""The de-identification profile (imaging.dicom.deidentify) on one dataset, and what an import keeps of it."""

import io

import pydicom
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from imaging.dicom import read_header
from imaging.dicom.deidentify import Deidentifier
from imaging.models import Slice, Volume
from imaging.services import deidentifier
from tests.imaging.dicom_factory import write_series
from tests.imaging.phi_series import ACCESSION, BIRTH_DATE, INSTITUTION, PATIENT_ID, write_phi_series

KEY = Deidentifier(key=b"a test key that is only used here")


def test_the_profile_replaces_identity_removes_what_it_lists_and_marks_the_dataset(tmp_path):
    paths = write_phi_series(tmp_path / "s", n=1)
    original = pydicom.dcmread(paths[0])
    ds = KEY.apply(pydicom.dcmread(paths[0]))
    assert str(ds.PatientName) == ds.PatientID == KEY.pseudonym(PATIENT_ID)
    for keyword in (
        "InstitutionName",
        "InstitutionAddress",
        "OtherPatientIDs",
        "OperatorsName",
        "PatientAge",
    ):
        assert keyword not in ds, keyword
    for keyword in ("PatientBirthDate", "AccessionNumber", "ReferringPhysicianName", "StudyID", "PatientSex"):
        assert ds[keyword].value in ("", None), keyword
    assert not any(element.tag.is_private for element in ds)
    # New UIDs derived under the key; the SOP class is a class, not an instance, and stays.
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        assert ds[keyword].value == KEY.uid(original[keyword].value) != original[keyword].value
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.SOPClassUID == original.SOPClassUID
    # Modified dates: moved back by the patient's whole number of days; times kept.
    assert ds.StudyDate != "20240315" and ds.StudyDate == ds.SeriesDate and ds.StudyTime == "101500"
    shift = KEY.date_shift_days(PATIENT_ID)
    assert 1 <= shift <= 3650
    # Clean descriptors: kept without the identifying values.
    assert ds.StudyDescription == "CT addome" and ds.SeriesDescription == "Portal venous phase"
    assert ds.ImageComments == "patient , born"
    assert ds.PatientIdentityRemoved == "YES" and ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100", "113107", "113105"]
    text = str(ds)
    for value in (PATIENT_ID, BIRTH_DATE, INSTITUTION, ACCESSION, "Rossi", "Bianchi", "Verdi"):
        assert value not in text, value


def test_pseudonyms_and_uids_depend_on_the_key_and_on_nothing_else():
    other = Deidentifier(key=b"another key")
    assert KEY.pseudonym(PATIENT_ID) == KEY.pseudonym(PATIENT_ID) != other.pseudonym(PATIENT_ID)
    assert KEY.pseudonym(PATIENT_ID) != KEY.pseudonym(PATIENT_ID + "Y")
    assert KEY.uid("1.2.3") == KEY.uid("1.2.3") != other.uid("1.2.3")
    assert len(KEY.pseudonym(PATIENT_ID)) == 19 and KEY.pseudonym(PATIENT_ID).startswith("pt-")


def test_a_header_is_read_de_identified(tmp_path):
    paths = write_phi_series(tmp_path / "s", n=1)
    header = read_header(str(paths[0]), kind="ct", deidentifier=KEY)
    original = pydicom.dcmread(paths[0])
    assert header.patient == KEY.pseudonym(PATIENT_ID)
    assert header.series_uid == KEY.uid(original.SeriesInstanceUID)
    assert header.sop_instance_uid == KEY.uid(original.SOPInstanceUID)


@pytest.mark.django_db
def test_an_import_stores_the_pseudonym_new_uids_and_no_path_and_a_second_import_is_skipped(tmp_path):
    folder = tmp_path / "Rossi_Mario_RSSMRA80A01F205X"
    paths = write_phi_series(folder, n=4)
    out = io.StringIO()
    call_command("import_images", str(folder), "--dataset", "CT", "--kind", "ct", "--no-contrast", stdout=out)
    volume = Volume.objects.get()
    original = pydicom.dcmread(paths[0])
    assert volume.patient == deidentifier().pseudonym(PATIENT_ID)
    assert volume.series_key == deidentifier().uid(original.SeriesInstanceUID)
    assert volume.source_path.startswith("import_images ") and volume.source_path.endswith(", series 1")
    assert "Rossi" not in volume.source_path and str(tmp_path) not in volume.source_path
    uids = set(Slice.objects.values_list("sop_instance_uid", flat=True))
    assert uids.isdisjoint({str(pydicom.dcmread(p).SOPInstanceUID) for p in paths}) and len(uids) == 4
    again = io.StringIO()
    call_command("import_images", str(folder), "--dataset", "CT", "--kind", "ct", stdout=again)
    assert "already imported" in again.getvalue() and Volume.objects.count() == 1
    for event in AuditEvent.objects.all():
        assert PATIENT_ID not in str(event.details) and str(original.SeriesInstanceUID) not in str(
            event.details
        )


@pytest.mark.django_db
def test_a_series_with_burned_in_annotation_is_refused_with_the_reason(tmp_path):
    paths, _ = write_series(tmp_path / "burned", n=3)
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.BurnedInAnnotation = "YES"
        ds.save_as(path)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_images", str(tmp_path / "burned"), "--dataset", "CT", "--kind", "ct", "--no-contrast",
            stdout=io.StringIO(), stderr=err,
        )  # fmt: skip
    assert err.getvalue().count("BurnedInAnnotation is YES") == 3
    assert Volume.objects.count() == 0


@pytest.mark.django_db
def test_nifti_patients_are_named_by_the_importer_never_by_the_file(tmp_path):
    import nibabel as nib
    import numpy as np

    for name in ("Rossi_Mario_RSSMRA80A01F205X.nii.gz", "Bianchi_Luca.nii.gz"):
        data = np.random.default_rng(len(name)).integers(-1000, 1000, (8, 8, 3)).astype(np.int16)
        nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / name)
    call_command(
        "import_images", str(tmp_path / "Rossi_Mario_RSSMRA80A01F205X.nii.gz"), "--dataset", "N", "--kind", "ct",
        "--no-contrast", "--patient", "case 7", stdout=io.StringIO(),
    )  # fmt: skip
    call_command(
        "import_images", str(tmp_path / "Bianchi_Luca.nii.gz"), "--dataset", "N", "--kind", "ct",
        stdout=io.StringIO(),
    )  # fmt: skip
    named, unnamed = Volume.objects.order_by("id")
    assert named.patient == deidentifier().pseudonym("case 7")
    assert unnamed.patient.startswith("pt-") and unnamed.patient != named.patient
    for volume in (named, unnamed):
        assert "Rossi" not in volume.source_path + volume.patient and "Bianchi" not in volume.source_path
