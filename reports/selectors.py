"""Reads for reports: who may read them, the surveys and their answers as tidy rows (with reader pseudonyms) for
the statistics, the stored metric and machine observer results as rows, and the stored reports of a selection of
surveys."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Max

from imaging import selectors as images
from jobs.models import JobStatus
from jobs.services import status_line
from metrics import selectors as metrics
from reports.content.exports import AnswerRow, MetricRow, PracticeRow
from reports.content.model_comparison import COMPUTING, DONE, ObserverRow
from reports.content.survey_info import SurveyInfo
from reports.models import ReportJob
from studies import roles
from studies.models import (
    VIEWER_STATE_FIELDS,
    Answer,
    AnswerRevision,
    PairAnswer,
    PracticeAnswer,
    RepeatAnswer,
    Survey,
)
from studies.quality import QualityInput
from studies.selectors import quality_answers, surveys_visible_to


def report_jobs(user):
    """The report jobs of surveys ``user`` sees, newest first (a queryset)."""
    return ReportJob.visible_to(user).order_by("-created_at", "-id")


def can_read_reports(user) -> bool:
    """Researchers (and study admins) and staff may read and download reports; readers may not."""
    return bool(user.is_authenticated and user.is_active and (user.is_staff or roles.is_researcher(user)))


def reader_pseudonym(user_id: int) -> str:
    """A reader's stable pseudonym: the same in every survey and download, not reversible without SECRET_KEY."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"blindread-reader:{user_id}".encode(), hashlib.sha256)
    return f"R-{digest.hexdigest()[:10]}"


# A reader restored from a study archive is a user named this prefix + their pseudonym in the instance that
# exported it; they keep that pseudonym here, so the restored statistics name the same readers.
ARCHIVED_READER_PREFIX = "archived-"


def reader_pseudonyms(user_ids: Iterable[int]) -> dict[int, str]:
    """Each reader's pseudonym: their own one, or for a reader restored from an archive, the one it carried."""
    user_ids = set(user_ids)
    archived = dict(
        get_user_model()
        .objects.filter(pk__in=user_ids, username__startswith=ARCHIVED_READER_PREFIX)
        .values_list("pk", "username")
    )
    return {
        pk: archived[pk].removeprefix(ARCHIVED_READER_PREFIX) if pk in archived else reader_pseudonym(pk)
        for pk in user_ids
    }


def reportable_surveys(user):
    """Every survey ``user`` sees, with its reader and answer counts, by name."""
    return _with_counts(surveys_visible_to(user))


def _with_counts(surveys):
    return (
        surveys.select_related("model_dataset", "real_dataset")
        .annotate(
            reader_count=Count("assignments", distinct=True),
            answer_count=Count("items__answers", distinct=True),
        )
        .order_by("name")
    )


def pilot_surveys(user) -> list[Survey]:
    """The surveys a new one can be planned from: closed, with at least one answer, most recently closed first."""
    return list(
        reportable_surveys(user)
        .filter(status=Survey.Status.CLOSED, answer_count__gt=0)
        .order_by(F("closed_at").desc(nulls_last=True), "name")
    )


def surveys_by_name(names: Sequence[str], user) -> tuple[list[Survey], list[str]]:
    """The surveys ``user`` sees with these exact names, in the order given (repeats dropped), and the names not
    found (another project's survey is not found)."""
    wanted = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    found = {survey.name: survey for survey in reportable_surveys(user).filter(name__in=wanted)}
    return [found[name] for name in wanted if name in found], [name for name in wanted if name not in found]


def surveys_of_models(models: Iterable, user, *, include_open: bool = False) -> list[Survey]:
    """The closed surveys of these models that ``user`` sees (with ``include_open``, the open ones too; never
    drafts), by name: what pooled figures count. An open survey's answers can still change, so they count only
    when asked for."""
    statuses = [Survey.Status.CLOSED, Survey.Status.OPEN] if include_open else [Survey.Status.CLOSED]
    return list(reportable_surveys(user).filter(model_dataset__in=list(models), status__in=statuses))


