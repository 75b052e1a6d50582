"""The metrics part of `manage.py demo` (idempotent), in two steps around the surveys:

- :func:`build_demo` (before the surveys): image-distribution metrics of every synthetic CT dataset against its
  real CT, computed in this process with small samples; :func:`reader_skill` turns a model's mean normalised
  radiomic Fréchet distance into its simulated readers' skill, so the surveys of less realistic models are
  answered better;
- :func:`build_observers` (after the surveys and the queueing of their reports, reports.demo): the machine
  observer of every model is queued for the worker that `make run` starts (about two minutes a model on two
  cores: too slow to wait for). The reports show "machine observer: computing" until each observer is done; its
  result then has them computed again (metrics.signals).
"""

import math

from imaging.constants import DatasetKind
from imaging.selectors import datasets_of_kind
from jobs.models import JobStatus
from metrics.models import MachineObserverJob, MachineObserverResult, MetricResult
from metrics.services import (
    MetricsArgumentError,
    ObserverArgumentError,
    create_metrics_job,
    start_machine_observer,
)
from metrics.services.metric_runs import compute_now
from studies.models import Survey

DEMO_MAX_PER_LAYER = 10
DEMO_SEED = 0
DEMO_CNN_STEPS = 100
"""The demo's CNN observer trains 100 steps per fold (the default is 300): about 35 s a model on two cores."""
SKILL_PER_DECADE = 1.5
SKILL_CHANCE_AT = 15.0
"""Simulated readers guess (skill 0.02) on a model whose mean normalised radiomic FD is 15 or less, and gain 1.5
per decade above it: the demo's four models lie between about 20 and 30, so their readers' skills spread over
about 0.2-0.45 in the order of the models' realism."""
SKILL_RANGE = (0.02, 0.6)
DEFAULT_SKILL = 0.2


def _real_dataset_for(model):
    """The real CT of the model's surveys, else any real CT of the same contrast kind."""
    survey = (
        Survey.objects.filter(model_dataset=model).select_related("real_dataset").order_by("name").first()
    )
    if survey is not None:
        return survey.real_dataset
    return datasets_of_kind(DatasetKind.REAL_CT, contrast_enhanced=model.contrast_enhanced).first()


def reader_skill(model) -> float:
    """The demo's simulated readers' skill on ``model``: 1.5 per decade of its mean normalised radiomic Fréchet
    distance (1 = as far from the real CT as real CT is from itself) above 15, within 0.02..0.6; 0.2 when it
    has none. A reader is right with probability 0.5 + skill / 2 (studies.simulation)."""
    result = MetricResult.objects.filter(model=model, layer=0, metric="radiomic_fd").first()
    if result is None or result.normalised is None or result.normalised <= 0:
        return DEFAULT_SKILL
    low, high = SKILL_RANGE
    skill = SKILL_PER_DECADE * math.log10(result.normalised / SKILL_CHANCE_AT)
    return round(min(max(skill, low), high), 3)


def build_demo(*, stdout) -> None:
    models = list(datasets_of_kind(DatasetKind.SYNTHETIC_CT))
    if not models:
        stdout.write("Metrics: skipped, there is no synthetic CT dataset.")
        return
    radiomics_cache = {}  # three models share the contrast CT: its slices' radiomic features are computed once
    feature_notes = set()
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
        job = compute_now(job, radiomics_cache=radiomics_cache)
        if job.status != JobStatus.DONE:
            stdout.write(f"Metrics of {model.name!r}: failed: {job.error}")
            continue
        summary = job.message
        # The missing FID weights are said once, after every model, not once per model.
        if job.feature_metrics_note:
            feature_notes.add(job.feature_metrics_note)
            summary = summary.replace(f"; {job.feature_metrics_note}", "")
        stdout.write(f"Metrics of {model.name!r}: done: {summary}")
    for note in sorted(feature_notes):
        stdout.write(f"Metrics: {note} (every other metric is computed).")


def build_observers(*, stdout, enqueue: bool = True) -> None:
    """Queue the machine observer of every model that has none (nor one queued or running)."""
    for model in datasets_of_kind(DatasetKind.SYNTHETIC_CT):
        _queue_observer(model, stdout, enqueue=enqueue)


def _queue_observer(model, stdout, *, enqueue: bool) -> None:
    real = _real_dataset_for(model)
    if real is None:
        return
    done = set(
        MachineObserverResult.objects.filter(model=model, real_dataset=real).values_list(
            "classifier", flat=True
        )
    )
    active = {
        job.classifier
        for job in MachineObserverJob.objects.filter(
            model=model, real_dataset=real, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        )
    }
    missing = [
        classifier for classifier in ("interpretable", "cnn", "volumetric") if classifier not in done | active
    ]
    if not missing:
        stdout.write(f"Machine observer of {model.name!r}: already computed or queued.")
        return
    try:
        jobs = start_machine_observer(
            model_name=model.name,
            real_dataset_name=real.name,
            classifiers=missing,
            seed=DEMO_SEED,
            cnn_steps=DEMO_CNN_STEPS,
            enqueue=enqueue,
        )
    except ObserverArgumentError as exc:
        stdout.write(f"Machine observer of {model.name!r}: skipped: {exc}")
        return
    numbers = ", ".join(f"#{job.pk}" for job in jobs)
    stdout.write(
        f"Machine observer of {model.name!r} against {real.name!r}: job(s) {numbers} queued for the worker "
        "(the reports say 'computing' until they are done)."
    )
