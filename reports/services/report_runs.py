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
from reports.report_page import figure_links, report_body
from reports.services.report_figures import DOWNLOAD, PAPER, paper_figures, report_downloads, store_figures
from reports.services.reports import ReportUnavailable
from storage import StorageFailed, store_file


def run_report_job(job: ReportJob, progress: Progress) -> JobOutcome:
    """The job's runner: statistics, figures and tables (reports.services.report_figures), PDF and page body,
    stored with the answers they were computed from."""
    surveys = selectors.surveys_by_ids(job.survey_ids)
    if len(surveys) != len(job.survey_ids):
        raise ReportUnavailable("a survey of this report no longer exists")
    inputs = selectors.answer_fingerprint(surveys)
    progress.start(4, "computing the statistics")
    report = selectors.report_for(surveys, experience_bands=job.experience_bands or DEFAULT_EXPERIENCE_BANDS)
    stats = stats_json(report.to_dict())
    progress.set(1, message="drawing the figures")
    paper = paper_figures(surveys, selectors.answer_rows(surveys))
    drawn = {PAPER: paper.figures, DOWNLOAD: report_downloads(report)}
    progress.set(2, message="rendering the PDF")
    pdf = report_pdf(report, paper_figures=[figure for figure in paper.figures if figure.in_pdf])
    progress.set(3, message="rendering the page")
    names = {"stats_json": "stats.json", "pdf": "report.pdf", "page_html": "page.html"}
    written = []
    try:
        try:
            manifest = store_figures(job.pk, drawn, written)
            contents = {
                "stats_json": stats,
                "pdf": pdf,
                "page_html": report_body(
                    report, stored_figures=figure_links(job.pk, manifest), comments=paper.comments
                ).encode(),
            }
            stored = {}
            for field, content in contents.items():
                stored[field] = store_file(f"reports/{job.pk}/{names[field]}", content)
                written.append(stored[field])
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
                figures=manifest,
                **stored,
            )
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    progress.set(4)
    return JobOutcome(
        message=f"report of {len(surveys)} survey(s) from {inputs.answers} answers",
        result={
            "surveys": [survey.name for survey in surveys],
            "answers": inputs.answers,
            "pdf_bytes": len(pdf),
        },
    )