def survey_names(user) -> list[str]:
    return list(surveys_visible_to(user).order_by("name").values_list("name", flat=True))


def survey_infos(surveys: Sequence[Survey]) -> list[SurveyInfo]:
    counts = dict(
        Survey.objects.filter(pk__in=[survey.pk for survey in surveys])
        .annotate(readers=Count("assignments", distinct=True))
        .values_list("pk", "readers")
    )
    return [
        SurveyInfo(
            name=survey.name,
            model_alias=survey.model_alias,
            model=survey.model_dataset.name,
            real_dataset=survey.real_dataset.name,
            status=survey.status,
            item_count=survey.item_count,
            reader_count=counts.get(survey.pk, 0),
            exposure=survey.design.exposure,
            exposure_reversals=survey.design.exposure_reversals,
            exposure_log=survey.design.exposure_step_percent > 0,
            task=survey.design.task,
        )
        for survey in surveys
    ]


ANSWER_FIELDS = (
    "item__survey__name",
    "item__survey__model_alias",
    "item__survey__model_dataset_id",
    "assignment__reader_id",
    "assignment__reader__reader_profile__specialty",
    "assignment__reader__reader_profile__years_of_experience",
    "item__public_id",
    "item__truth",
    "choice",
    "reason",
    "seconds_on_slice",
    "window_width",
    "window_level",
    "window_changed",
    "zoom",
    "item__axial_layer",
    "revision_count",
    "updated_at",
    "item__survey__design",
    "rating",
    "invert_used",
    "slices_visited",
    "seconds_per_slice",
    "exposure_requested_ms",
    "exposure_measured_ms",
    "exposure_rejected",
)


def _tidy_rows(rows, fields: Sequence[str], *, second_round: bool) -> list[AnswerRow]:
    """One AnswerRow per answer of ``rows`` read as ``fields`` (ANSWER_FIELDS or REPEAT_FIELDS, same order): a first
    reading's answer has its revision count; a second reading's has its round number and one revision."""
    values_rows = list(rows.values_list(*fields))
    pseudonyms = reader_pseudonyms(values[3] for values in values_rows)
    model_names = images.dataset_names_by_id(values[2] for values in values_rows)
    result = []
    for values in values_rows:
        (survey, alias, model, reader_id, specialty, years, item, truth, choice, reason, seconds, width, level,
         changed, zoom, layer, count, answered_at, design, rating, inverted, visited,
         per_slice, requested_ms, measured_ms, rejected) = values  # fmt: skip
        result.append(
            AnswerRow(
                survey=survey,
                model_alias=alias,
                model=model_names[model],
                reader=pseudonyms[reader_id],
                reader_specialty=specialty or "",
                reader_years_of_experience=years,
                item=item,
                truth=truth,
                answer=choice,
                reason=reason,
                seconds_on_slice=seconds,
                window_width=width,
                window_level=level,
                window_changed=changed,
                zoom=zoom,
                axial_layer=layer,
                revisions=1 if second_round else count,
                answered_at=answered_at,
                rating_scale=design.rating,
                rating=rating,
                choice_derived=design.choice_from_rating,
                invert_used=inverted,
                **({"round": count} if second_round else {}),
                stack_slices=design.stack_slices,
                slices_visited=tuple(visited or ()),
                seconds_per_slice=tuple(per_slice or ()),
                exposure_requested_ms=requested_ms,
                exposure_measured_ms=measured_ms,
                exposure_rejected=rejected,
            )
        )
    return result


def answer_rows(surveys: Sequence[Survey]) -> list[AnswerRow]:
    """Every current answer to the surveys' test items (catch items never), one tidy row each, ordered by survey,
    item and reader."""
    rows = (
        Answer.objects.scored()
        .filter(item__survey__in=list(surveys))
        .order_by("item__survey__name", "item__public_id", "assignment__reader_id")
    )
    return _tidy_rows(rows, ANSWER_FIELDS, second_round=False)


