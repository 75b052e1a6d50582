"""Metric jobs: a model (a synthetic CT dataset) compared with a real CT dataset layer by layer. This module checks
the arguments, records and queues the job (light: web processes import it); `metric_runs` runs it (see
:mod:`metrics.measures.layerwise`), and its results replace the pair's previous results in one transaction, with the
job's final status and an audit row.
"""

from __future__ import annotations

from imaging import selectors as images
from imaging.constants import DatasetKind
from jobs.services import JobRefused, queue_job
from metrics.models import MetricsJob


class MetricsArgumentError(JobRefused):
    """A metrics job asked for something that cannot be done (unknown dataset, wrong kind); one line."""


def _dataset(name: str, kind: str, role: str, user):
    dataset = images.dataset_named(name, kind, user=user)
    if dataset is not None:
        return dataset
    label = DatasetKind.LABELS[kind]
    other = images.dataset_named(name, user=user)
    if other is not None:
        raise MetricsArgumentError(f"{role} {name!r} is {other.get_kind_display()}, not {label}")
    known = ", ".join(repr(known) for known in images.dataset_names(kind, user=user)) or "none"
    raise MetricsArgumentError(f"no {label} dataset named {name!r} (known: {known})")


def check_metrics_arguments(
    *, model_name: str, real_dataset_name: str, max_per_layer: int | None = None, user=None
) -> tuple:
    """The model and real datasets named (among those ``user`` sees, when given: the API and the admin; the
    commands see every dataset), or :class:`MetricsArgumentError` saying what is wrong."""
    model = _dataset(model_name, DatasetKind.SYNTHETIC_CT, "model", user)
    real = _dataset(real_dataset_name, DatasetKind.REAL_CT, "real dataset", user)
    if (
        model.contrast_enhanced is not None
        and real.contrast_enhanced is not None
        and model.contrast_enhanced != real.contrast_enhanced
    ):

        def word(dataset):
            return "contrast-enhanced" if dataset.contrast_enhanced else "non-contrast"

        raise MetricsArgumentError(
            f"model {model.name!r} makes {word(model)} CT but {real.name!r} is {word(real)} CT; "
            "normalise a model by real CT of its own kind"
        )
    if max_per_layer is not None and max_per_layer < 2:
        raise MetricsArgumentError(f"--max-per-layer must be at least 2, got {max_per_layer}")
    return model, real


def create_metrics_job(
    *,
    model_name: str,
    real_dataset_name: str,
    actor=None,
    max_per_layer: int | None = None,
    seed: int = 0,
    queue: bool = True,
    user=None,
) -> MetricsJob:
    """Record a metrics job and, once committed, queue it on the default queue (unless ``queue`` is off).
    ``user``: the datasets are named among those this person sees (web doors); none: among all (commands)."""
    model, real = check_metrics_arguments(
        model_name=model_name, real_dataset_name=real_dataset_name, max_per_layer=max_per_layer, user=user
    )
    return queue_job(
        MetricsJob,
        actor=actor,
        enqueue=queue,
        details={
            "model": model.name,
            "real_dataset": real.name,
            "max_per_layer": max_per_layer,
            "seed": seed,
        },
        model=model,
        real_dataset=real,
        max_per_layer=max_per_layer,
        seed=seed,
    )


def requeue_metrics_job(*, job: MetricsJob, actor=None) -> MetricsJob:
    """A new job with the same model, real dataset and options as ``job``."""
    return create_metrics_job(
        model_name=job.model.name,
        real_dataset_name=job.real_dataset.name,
        actor=actor,
        max_per_layer=job.max_per_layer,
        seed=job.seed,
    )
