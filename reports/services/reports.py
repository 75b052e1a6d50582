"""Report jobs: the statistics JSON, the PDF and the page body of a selection of surveys, computed by a worker on
the default queue (the runner: `report_runs`) and stored as artefacts (storage API) with what they were computed
from, so that the report page and its downloads only read files. `report_now` computes one in this process
(export_report, the study archive); `refresh_reports_of` queues a model's stored reports again when its machine
observer result changes."""

from django.core.files.storage import default_storage

from jobs.services import JobRefused, execute, queue_job
from reports import selectors
from reports.models import ReportJob


class ReportUnavailable(JobRefused):
    """A report that cannot be made or served; the message says what to do."""


def request_report(*, surveys, actor=None, enqueue: bool = True, experience_bands=None) -> ReportJob:
    """Queue the report of `surveys` (in that order); a job already queued or running for them is returned.
    ``experience_bands``: the edges (years) of the readers' experience bands, increasing (default 5 and 15)."""
    if not surveys:
        raise ReportUnavailable("choose at least one survey")
    bands = [float(edge) for edge in experience_bands] if experience_bands else []
    if bands:
        # Here, not at the top: readerstats' subgroups load SciPy, which web processes never import.
        from readerstats import experience_bands as experience_band_labels

        try:
            experience_band_labels(bands)
        except ValueError as exc:
            raise ReportUnavailable(str(exc)) from None
    active = selectors.active_report_job(surveys)
    if active is not None:
        return active
    return queue_job(
        ReportJob,
        actor=actor,
        enqueue=enqueue,
        details={
            "surveys": [survey.name for survey in surveys],
            **({"experience_bands": bands} if bands else {}),
        },
        survey_ids=[survey.pk for survey in surveys],
        selection_key=selectors.selection_key(surveys),
        experience_bands=bands,
    )


def report_now(*, surveys, actor=None, experience_bands=None) -> ReportJob:
    """Compute the report of `surveys` in this process and return its finished job."""
    job = request_report(surveys=surveys, actor=actor, enqueue=False, experience_bands=experience_bands)
    execute(ReportJob.label(), job.pk)
    job.refresh_from_db()
    if job.status != "done":
        raise ReportUnavailable(f"the report could not be computed: {job.error}")
    return job


def refresh_reports_of(model) -> list[ReportJob]:
    """Queue the reports already computed for surveys of ``model`` again, so they show its new machine
    observer result (a report of the same surveys already queued or running is left as it is)."""
    return [request_report(surveys=surveys) for surveys in selectors.report_selections_of_model(model)]


def artefact(job: ReportJob, field: str) -> bytes:
    """The stored content of one artefact of a finished report job."""
    name = getattr(job, field)
    if not name:
        raise ReportUnavailable(f"report #{job.pk} has no {field}")
    return read_stored(name)


def read_stored(name: str) -> bytes:
    """The content of a report's stored file (an artefact, or a file of one of its figures)."""
    with default_storage.open(name, "rb") as handle:
        return handle.read()