REPEAT_FIELDS = tuple(
    name.replace("assignment__", "reading_round__assignment__")
    .replace("revision_count", "reading_round__number")
    .replace("updated_at", "created_at")
    for name in ANSWER_FIELDS
)


def pair_rows(surveys: Sequence[Survey]):
    """Every answer to the 2AFC pairs of the surveys, one row each (reports.content.two_afc.PairRow), readers by
    pseudonym."""
    from reports.content.two_afc import PairRow

    answers = list(
        PairAnswer.objects.filter(pair__survey__in=list(surveys))
        .order_by("pair__survey__name", "pair__public_id", "assignment__reader_id")
        .values_list(
            "pair__survey__name",
            "pair__survey__model_alias",
            "pair__survey__model_dataset__name",
            "assignment__reader_id",
            "pair__public_id",
            "correct",
            "seconds",
            "confidence",
        )
    )
    names = reader_pseudonyms({row[3] for row in answers})
    return [
        PairRow(survey, alias, model, names[reader], pair, correct, seconds, confidence)
        for survey, alias, model, reader, pair, correct, seconds, confidence in answers
    ]


def repeat_rows(surveys: Sequence[Survey]) -> list[AnswerRow]:
    """Every answer of a repeat reading (round 2) of the surveys' items, as rows of the answers CSV; never part of
    the statistics, which read the first round (answer_rows)."""
    rows = (
        RepeatAnswer.objects.scored()
        .filter(item__survey__in=list(surveys))
        .order_by("item__survey__name", "item__public_id", "reading_round__assignment__reader_id")
    )
    return _tidy_rows(rows, REPEAT_FIELDS, second_round=True)


def practice_rows(surveys: Sequence[Survey]) -> list[PracticeRow]:
    """Every practice answer of the surveys (their own export; never in answer_rows or any statistic)."""
    rows = PracticeAnswer.objects.filter(practice_item__survey__in=list(surveys)).order_by(
        "practice_item__survey__name", "assignment__reader_id", "created_at", "id"
    )
    values_rows = list(
        rows.values_list(
            "practice_item__survey__name",
            "assignment__reader_id",
            "practice_item__public_id",
            "practice_item__truth",
            "choice",
            "rating",
            "seconds_on_slice",
            "created_at",
            "practice_item__survey__design",
            *VIEWER_STATE_FIELDS,
        )
    )
    pseudonyms = reader_pseudonyms(values[1] for values in values_rows)
    result = []
    for survey, reader_id, item, truth, choice, rating, seconds, answered_at, design, *viewer in values_rows:
        state = dict(zip(VIEWER_STATE_FIELDS, viewer, strict=True))
        for name in ("slices_visited", "seconds_per_slice"):
            state[name] = None if state[name] is None else tuple(state[name])
        result.append(
            PracticeRow(
                survey=survey,
                reader=pseudonyms[reader_id],
                practice_item=item,
                truth=truth,
                answer=choice,
                rating=rating,
                seconds_on_slice=seconds,
                answered_at=answered_at,
                stack_slices=design.stack_slices,
                **state,
            )
        )
    return result


def quality_inputs(surveys: Sequence[Survey]) -> list[QualityInput]:
    """What reader quality control reads, for each of ``surveys`` with catch items or an exclusion rule: the frozen
    rules and every reader's (pseudonym's) current answers, catch items included, in the reader's frozen order
    (studies.selectors.quality_answers)."""
    result = []
    for survey in surveys:
        design = survey.design
        if not (design.has_catch or design.quality_rules.any):
            continue
        readers = quality_answers(survey)
        pseudonyms = reader_pseudonyms(assignment.reader_id for assignment, _ in readers)
        result.append(
            QualityInput(
                survey=survey.name,
                rules=design.quality_rules,
                catch_items=design.catch_items,
                readers=tuple((pseudonyms[assignment.reader_id], answers) for assignment, answers in readers),
            )
        )
    return result


