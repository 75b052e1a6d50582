"""Reports as jobs: the page and its downloads serve stored artefacts and never compute in a request; a report
job computes them (in a worker, or here for export_report), says when it was computed and how many answers
came since, and leaves nothing half-written when it fails."""

import hashlib
import io
import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from jobs.models import JobStatus
from reports.models import DownloadLog, ReportJob
from reports.selectors import stored_report
from reports.services import ReportUnavailable, report_now, request_report
from studies.models import Answer, AnswerRevision, Assignment, Item
from tests.conftest import stored_files
from tests.waiting import finished_job

pytestmark = pytest.mark.django_db


def page_url(*names):
    return reverse("reports:report") + "?" + "&".join(f"survey={name.replace(' ', '+')}" for name in names)


def add_answer(survey):
    """One more reader answer to the survey (a new reader's first answer)."""
    assignment = Assignment.objects.filter(survey=survey).first()
    item = Item.objects.filter(survey=survey).first()
    other = Assignment.objects.create(
        survey=survey, reader=type(assignment.reader).objects.create_user(f"late-{uuid.uuid4().hex[:6]}"),
        seed=1, item_order=assignment.item_order,
    )  # fmt: skip
    fields = {
        "choice": "real", "reason": "", "seconds_on_slice": 3.0, "window_width": 400.0, "window_level": 40.0,
        "zoom": 1.0, "window_changed": False, "client_key": uuid.uuid4(),
    }  # fmt: skip
    with transaction.atomic():  # the database wants an answer's first revision in its transaction
        answer = Answer.objects.create(assignment=other, item=item, **fields)
        AnswerRevision.objects.create(answer=answer, assignment=other, revision=1, **fields)


def test_without_a_computed_report_the_page_offers_to_compute_it_and_computes_nothing(
    client, study, researcher
):
    client.force_login(researcher)
    page = client.get(page_url("Survey 1"))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="report-missing"' in text and 'data-testid="compute-report"' in text
    assert "Table 2" not in text
    for name in ("reports:stats_json", "reports:report_pdf"):
        response = client.get(reverse(name) + "?survey=Survey+1")
        assert response.status_code == 404
        assert "has not been computed yet" in response.content.decode()
    assert client.get(reverse("reports:answers_csv") + "?survey=Survey+1").status_code == 200
    assert not ReportJob.objects.exists()
    assert list(DownloadLog.objects.values_list("what", flat=True)) == ["answers_csv"]


def test_compute_queues_a_report_job_whose_artefacts_the_page_and_downloads_serve(
    client, study, researcher, jobs_inline
):
    client.force_login(researcher)
    with jobs_inline():
        response = client.post(reverse("reports:compute_report") + "?survey=Survey+1&survey=Survey+2")
    assert response.status_code == 302 and response.url == page_url("Survey 1", "Survey 2")
    job = ReportJob.objects.get()
    assert job.status == JobStatus.DONE and job.created_by == researcher
    assert job.answer_count == Answer.objects.count() == job.revision_count
    page = client.get(page_url("Survey 1", "Survey 2")).content.decode()
    assert 'data-testid="report-computed"' in page and "Table 2" in page and "Survey 1 vs Survey 2" in page
    assert 'data-testid="report-stale"' not in page
    pdf = client.get(reverse("reports:report_pdf") + "?survey=Survey+1&survey=Survey+2")
    assert hashlib.sha256(pdf.content).hexdigest() == job.pdf_sha256
    stats = client.get(reverse("reports:stats_json") + "?survey=Survey+1&survey=Survey+2")
    assert hashlib.sha256(stats.content).hexdigest() == job.stats_sha256
    assert list(DownloadLog.objects.order_by("id").values_list("what", flat=True)) == ["pdf", "stats_json"]
    # Serving read the stored files: no second job, and the order of the selection matters.
    assert ReportJob.objects.count() == 1
    assert stored_report(list(reversed(study))) is None


