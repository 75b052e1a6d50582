"""The admin upload: files saved, imported by a real Celery worker, progress and per-file errors on the page."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imaging.models import ImportJob, Volume
from jobs.models import JobStatus
from tests.conftest import stored_files
from tests.imaging.dicom_factory import write_series
from tests.waiting import finished_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.smoke]


def wait_for_job(job_id, timeout_s=60) -> ImportJob:
    return finished_job(ImportJob.objects.get(pk=job_id), timeout_s=timeout_s)


def zip_of(tmp_path, extra: dict[str, bytes]) -> bytes:
    paths, _ = write_series(tmp_path / "series", n=6)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in paths:
            archive.write(path, f"study/series/{path.name}")
        for name, data in extra.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_uploaded_zip_is_imported_by_the_worker_with_per_file_errors(
    tmp_path, client, admin_user, celery_worker, media_root
):
    client.force_login(admin_user)
    archive = zip_of(tmp_path, {"study/readme.dcm": b"not dicom", "../evil.dcm": b"x"})
    response = client.post(
        reverse("admin:imaging_importjob_upload"),
        {
            "dataset": "Uploaded CT",
            "kind": "ct",
            "contrast": "yes",
            "files": [SimpleUploadedFile("study.zip", archive, content_type="application/zip")],
        },
    )
    assert response.status_code == 302
    job = wait_for_job(ImportJob.objects.get().pk)
    assert job.status == JobStatus.DONE and job.status_label == "Done with errors", job.message
    assert Volume.objects.get().slice_count == 6
    reasons = {e["path"]: e["reason"] for e in job.errors}
    # Files by their place in the upload (file 1 of the upload, its entries 7 and 8), never by name.
    assert reasons == {
        "file 1, entry 7": "not a DICOM file",
        "file 1, entry 8": "unsafe path inside the zip",
    }
    page = client.get(reverse("admin:imaging_importjob_change", args=[job.pk]))
    assert b"not a DICOM file" in page.content and b"Done with errors" in page.content
    progress = client.get(reverse("jobs:progress", args=[job.label(), job.pk])).json()
    assert progress["finished"] and progress["done"] == progress["total"] == job.total == 6
    assert progress["status_display"] == "Done with errors"
    # Uploads are removed once imported; only slice pixels remain in storage.
    assert all(p.relative_to(media_root).parts[0] == "slices" for p in stored_files(media_root))


def test_several_loose_files_can_be_uploaded(tmp_path, client, admin_user, celery_worker):
    client.force_login(admin_user)
    paths, _ = write_series(tmp_path / "mr", n=3, modality="MR")
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in paths]
    response = client.post(
        reverse("admin:imaging_importjob_upload"),
        {"dataset": "MR", "kind": "mr", "modality": "t2", "files": files},
    )
    assert response.status_code == 302
    job = wait_for_job(ImportJob.objects.get().pk)
    assert job.status == JobStatus.DONE and not job.errors, job.errors
    assert Volume.objects.get().modality == "t2"


def test_a_corrupt_zip_is_reported_not_raised(client, admin_user, celery_worker):
    client.force_login(admin_user)
    client.post(
        reverse("admin:imaging_importjob_upload"),
        {
            "dataset": "CT",
            "kind": "ct",
            "contrast": "no",
            "files": [SimpleUploadedFile("x.zip", b"PK\x03\x04junk")],
        },
    )
    job = wait_for_job(ImportJob.objects.get().pk)
    assert job.status == JobStatus.DONE and job.status_label == "Done with errors"
    assert job.errors[0]["path"] == "file 1" and "not a readable zip file" in job.errors[0]["reason"]
    assert Volume.objects.count() == 0


@pytest.mark.parametrize(
    "data, error",
    [
        ({"dataset": "New CT", "kind": "ct", "contrast": ""}, "say --contrast or --no-contrast"),
        ({"dataset": "MR", "kind": "mr", "contrast": "yes"}, "CT only"),
        ({"dataset": "", "kind": "ct", "contrast": "yes"}, "This field is required"),
        ({"dataset": "X", "kind": "pet", "contrast": "yes"}, "Select a valid choice"),
    ],
)
def test_a_bad_upload_form_shows_the_error_and_queues_nothing(client, admin_user, data, error):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:imaging_importjob_upload"), {**data, "files": [SimpleUploadedFile("a.dcm", b"x")]}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_an_upload_without_files_is_refused(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:imaging_importjob_upload"), {"dataset": "CT", "kind": "ct", "contrast": "yes"}
    )
    assert response.status_code == 200 and b"This field is required" in response.content
    assert ImportJob.objects.count() == 0


def test_the_upload_page_is_for_staff_only(client, django_user_model):
    user = django_user_model.objects.create_user("reader", password="pw-reader-123")
    client.force_login(user)
    response = client.get(reverse("admin:imaging_importjob_upload"))
    assert response.status_code == 302 and "/login/" in response.url