# --- Stored metric and machine observer results, as rows ----------------------------------------------------------


def metric_rows(models: Iterable | None = None) -> list[MetricRow]:
    """Stored results (of ``models`` only, if given) as plain rows for tables, figures and CSV."""
    return [
        MetricRow(
            model=result.model.name,
            real_dataset=result.real_dataset.name,
            layer=result.layer,
            metric=result.metric,
            value=result.value,
            baseline=result.baseline,
            normalised=result.normalised,
            n_synthetic=result.n_synthetic,
            n_reference=result.n_reference,
            n_held_out=result.n_held_out,
            note=result.note,
            computed_at=result.computed_at,
            detail=result.detail,
        )
        for result in metrics.metric_results(models=models)
    ]


def observer_rows(models: Iterable) -> list[ObserverRow]:
    """The stored machine observer results of ``models`` (against any real CT; the latest when several), and a
    "computing" row for each (model, classifier) without one whose job is queued or running."""
    models = list(models)
    found: dict[tuple[str, str], ObserverRow] = {}
    for result in metrics.observer_results(models):
        found.setdefault(
            (result.model.name, result.classifier),
            ObserverRow(
                model=result.model.name,
                classifier=result.classifier,
                status=DONE,
                auc=result.auc,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
                summary=result.summary,
                n_real=result.n_real,
                n_synthetic=result.n_synthetic,
                n_patients=result.n_patients,
            ),
        )
    for job in metrics.active_observer_jobs(models):
        found.setdefault(
            (job.model.name, job.classifier),
            ObserverRow(model=job.model.name, classifier=job.classifier, status=COMPUTING),
        )
    return sorted(found.values(), key=lambda row: (row.model, row.classifier))


def report_for(
    surveys: Sequence[Survey], *, title: str | None = None, experience_bands: Sequence[float] | None = None
):
    """The report of ``surveys`` (in that order): their answers, statistics, their models' metrics and machine
    observers; ``experience_bands``: the edges (years) of the readers' experience bands (default 5 and 15)."""
    # Here, not at the top: the statistics load SciPy; only report jobs call this.
    from reports.content.report import build_report

    models = {survey.model_dataset_id: survey.model_dataset for survey in surveys}
    return build_report(
        answer_rows(surveys),
        survey_infos(surveys),
        metric_rows(models.values()),
        observer_rows=observer_rows(models.values()),
        repeat_rows=repeat_rows(surveys),
        pair_rows=pair_rows(surveys),
        quality_inputs=quality_inputs(surveys),
        title=title,
        **({"experience_bands": tuple(experience_bands)} if experience_bands else {}),
    )


def report_selections_of_model(model) -> list[list[Survey]]:
    """The survey selections of the stored reports that include a survey of ``model`` (each selection once)."""
    ids = set(Survey.objects.filter(model_dataset=model).values_list("pk", flat=True))
    selections, seen = [], set()
    for job in ReportJob.objects.filter(status=JobStatus.DONE).order_by("-finished_at", "-id"):
        if job.selection_key in seen or not ids.intersection(job.survey_ids):
            continue
        seen.add(job.selection_key)
        surveys = surveys_by_ids(job.survey_ids)
        if len(surveys) == len(job.survey_ids):
            selections.append(surveys)
    return selections


# --- Stored reports ---------------------------------------------------------------------------------------------


def selection_key(surveys: Sequence[Survey]) -> str:
    """One key per selection of surveys, in the order shown."""
    return hashlib.sha256(",".join(str(survey.pk) for survey in surveys).encode()).hexdigest()


def surveys_by_ids(ids: Sequence[int]) -> list[Survey]:
    """The surveys with these ids, in that order (those that no longer exist left out). For the workers that run
    a report or an archive job, whose surveys were checked when the job was asked for."""
    found = {survey.pk: survey for survey in _with_counts(Survey.objects.filter(pk__in=list(ids)))}
    return [found[pk] for pk in ids if pk in found]


