"""Every DICOM file the platform writes is valid for its IOD (dciodvfy, from Debian's dicom3tools, finds no errors)
and reads back through the platform's own importer with the same pixels."""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

from archives.export import build_archive
from archives.format import read_archive
from generation.services import generate_now, start_generation
from generation.volume_export import export_volume
from imaging.models import Dataset, Volume
from imaging.phantoms import write_phantoms
from imaging.pixels import load_slice_pixels
from imaging.services import import_images
from jobs.models import JobStatus
from studies.rendering import decode_payload
from tests.generation.factories import make_mri_dataset, register_small
from tests.studies.conftest import make_survey, pools  # noqa: F401  (fixtures: a survey for the archive)

PHANTOM = {"patients": 1, "seed": 3, "ct_matrix": 64, "mr_matrix": 32, "ct_slices": 4, "mr_slices": 3}
PHANTOM_FOLDERS = {
    "ct": "CT/1/DICOM_anon",
    "ct_noncontrast": "CT_noncontrast/1/DICOM_anon",
    "t1_in": "MR/1/T1DUAL/DICOM_anon/InPhase",
    "t1_out": "MR/1/T1DUAL/DICOM_anon/OutPhase",
    "t2": "MR/1/T2SPIR/DICOM_anon",
}
# What an exported CT slice still draws warnings for, and why it stays:
EXPORT_WARNINGS = {
    # The image library keeps no study date, time or ID; Type 2, so written empty rather than made up.
    "Warning - Missing attribute or value that would be needed to build DICOMDIR - Study Date",
    "Warning - Missing attribute or value that would be needed to build DICOMDIR - Study Time",
    "Warning - Missing attribute or value that would be needed to build DICOMDIR - Study ID",
    # The body part is not kept either, so neither is whether it is paired: Laterality is empty (unknown).
    "Warning - is only permitted to be empty when actually unknown; should be absent (not empty) if an unpaired "
    "body part, and have a value if a paired body part - attribute <Laterality>",
}
# ... and a pseudonym without "^" (a valid one-component name) reads to dciodvfy like the retired ACR-NEMA form.
RETIRED_NAME_FORM = "PN Patient's Name  PN [1] = <{name}> - Retired Person Name form"


@dataclass(frozen=True)
class Findings:
    errors: list[str]
    warnings: list[str]


def dciodvfy(path: Path) -> Findings:
    executable = shutil.which("dciodvfy")
    if executable is None:
        pytest.fail("dciodvfy not found: install Debian's dicom3tools (.ci/run does)")
    result = subprocess.run([executable, str(path)], capture_output=True, text=True, timeout=60)
    lines = (result.stdout + result.stderr).splitlines()
    findings = Findings(
        errors=[line for line in lines if line.startswith("Error")],
        warnings=[line for line in lines if line.startswith("Warning")],
    )
    assert (result.returncode != 0) == bool(findings.errors), lines
    return findings


def assert_valid(path: Path, *, allowed_warnings=frozenset(), patient: str = "") -> None:
    findings = dciodvfy(path)
    assert findings.errors == [], findings.errors
    unexpected = [
        line
        for line in findings.warnings
        if line not in allowed_warnings
        and not (patient and line.endswith(RETIRED_NAME_FORM.format(name=patient)))
    ]
    assert unexpected == [], unexpected


@pytest.fixture(scope="module")
def phantom_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("phantoms")
    write_phantoms(root, **PHANTOM)
    return root


def first_file(folder: Path) -> Path:
    return sorted(folder.glob("*.dcm"))[0]


def test_dciodvfy_reports_a_missing_type_2_attribute(phantom_root, tmp_path):
    # The checks below are worth something only if a broken file is seen as one.
    ds = pydicom.dcmread(first_file(phantom_root / PHANTOM_FOLDERS["ct"]))
    del ds.ReferringPhysicianName
    ds.save_as(tmp_path / "broken.dcm", enforce_file_format=True)
    (error,) = dciodvfy(tmp_path / "broken.dcm").errors
    assert "ReferringPhysicianName" in error


@pytest.mark.parametrize("kind", PHANTOM_FOLDERS)
def test_phantom_slices_have_no_errors_and_no_warnings(phantom_root, kind):
    folder = phantom_root / PHANTOM_FOLDERS[kind]
    files = sorted(folder.glob("*.dcm"))
    for path in (files[0], files[-1]):
        assert_valid(path)


@pytest.fixture
def synthetic_ct(db, media_root):
    make_mri_dataset("MRI", {("p1", "t1_in"): [0.0, 6.0, 12.0]})
    checkpoint = register_small("conformance")
    job = start_generation(checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="MRI"), enqueue=False)
    assert generate_now(job, device="cpu").status == JobStatus.DONE
    return Volume.objects.get(dataset__kind=Dataset.Kind.SYNTHETIC_CT)


