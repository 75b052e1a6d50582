"""The metrics part of `manage.py demo` (idempotent, runs last): image-distribution metrics of every synthetic CT
dataset against its real CT, computed in this process with small samples, so that the reports of the demo's
surveys show metrics at once."""

from django.conf import settings
from django.urls import reverse

from imaging.constants import DatasetKind
from imaging.selectors import datasets_of_kind
from jobs.models import JobStatus
from metrics.models import MetricResult
from metrics.selectors import stored_report, surveys_by_name
from metrics.services import MetricsArgumentError, compute_now, create_metrics_job, report_now
from studies.models import Survey

DEMO_MAX_PER_LAYER = 10
DEMO_REPORT_SURVEYS = [f"Demo survey {n} (closed)" for n in range(1, 5)]
DEMO_SEED = 0


def _real_dataset_for(model):
    """The real CT of the model's surveys, else any real CT of the same contrast kind."""
    survey = (
        Survey.objects.filter(model_dataset=model).select_related("real_dataset").order_by("name").first()
    )
    if survey is not None:
        return survey.real_dataset
    return datasets_of_kind(DatasetKind.REAL_CT, contrast_enhanced=model.contrast_enhanced).first()


def build_demo(*, stdout) -> None:
    models = list(datasets_of_kind(DatasetKind.SYNTHETIC_CT))
    if not models:
        stdout.write("Metrics: skipped, there is no synthetic CT dataset.")
        return
    for model in models:
        real = _real_dataset_for(model)
        if real is None:
            stdout.write(f"Metrics of {model.name!r}: skipped, no real CT of the same contrast kind.")
            continue
        if MetricResult.objects.filter(model=model, real_dataset=real).exists():
            stdout.write(f"Metrics of {model.name!r} against {real.name!r}: already computed.")
            continue
        stdout.write(
            f"Computing the metrics of {model.name!r} against {real.name!r} "
            f"(at most {DEMO_MAX_PER_LAYER} slices per layer and set) ..."
        )
        try:
            job = create_metrics_job(
                model_name=model.name,
                real_dataset_name=real.name,
                max_per_layer=DEMO_MAX_PER_LAYER,
                seed=DEMO_SEED,
                queue=False,
            )
        except MetricsArgumentError as exc:
            stdout.write(f"Metrics of {model.name!r}: skipped: {exc}")
            continue
        job = compute_now(job)
        outcome = "done" if job.status == JobStatus.DONE else "failed"
        stdout.write(
            f"Metrics of {model.name!r}: {outcome}: {job.message if job.status == JobStatus.DONE else job.error}"
        )
    _reports(stdout)
    site = settings.STUDIES_SITE_URL.rstrip("/")
    stdout.write(
        f"Reports of the demo surveys, with downloads (PDF, CSV, JSON): {site}{reverse('metrics:index')} "
        "(sign in as researcher / researcher-demo)."
    )


def _reports(stdout) -> None:
    """The stored reports of each closed demo survey and of the four together, so their pages open at once."""
    closed = [survey for survey in surveys_by_name(DEMO_REPORT_SURVEYS)[0] if survey.is_closed]
    selections = [[survey] for survey in closed] + ([closed] if len(closed) > 1 else [])
    for surveys in selections:
        stored = stored_report(surveys)
        if stored is not None and not stored.is_stale:
            continue
        job = report_now(surveys=surveys)
        stdout.write(f"Report of {', '.join(survey.name for survey in surveys)}: {job.message}.")
