"""Reads of the metrics app: stored image-distribution metric results, metrics jobs, and machine observer results
and jobs (querysets and model instances; the reports turn them into rows)."""

from __future__ import annotations

from collections.abc import Iterable

from imaging import selectors as images
from jobs.models import JobStatus
from metrics.models import MachineObserverJob, MachineObserverResult, MetricResult, MetricsJob


def metric_results(*, models: Iterable | None = None):
    """Stored results, optionally of some models only, with their datasets, ordered for tables."""
    results = MetricResult.objects.select_related("model", "real_dataset")
    if models is not None:
        results = results.filter(model__in=list(models))
    # A dataset relation orders by imaging's own ordering of datasets (their names).
    return results.order_by("model", "real_dataset", "metric", "layer")


def metrics_jobs(user):
    """The metrics jobs ``user`` sees (MetricsJob.visible_to) with their datasets, newest first (a queryset)."""
    return MetricsJob.visible_to(user).select_related("model", "real_dataset").order_by("-created_at", "-id")


def models_with_results(user) -> list:
    """The models ``user`` sees with stored metric or machine observer results."""
    ids = set(MetricResult.objects.values_list("model_id", flat=True).distinct())
    ids |= set(MachineObserverResult.objects.values_list("model_id", flat=True).distinct())
    return list(images.datasets_visible_to(user).filter(pk__in=ids).order_by("name"))


def observer_results(models: Iterable):
    """The stored machine observer results of ``models`` (against any real CT), latest first."""
    return (
        MachineObserverResult.objects.filter(model__in=list(models))
        .select_related("model")
        .order_by("-computed_at", "-id")
    )


def active_observer_jobs(models: Iterable) -> list[MachineObserverJob]:
    """The machine observer jobs of ``models`` that are queued or running and not stale."""
    jobs = MachineObserverJob.objects.filter(
        model__in=list(models), status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).select_related("model")
    return [job for job in jobs if not job.is_stale]
