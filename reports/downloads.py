"""What each report download holds, its file name and content type; shared by the views and export_report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.text import slugify

from metrics import selectors as metrics
from reports import selectors
from reports.content.exports import (
    answers_csv,
    answers_json,
    data_dictionary_csv,
    metrics_csv,
    metrics_json,
    practice_csv,
)
from reports.models import DownloadLog
from reports.services.reports import ReportUnavailable, artefact
from studies.models import Survey

What = DownloadLog.What
CONTENT_TYPES = {
    What.ANSWERS_CSV: "text/csv; charset=utf-8",
    What.DATA_DICTIONARY: "text/csv; charset=utf-8",
    What.METRICS_CSV: "text/csv; charset=utf-8",
    What.STATS_JSON: "application/json",
    What.PDF: "application/pdf",
    What.ANSWERS_JSON: "application/json",
    What.METRICS_JSON: "application/json",
    What.PRACTICE_CSV: "text/csv; charset=utf-8",
}
EXTENSIONS = {
    What.ANSWERS_CSV: "answers.csv",
    What.DATA_DICTIONARY: "data-dictionary.csv",
    What.METRICS_CSV: "metrics.csv",
    What.STATS_JSON: "stats.json",
    What.PDF: "report.pdf",
    What.ANSWERS_JSON: "answers.json",
    What.METRICS_JSON: "metrics.json",
    What.PRACTICE_CSV: "practice.csv",
}


@dataclass(frozen=True)
class Download:
    what: str
    content: bytes
    filename: str
    content_type: str
    surveys: tuple[str, ...]
    models: tuple[str, ...]


def _filename(what: str, surveys: Sequence[Survey], models: Sequence[str]) -> str:
    if len(surveys) == 1:
        scope = slugify(surveys[0].name) or f"survey-{surveys[0].pk}"
    elif surveys:
        scope = f"{len(surveys)}-surveys"
    elif len(models) == 1:
        scope = slugify(models[0]) or "model"
    else:
        scope = "all-models" if models else "blindread"
    return f"blindread-{scope}-{datetime.now(UTC):%Y%m%d}-{EXTENSIONS[what]}"


def make_download(
    what: str, surveys: Sequence[Survey] = (), models: Sequence | None = None, *, user
) -> Download:
    """Build one download. Answers, statistics and PDF need ``surveys`` (statistics and PDF are the stored
    artefacts of their latest report job: ReportUnavailable when there is none); the metrics CSV covers ``models``,
    else the surveys' models, else every model with results that ``user`` sees; the data dictionary needs nothing."""
    if what not in CONTENT_TYPES:
        raise ValueError(f"unknown download {what!r}")
    survey_names = tuple(survey.name for survey in surveys)
    model_names: tuple[str, ...] = tuple(sorted({survey.model_dataset.name for survey in surveys}))
    if what in (What.ANSWERS_CSV, What.ANSWERS_JSON):
        # Both reading rounds (the column `round`); the statistics read the first only.
        write = answers_csv if what == What.ANSWERS_CSV else answers_json
        content = write(selectors.answer_rows(surveys) + selectors.repeat_rows(surveys))
    elif what == What.PRACTICE_CSV:
        content = practice_csv(selectors.practice_rows(surveys))
    elif what == What.DATA_DICTIONARY:
        content, model_names = data_dictionary_csv(), ()
    elif what in (What.METRICS_CSV, What.METRICS_JSON):
        if models is None:
            models = [survey.model_dataset for survey in surveys] or metrics.models_with_results(user)
        models = list({model.pk: model for model in models}.values())
        model_names = tuple(sorted(model.name for model in models))
        write = metrics_csv if what == What.METRICS_CSV else metrics_json
        content = write(selectors.metric_rows(models))
    else:
        stored = selectors.stored_report(surveys)
        if stored is None:
            raise ReportUnavailable(
                "this report has not been computed yet: open its page and choose Compute the report"
            )
        content = artefact(stored.job, "stats_json" if what == What.STATS_JSON else "pdf")
    return Download(
        what=what,
        content=content,
        filename=_filename(what, surveys, model_names),
        content_type=CONTENT_TYPES[what],
        surveys=survey_names,
        models=model_names,
    )
