"""Report jobs: the statistics JSON, the PDF and the page body of a selection of surveys, computed by a worker on
the default queue and stored as artefacts (storage API) with what they were computed from, so that the report
page and its downloads only read files. `report_now` computes one in this process (export_report, the study archive)."""

import hashlib

from django.core.files.storage import default_storage
from django.db import transaction

from jobs.services import JobOutcome, JobRefused, Progress, execute, queue_job
from metrics import selectors
from metrics.exports import stats_json
from metrics.models import ReportJob
from metrics.pdf import report_pdf
from metrics.report_page import report_body
from storage import StorageFailed, store_file

ARTEFACTS = ("stats_json", "pdf", "page_html")


class ReportUnavailable(JobRefused):
    """A report that cannot be made or served; the message says what to do."""


def request_report(*, surveys, actor=None, enqueue: bool = True) -> ReportJob:
    """Queue the report of `surveys` (in that order); a job already queued or running for them is returned."""
    if not surveys:
        raise ReportUnavailable("choose at least one survey")
    active = selectors.active_report_job(surveys)
    if active is not None:
        return active
    return queue_job(
        ReportJob,
        actor=actor,
        enqueue=enqueue,
        details={"surveys": [survey.name for survey in surveys]},
        survey_ids=[survey.pk for survey in surveys],
        selection_key=selectors.selection_key(surveys),
    )


def run_report_job(job: ReportJob, progress: Progress) -> JobOutcome:
    """The job's runner: statistics, PDF and page body, stored with the answers they were computed from."""
    surveys = selectors.surveys_by_ids(job.survey_ids)
    if len(surveys) != len(job.survey_ids):
        raise ReportUnavailable("a survey of this report no longer exists")
    inputs = selectors.answer_fingerprint(surveys)
    progress.start(3, "computing the statistics")
    report = selectors.report_for(surveys)
    stats = stats_json(report.to_dict())
    progress.set(1, message="rendering the PDF")
    pdf = report_pdf(report)
    progress.set(2, message="rendering the page")
    contents = {"stats_json": stats, "pdf": pdf, "page_html": report_body(report).encode()}
    names = {"stats_json": "stats.json", "pdf": "report.pdf", "page_html": "page.html"}
    written = []
    try:
        for field, content in contents.items():
            try:
                written.append(store_file(f"reports/{job.pk}/{names[field]}", content))
            except StorageFailed as exc:
                raise ReportUnavailable(f"the report could not be stored: {exc}") from None
        with transaction.atomic():
            ReportJob.objects.filter(pk=job.pk).update(
                title=report.title[:300],
                answer_count=inputs.answers,
                revision_count=inputs.revisions,
                last_answer_at=inputs.last_answer_at,
                stats_sha256=hashlib.sha256(stats).hexdigest(),
                pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                **dict(zip(ARTEFACTS, written, strict=True)),
            )
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    progress.set(3)
    return JobOutcome(
        message=f"report of {len(surveys)} survey(s) from {inputs.answers} answers",
        result={
            "surveys": [survey.name for survey in surveys],
            "answers": inputs.answers,
            "pdf_bytes": len(pdf),
        },
    )


def report_now(*, surveys, actor=None) -> ReportJob:
    """Compute the report of `surveys` in this process and return its finished job."""
    job = request_report(surveys=surveys, actor=actor, enqueue=False)
    execute(ReportJob.label(), job.pk)
    job.refresh_from_db()
    if job.status != "done":
        raise ReportUnavailable(f"the report could not be computed: {job.error}")
    return job


def artefact(job: ReportJob, field: str) -> bytes:
    """The stored content of one artefact of a finished report job."""
    name = getattr(job, field)
    if not name:
        raise ReportUnavailable(f"report #{job.pk} has no {field}")
    with default_storage.open(name, "rb") as handle:
        return handle.read()