@dataclass(frozen=True)
class AnswerFingerprint:
    """What a report's statistics were computed from: current answers, every submission, the latest one."""

    answers: int
    revisions: int
    last_answer_at: datetime | None


def answer_fingerprint(surveys: Sequence[Survey]) -> AnswerFingerprint:
    answers = Answer.objects.filter(item__survey__in=list(surveys))
    revisions = AnswerRevision.objects.filter(answer__item__survey__in=list(surveys))
    last = revisions.aggregate(last=Max("created_at"))["last"]
    return AnswerFingerprint(answers=answers.count(), revisions=revisions.count(), last_answer_at=last)


@dataclass(frozen=True)
class StoredReport:
    """The latest computed report of a selection, and how the answers changed since it was computed."""

    job: ReportJob
    new_answers: int
    new_revisions: int

    @property
    def is_stale(self) -> bool:
        return bool(self.new_answers or self.new_revisions)


def stored_report(surveys: Sequence[Survey]) -> StoredReport | None:
    job = (
        ReportJob.objects.filter(selection_key=selection_key(surveys), status=JobStatus.DONE)
        .order_by("-finished_at", "-id")
        .first()
    )
    if job is None:
        return None
    now = answer_fingerprint(surveys)
    return StoredReport(
        job=job,
        new_answers=max(now.answers - job.answer_count, 0),
        new_revisions=max(now.revisions - job.revision_count, 0),
    )


@dataclass(frozen=True)
class PdfState:
    """Whether a selection's PDF can be downloaded, and if not, where its report job stands: "missing" (never
    computed), or the latest job's status (queued, running, failed) with its one-line status."""

    available: bool
    state: str
    line: str = ""


def pdf_states(surveys: Sequence[Survey]) -> dict[int, PdfState]:
    """The PDF state of each survey's own report (the index page's PDF button), by survey id."""
    states = {}
    for survey in surveys:
        jobs = ReportJob.objects.filter(selection_key=selection_key([survey]))
        if jobs.filter(status=JobStatus.DONE).exists():
            states[survey.pk] = PdfState(available=True, state=JobStatus.DONE)
            continue
        latest = jobs.order_by("-created_at", "-id").first()
        if latest is None:
            states[survey.pk] = PdfState(available=False, state="missing")
        else:
            states[survey.pk] = PdfState(available=False, state=latest.status, line=status_line(latest))
    return states


FIGURE_CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml", "csv": "text/csv; charset=utf-8"}


@dataclass(frozen=True)
class StoredFigure:
    """One stored file of a figure or table of a finished report job."""

    job: ReportJob
    key: str
    title: str
    extension: str
    storage_name: str

    @property
    def content_type(self) -> str:
        return FIGURE_CONTENT_TYPES[self.extension]


def stored_figure(job_pk: int, filename: str, user) -> StoredFigure | None:
    """The file ``<key>.<extension>`` of a finished report job's figures that ``user`` sees, or None (no such job,
    a job of surveys of another project, not finished, or no such file in its manifest)."""
    key, _, extension = filename.rpartition(".")
    job = ReportJob.visible_to(user).filter(pk=job_pk, status=JobStatus.DONE).first()
    if job is None or extension not in FIGURE_CONTENT_TYPES:
        return None
    for entry in job.figures:
        if entry.get("key") == key and extension in entry.get("files", {}):
            return StoredFigure(job, key, entry.get("title", key), extension, entry["files"][extension])
    return None


def surveys_of_job(job: ReportJob) -> list[Survey]:
    return surveys_by_ids(job.survey_ids)


def active_report_job(surveys: Sequence[Survey]) -> ReportJob | None:
    """A report job of the selection that is queued or running (and not stale), if any."""
    jobs = ReportJob.objects.filter(
        selection_key=selection_key(surveys), status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).order_by("-created_at")
    return next((job for job in jobs if not job.is_stale), None)