def stored_pixels(volume: Volume) -> np.ndarray:
    return np.stack([load_slice_pixels(s.pixels) for s in volume.slices.order_by("index")])


def test_an_exported_synthetic_ct_has_no_errors(synthetic_ct, tmp_path):
    paths, _ = export_volume(synthetic_ct, fmt="dicom", outdir=tmp_path)
    for path in (paths[0], paths[-1]):
        assert_valid(path, allowed_warnings=EXPORT_WARNINGS, patient="p1")


def test_a_synthetic_ct_imported_from_files_exports_without_errors(synthetic_ct, tmp_path):
    export_volume(synthetic_ct, fmt="dicom", outdir=tmp_path / "first")
    report = import_images(path=tmp_path / "first", dataset_name="Imported sCT", kind="sct", contrast=True)
    assert report.ok
    imported = Volume.objects.get(dataset__name="Imported sCT")
    paths, _ = export_volume(imported, fmt="dicom", outdir=tmp_path / "second")
    assert_valid(paths[0], allowed_warnings=EXPORT_WARNINGS, patient=imported.patient)
    again = pydicom.dcmread(paths[0])
    # Not the UIDs of the files it was imported from: those name other files.
    assert again.SOPInstanceUID != imported.slices.get(index=0).sop_instance_uid
    assert "SourceImageSequence" not in again and "DerivationCodeSequence" not in again


@pytest.mark.django_db
def test_a_real_ct_exports_without_errors_and_imports_back_with_the_same_pixels(phantom_root, tmp_path):
    assert import_images(path=phantom_root / "CT", dataset_name="Real CT", kind="ct", contrast=True).ok
    real = Volume.objects.get(dataset__name="Real CT")
    paths, warnings = export_volume(real, fmt="dicom", outdir=tmp_path / "export")
    assert warnings == [] and len(paths) == PHANTOM["ct_slices"]
    assert_valid(paths[0], allowed_warnings=EXPORT_WARNINGS, patient=real.patient)
    exported = pydicom.dcmread(paths[0])
    assert exported.ContrastBolusAgent == "" and list(exported.ImageType) == ["DERIVED", "SECONDARY", "AXIAL"]
    assert exported.SOPInstanceUID != real.slices.get(index=0).sop_instance_uid
    assert import_images(path=tmp_path / "export", dataset_name="Back", kind="ct", contrast=True).ok
    back = Volume.objects.get(dataset__name="Back")
    np.testing.assert_array_equal(stored_pixels(back), stored_pixels(real))
    assert list(back.slices.order_by("index").values_list("z_mm", flat=True)) == list(
        real.slices.order_by("index").values_list("z_mm", flat=True)
    )


@pytest.mark.django_db
def test_phantom_ct_and_mri_import_with_the_pixels_written(phantom_root):
    for folder, kind in (("CT", "ct"), ("MR", "mr")):
        contrast = True if kind == "ct" else None
        assert import_images(path=phantom_root / folder, dataset_name=folder, kind=kind, contrast=contrast).ok
    for series, folder in PHANTOM_FOLDERS.items():
        if series == "ct_noncontrast":
            continue
        files = [pydicom.dcmread(path) for path in sorted((phantom_root / folder).glob("*.dcm"))]
        written = np.stack([apply_modality_lut(ds.pixel_array, ds) for ds in files])
        volume = Volume.objects.get(dataset__name="CT" if series == "ct" else "MR", modality=series)
        np.testing.assert_array_equal(stored_pixels(volume), written)


@pytest.mark.django_db
def test_a_study_archive_item_has_no_errors_and_holds_the_pixels_readers_saw(make_survey, tmp_path):  # noqa: F811
    survey = make_survey(per_side=1)
    archive = read_archive(build_archive([survey]))
    for entry in archive.json("surveys/01/items.json"):
        path = tmp_path / f"{entry['public_id']}.dcm"
        path.write_bytes(archive.files[f"surveys/01/{entry['dicom']}"])
        assert_valid(path, allowed_warnings=EXPORT_WARNINGS, patient=entry["public_id"])
        shown = decode_payload(
            archive.files[f"surveys/01/{entry['payload']}"], survey.display_policy.matrix_size
        )
        ds = pydicom.dcmread(path)
        np.testing.assert_array_equal(apply_modality_lut(ds.pixel_array, ds), shown)
        assert ds.SOPInstanceUID != entry["source"]["sop_instance_uid"]
