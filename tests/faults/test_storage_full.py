"""The disk fills up (or storage raises) while a survey is rendered or an import stores pixels: the caller gets
one line, no row is kept and no file is left behind, not even the partial file the failed write left.

The fault is a real partial write: the storage backend's save writes half of the file, then raises
``OSError(ENOSPC)``, as a full file system does."""

import errno
import io
import os

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from archives.export import build_archive
from archives.format import read_archive, write_archive
from archives.models import StudyExport
from audit.models import AuditEvent
from generation.models import Checkpoint
from generation.vocabulary import CheckpointRefused
from imaging.models import Dataset, ImportJob, Slice, Volume
from jobs.models import JobStatus
from reports.models import ReportJob
from reports.services import ReportUnavailable, report_now
from studies.design import StudyDesign
from studies.models import Answer, Item, PracticeItem, Survey
from studies.services import StudyError, do_change_survey_settings
from tests.archives.test_archive_design import designed_and_closed, renumbered
from tests.conftest import stored_files
from tests.generation.factories import pth_bytes, register_small, small_resnet
from tests.generation.test_registry import upload as upload_checkpoint
from tests.imaging.dicom_factory import write_series

FULL = "No space left on device"


@pytest.fixture
def disk_full(monkeypatch):
    """disk_full(after=N): the next N saves succeed, every later one writes half its file and raises ENOSPC."""
    real_save = FileSystemStorage._save
    state = {"left": None, "failed": 0}

    def save(self, name, content):
        if state["left"] is not None and state["left"] <= 0:
            path = self.path(name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = content.read()
            with open(path, "wb") as handle:
                handle.write(data[: len(data) // 2])
            state["failed"] += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        if state["left"] is not None:
            state["left"] -= 1
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", save)

    def arm(*, after: int):
        state["left"], state["failed"] = after, 0
        return state

    return arm


def counts():
    return (
        Survey.objects.count(),
        Item.objects.count(),
        PracticeItem.objects.count(),
        Answer.objects.count(),
        Volume.objects.count(),
        Slice.objects.count(),
        Dataset.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "after", [0, 3, 9]
)  # the first payload, one among the items, one among practice items
def test_a_full_disk_while_a_survey_is_rendered_is_one_line_no_rows_no_files(
    make_survey, pools, media_root, disk_full, after
):
    before, files = counts(), stored_files(media_root)
    state = disk_full(after=after)
    with pytest.raises(StudyError) as caught:
        make_survey(per_side=4, design=StudyDesign(practice_items=2))  # 8 items, 2 practice items: 10 files
    message = str(caught.value)
    assert message.startswith("cannot store the rendered pixels: cannot store survey-items/")
    assert FULL in message and "\n" not in message
    assert state["failed"] == 1
    assert counts() == before
    assert stored_files(media_root) == files


@pytest.mark.django_db
def test_a_full_disk_while_a_draft_is_rendered_again_keeps_its_old_payloads(
    make_survey, media_root, disk_full
):
    survey = make_survey(per_side=3)
    payloads = sorted(survey.items.values_list("payload", "payload_sha256"))
    before, files = counts(), stored_files(media_root)
    disk_full(after=4)
    with pytest.raises(StudyError, match=f"cannot store the rendered pixels: .*{FULL}"):
        do_change_survey_settings(
            survey=survey, actor=None, policy=survey.display_policy.replace(interpolation="nearest")
        )
    assert counts() == before and stored_files(media_root) == files
    assert sorted(survey.items.values_list("payload", "payload_sha256")) == payloads


@pytest.mark.django_db
def test_the_create_survey_command_says_the_disk_is_full_in_one_line(pools, media_root, disk_full):
    before, files = counts(), stored_files(media_root)
    disk_full(after=2)
    with pytest.raises(CommandError) as caught:
        call_command(
            "create_survey",
            "--name",
            "Full disk",
            "--model",
            pools.synthetic.name,
            "--real-dataset",
            pools.real.name,
            "--real",
            "3",
            "--synthetic",
            "3",
            "--seed",
            "1",
            "--matrix",
            "64",
            stdout=io.StringIO(),
        )
    assert FULL in str(caught.value) and "\n" not in str(caught.value)
    assert counts() == before and stored_files(media_root) == files


def archive_to_import(make_survey, join, tmp_path):
    """An archive of a designed survey (renamed here, new item ids) that this database may import."""
    survey = designed_and_closed(make_survey, join, per_side=2)
    archive = read_archive(build_archive([survey]))
    Survey.objects.filter(pk=survey.pk).update(name="Renamed here")
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    path = tmp_path / "study.zip"
    path.write_bytes(write_archive(renumbered(dict(archive.files), archive), metadata=metadata))
    return path


@pytest.mark.django_db
def test_a_full_disk_while_an_archive_is_imported_is_one_line_no_rows_no_files(
    make_survey, join, tmp_path, media_root, disk_full
):
    path = archive_to_import(make_survey, join, tmp_path)
    # Saves of an import: the uploaded copy, the kept copy, then one slice per item and practice item (4 + 2),
    # then the payloads. Fail each kind once.
    for after in (0, 1, 2, 5, 8, 10):
        before, files = counts(), stored_files(media_root)
        state = disk_full(after=after)
        with pytest.raises(CommandError) as caught:
            call_command("import_study", str(path), stdout=io.StringIO())
        message = str(caught.value)
        assert f"{path}: nothing imported: cannot store " in message, after
        assert FULL in message and "\n" not in message, after
        assert state["failed"] == 1, after
        assert counts()[:7] == before[:7], after  # only the failed job's own audit rows are added
        assert not AuditEvent.objects.filter(verb="survey.imported").exists()
        assert stored_files(media_root) == files, after
    disk_full(after=10_000)
    call_command("import_study", str(path), stdout=io.StringIO())  # with room, the same archive imports
    assert Survey.objects.filter(name="Designed study").exists()


@pytest.mark.django_db
def test_a_full_disk_while_images_are_imported_is_one_line_no_rows_no_files(tmp_path, media_root, disk_full):
    write_series(tmp_path / "in" / "ct", n=4)
    disk_full(after=2)
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_images",
            str(tmp_path / "in"),
            "--dataset",
            "CT",
            "--kind",
            "ct",
            "--contrast",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    message = str(caught.value)
    assert (
        message.startswith("import stopped: cannot store slices/") and FULL in message and "\n" not in message
    )
    assert Volume.objects.count() == 0 and Slice.objects.count() == 0
    assert stored_files(media_root) == []


def test_the_fault_is_a_real_partial_write(tmp_path, disk_full, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    disk_full(after=0)
    storage = FileSystemStorage(location=str(tmp_path))
    with pytest.raises(OSError, match=FULL):
        storage.save("x.bin", io.BytesIO(b"0123456789"))
    assert (tmp_path / "x.bin").read_bytes() == b"01234"


def job_counts():
    return (
        Checkpoint.objects.count(),
        ImportJob.objects.count(),
        ReportJob.objects.exclude(pdf="").count(),
        StudyExport.objects.exclude(archive="").count(),
    )


@pytest.mark.django_db
def test_a_full_disk_while_a_checkpoint_is_registered_is_one_line_no_rows_no_files(media_root, disk_full):
    before, files = counts(), stored_files(media_root)
    state = disk_full(after=0)
    with pytest.raises(CheckpointRefused) as caught:
        register_small("full")
    message = str(caught.value)
    assert message.startswith("checkpoint not registered: cannot store checkpoints/")
    assert FULL in message and "\n" not in message and state["failed"] == 1
    assert counts() == before and job_counts() == (0, 0, 0, 0)
    assert stored_files(media_root) == files


@pytest.mark.django_db
def test_a_full_disk_during_an_admin_checkpoint_upload_shows_one_line_and_stores_nothing(
    client, admin_user, media_root, disk_full
):
    client.force_login(admin_user)
    before, files = counts(), stored_files(media_root)
    disk_full(after=0)
    response = upload_checkpoint(client, pth_bytes(small_resnet().state_dict()))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Refused latest_net_G_A.pth: checkpoint not registered: cannot store checkpoints/" in text
    assert FULL in text
    assert counts() == before and not Checkpoint.objects.exists()
    assert stored_files(media_root) == files


@pytest.mark.django_db
@pytest.mark.parametrize("after", [0, 1, 2])  # stats.json, report.pdf, page.html
def test_a_full_disk_while_a_report_is_stored_is_one_line_no_artefacts_no_files(
    make_survey, join, media_root, disk_full, after
):
    survey = designed_and_closed(make_survey, join, per_side=2)
    files = stored_files(media_root)
    state = disk_full(after=after)
    with pytest.raises(ReportUnavailable) as caught:
        report_now(surveys=[survey])
    message = str(caught.value)
    assert message.startswith(
        "the report could not be computed: the report could not be stored: cannot store reports/"
    )
    assert FULL in message and "\n" not in message and state["failed"] == 1
    job = ReportJob.objects.get()  # the failed job records the attempt; it points at no file
    assert job.status == JobStatus.FAILED and FULL in job.error and "\n" not in job.error
    assert (job.stats_json, job.pdf, job.page_html, job.stats_sha256, job.pdf_sha256) == ("",) * 5
    assert stored_files(media_root) == files
    assert not AuditEvent.objects.filter(verb="report.finished").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "report_first", [False, True]
)  # the disk fills on the report the archive holds, or on the archive
def test_a_full_disk_while_a_study_is_exported_is_one_line_no_archive_no_files(
    make_survey, join, media_root, disk_full, tmp_path, report_first
):
    survey = designed_and_closed(make_survey, join, per_side=2)
    if report_first:
        report_now(surveys=[survey])  # current: the export stores only the archive
    files = stored_files(media_root)
    state = disk_full(after=0)
    out = tmp_path / "study.zip"
    with pytest.raises(CommandError) as caught:
        call_command("export_study", survey.name, out=str(out), stdout=io.StringIO())
    message = str(caught.value)
    assert "could not be stored: cannot store " in message, message
    assert FULL in message and "\n" not in message and state["failed"] == 1
    assert not out.exists()
    assert StudyExport.objects.exclude(archive="").count() == 0
    assert not AuditEvent.objects.filter(verb="study_export.finished").exists()
    # What stays stored is the finished report computed before (its job points at its files), never a part of
    # the archive or of a report the full disk interrupted.
    assert ReportJob.objects.filter(status=JobStatus.DONE).count() == (1 if report_first else 0)
    assert set(stored_files(media_root)) == set(files)


@pytest.mark.django_db
@pytest.mark.parametrize("after", [0, 2])  # the first upload, the third
def test_a_full_disk_while_an_admin_image_upload_is_saved_is_one_line_no_job_no_files(
    tmp_path, client, admin_user, media_root, disk_full, after
):
    client.force_login(admin_user)
    paths, _ = write_series(tmp_path / "ct", n=4)
    before, files = counts(), stored_files(media_root)
    state = disk_full(after=after)
    response = client.post(
        reverse("admin:imaging_importjob_upload"),
        {
            "dataset": "Uploaded CT",
            "kind": "ct",
            "contrast": "yes",
            "files": [SimpleUploadedFile(p.name, p.read_bytes()) for p in paths],
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "upload not stored: cannot store uploads/" in text and FULL in text, text[-2000:]
    assert state["failed"] == 1
    assert counts() == before and not ImportJob.objects.exists()
    assert stored_files(media_root) == files