def test_new_answers_since_the_report_was_computed_are_counted_and_a_recompute_catches_up(
    client, study, researcher, jobs_inline
):
    first, _ = study
    report_now(surveys=[first])
    add_answer(first)
    client.force_login(researcher)
    page = client.get(page_url("Survey 1")).content.decode()
    assert "1 new answer since this report was computed." in page
    with jobs_inline():
        client.post(reverse("reports:compute_report") + "?survey=Survey+1")
    assert ReportJob.objects.count() == 2
    assert 'data-testid="report-stale"' not in client.get(page_url("Survey 1")).content.decode()


def test_a_queued_report_shows_its_progress_and_asking_again_gives_the_same_job(client, study, researcher):
    first, _ = study
    job = request_report(surveys=[first], actor=researcher, enqueue=False)
    assert request_report(surveys=[first], actor=researcher, enqueue=False) == job
    client.force_login(researcher)
    page = client.get(page_url("Survey 1")).content.decode()
    assert 'data-testid="report-job"' in page and 'data-testid="compute-report"' not in page
    assert reverse("jobs:progress", args=["reports.ReportJob", job.pk]) in page
    progress = client.get(reverse("jobs:progress", args=["reports.ReportJob", job.pk])).json()
    assert progress["status"] == "queued" and not progress["finished"]


def test_readers_cannot_queue_reports_or_follow_their_progress(client, study, reader):
    client.force_login(reader)
    assert client.post(reverse("reports:compute_report") + "?survey=Survey+1").status_code == 403
    job = request_report(surveys=[study[0]], enqueue=False)
    assert client.get(reverse("jobs:progress", args=["reports.ReportJob", job.pk])).status_code == 404
    assert ReportJob.objects.count() == 1


def test_a_report_that_fails_while_storing_leaves_no_artefact_behind(study, monkeypatch, media_root):
    saved = []
    real_save = default_storage.save

    def save_then_fail(name, content, **kwargs):
        # the page is stored last: every figure, the statistics and the PDF are written before it fails
        if name.endswith("page.html"):
            raise OSError(28, "No space left on device")
        saved.append(name)
        return real_save(name, content, **kwargs)

    monkeypatch.setattr(default_storage, "save", save_then_fail)
    with pytest.raises(ReportUnavailable) as caught:
        report_now(surveys=[study[0]])
    folder = next(name for name in saved if name.endswith("report.pdf")).rsplit("/", 1)[0]
    assert any("/figures/fig4-axial-layers.png" in name for name in saved)
    said = (
        f"the report could not be stored: cannot store {folder}/page.html: [Errno 28] No space left on device"
    )
    assert str(caught.value) == f"the report could not be computed: {said}"
    job = ReportJob.objects.get()
    assert job.status == JobStatus.FAILED and job.error == said
    assert not job.pdf and not job.stats_json
    assert not [path for path in stored_files(media_root) if "reports" in path.parts]
    assert stored_report([study[0]]) is None


def test_export_report_computes_in_its_own_process_when_no_current_report_exists(study, tmp_path):
    first, _ = study
    out = tmp_path / "report.pdf"
    call_command(
        "export_report", "--survey", "Survey 1", "--format", "pdf", "--out", str(out), stdout=io.StringIO()
    )
    job = ReportJob.objects.get()
    assert (
        out.read_bytes().startswith(b"%PDF")
        and hashlib.sha256(out.read_bytes()).hexdigest() == job.pdf_sha256
    )
    call_command(
        "export_report", "--survey", "Survey 1", "--format", "json", "--out", str(tmp_path / "s.json")
    )
    assert ReportJob.objects.count() == 1  # still current: served, not computed again
    add_answer(first)
    call_command(
        "export_report", "--survey", "Survey 1", "--format", "json", "--out", str(tmp_path / "s.json")
    )
    assert ReportJob.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_the_report_queued_from_the_page(client, study, researcher, celery_worker):
    client.force_login(researcher)
    client.post(reverse("reports:compute_report") + "?survey=Survey+2")
    job = finished_job(ReportJob.objects.get(), timeout_s=120)
    assert job.status == JobStatus.DONE, job.error
    assert job.task_id and not job.task_id.startswith("local-")
    page = client.get(page_url("Survey 2")).content.decode()
    assert "Table 2" in page
