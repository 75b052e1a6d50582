"""A series full of patient identity imported through every path (the import command, the admin's zip upload,
the API's upload, a NIfTI file named after the patient), then shown, studied and exported every way: none of the
identifying values is anywhere afterwards, by `phi_scan`, by a raw search of a pg_dump of the database and of the
storage tree, and in the admin pages, the API and every export."""

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from imaging.models import ImportJob, Volume
from jobs.models import JobStatus
from studies.models import Survey
from studies.policy import DisplayPolicy
from studies.services import create_survey, do_close_survey
from studies.simulation import simulate_readers
from studies.survey_input import SurveyInput
from tests.imaging.phi_series import PATIENT_ID, PHI_VALUES, write_phi_series

pytestmark = pytest.mark.django_db(transaction=True)


def zipped(folder: Path, inside: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{inside}/{path.relative_to(folder)}")
    return buffer.getvalue()


def phi_scan(*arguments) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(
            "phi_scan", *[a for value in PHI_VALUES for a in ("--value", value)], *arguments, stdout=out
        )
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def found_in(data: bytes) -> list[str]:
    lowered = data.lower()
    return [value for value in PHI_VALUES if value.lower().encode() in lowered]


def pg_dump() -> bytes:
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    command = ["pg_dump", "-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432)]
    command += ["-U", settings["USER"], "--no-owner", settings["NAME"]]
    return subprocess.run(command, env=env, capture_output=True, check=True, timeout=300).stdout


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the raw search reads a pg_dump")
def test_identifying_values_imported_through_every_path_are_found_nowhere(
    tmp_path, client, admin_user, jobs_inline, media_root
):
    source = tmp_path / "Rossi_Mario_RSSMRA80A01F205X"
    write_phi_series(source / "folder", n=6, seed=1)
    write_phi_series(source / "zip", n=6, seed=2, z0=-40.0)
    write_phi_series(source / "api", n=6, seed=3, z0=-30.0)
    nifti = source / "Rossi_Mario_RSSMRA80A01F205X.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4), np.int16) - 1000, np.eye(4)), nifti)
    # The scan can fail: the source files hold every value, and their identifying attributes.
    code, text = phi_scan("--no-database", "--no-storage", "--file", str(source / "folder"))
    assert code == 1 and PATIENT_ID in text and "identifying DICOM attribute InstitutionName" in text

    # The import command, twice (the second is skipped: same pseudonym, same new UIDs).
    for _ in range(2):
        call_command(
            "import_images", str(source / "folder"), "--dataset", "PHI CT", "--kind", "ct", "--no-contrast",
            stdout=io.StringIO(),
        )  # fmt: skip
    call_command("import_images", str(nifti), "--dataset", "PHI NIfTI", "--kind", "ct", "--no-contrast")
    # The admin's zip upload, named after the patient, a folder named after them inside.
    client.force_login(admin_user)
    with jobs_inline():
        response = client.post(
            reverse("admin:imaging_importjob_upload"),
            {
                "dataset": "PHI CT",
                "kind": "ct",
                "files": [SimpleUploadedFile(f"{source.name}.zip", zipped(source / "zip", "Rossi_Mario"))],
            },
        )
    assert response.status_code == 302
    # The API's upload, as the synthetic CT of a model under test.
    with jobs_inline():
        response = client.post(
            "/api/v1/import-jobs/",
            {
                "dataset": "PHI sCT",
                "kind": "sct",
                "contrast": "false",
                "files": [
                    SimpleUploadedFile(p.name + "-Rossi", p.read_bytes()) for p in (source / "api").iterdir()
                ],
            },
        )
    assert response.status_code == 201, response.content
    assert [job.status for job in ImportJob.objects.order_by("id")] == [JobStatus.DONE] * 2
    assert ImportJob.objects.filter(errors=[]).count() == 2
    assert Volume.objects.filter(dataset__name="PHI CT").count() == 2
    assert Volume.objects.filter(dataset__name="PHI sCT").count() == 1
    assert len(set(Volume.objects.filter(source_format="dicom").values_list("patient", flat=True))) == 1

    # Studied and exported every way.
    survey = create_survey(
        options=SurveyInput(
            name="PHI survey",
            model="PHI sCT",
            real_dataset="PHI CT",
            real=3,
            synthetic=3,
            seed=1,
            display_policy=DisplayPolicy(matrix_size=32),
        )
    ).survey
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN, opened_at=timezone.now())
    simulate_readers(survey, 2, seed=1, skill=0.5)
    survey = do_close_survey(survey=Survey.objects.get(pk=survey.pk), actor=None)
    exports = tmp_path / "exports"
    exports.mkdir()
    for fmt in ("csv", "json", "pdf"):
        call_command(
            "export_report", "--survey", survey.name, "--format", fmt, "--out", str(exports / f"report.{fmt}"),
            stdout=io.StringIO(),
        )  # fmt: skip
    call_command("export_study", survey.name, "--out", str(exports / "study.zip"), stdout=io.StringIO())
    for fmt in ("dicom", "nifti"):
        call_command(
            "export_volume", str(exports / fmt), "--format", fmt, "--dataset", "PHI CT", stdout=io.StringIO()
        )
    call_command("export_volume", str(exports / "sct"), "--format", "dicom", "--dataset", "PHI sCT")
    with zipfile.ZipFile(exports / "study.zip") as archive:
        items = json.loads(archive.read("surveys/01/items.json"))
    # The archive's source fields carry the pseudonym and the new UIDs.
    pseudonym = Volume.objects.filter(dataset__name="PHI CT").first().patient
    assert {item["source"]["patient"] for item in items if item["source"]} <= {pseudonym}
    assert any(item["source"] for item in items)

    # Found nowhere: the scan (database, storage, exports) ...
    code, text = phi_scan("--file", str(exports))
    assert code == 0, text
    assert "no PHI found" in text
    # ... a raw search of the database's dump and of every stored file and its name ...
    assert found_in(pg_dump()) == []
    stored = [p for p in media_root.rglob("*") if p.is_file()]
    assert stored and all(p.relative_to(media_root).parts[0] != "uploads" for p in stored)
    for path in stored:
        assert found_in(str(path.relative_to(media_root)).encode() + path.read_bytes()) == [], path
    # ... the admin's pages and the API.
    pages = [
        reverse("admin:imaging_volume_changelist"),
        reverse("admin:imaging_importjob_changelist"),
        reverse("admin:imaging_dataset_changelist"),
        "/api/v1/volumes/",
        "/api/v1/import-jobs/",
        "/api/v1/datasets/",
    ]
    pages += [reverse("admin:imaging_volume_change", args=[v.pk]) for v in Volume.objects.all()]
    pages += [reverse("admin:imaging_importjob_change", args=[j.pk]) for j in ImportJob.objects.all()]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert found_in(response.content) == [], page
    # Searching the volumes for the patient's ID finds none of them (the page shows the query, nothing else).
    searched = client.get(reverse("admin:imaging_volume_changelist") + f"?q={PATIENT_ID}")
    assert searched.context["cl"].result_count == 0
