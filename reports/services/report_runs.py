"""The report job's runner: the statistics, the PDF and the page body of a selection of surveys, stored with the
answers they were computed from.

This module loads matplotlib and reportlab (the figures and the PDF); only workers, commands and tests import it
(through the job's `runner` path), never a web process.
"""

import hashlib

from django.core.files.storage import default_storage
from django.db import transaction

from jobs.services import JobOutcome, Progress
from readerstats import DEFAULT_EXPERIENCE_BANDS
from reports import selectors
from reports.content.exports import stats_json
from reports.content.pdf import report_pdf
from reports.models import ReportJob
from reports.report_page import report_body
from reports.services.reports import ReportUnavailable
from storage import StorageFailed, store_file

ARTEFACTS = ("stats_json", "pdf", "page_html")


def run_report_job(job: ReportJob, progress: Progress) -> JobOutcome:
    """The job's runner: statistics, PDF and page body, stored with the answers they were computed from."""
    surveys = selectors.surveys_by_ids(job.survey_ids)
    if len(surveys) != len(job.survey_ids):
        raise ReportUnavailable("a survey of this report no longer exists")
    inputs = selectors.answer_fingerprint(surveys)
    progress.start(3, "computing the statistics")
    report = selectors.report_for(surveys, experience_bands=job.experience_bands or DEFAULT_EXPERIENCE_BANDS)
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
