"""Writes of the metrics app, one module per concept: `metric_jobs` (image-distribution metrics; `metric_runs` is its
runner) and `observer_jobs` (the machine observer; `observer_runs` is its runner). The light parts are re-exported
here; the runners load the numerical libraries and are imported by workers, commands and tests only."""

from metrics.services.metric_jobs import (
    MetricsArgumentError,
    check_metrics_arguments,
    create_metrics_job,
    requeue_metrics_job,
)
from metrics.services.observer_jobs import (
    ObserverArgumentError,
    observe_now,
    requeue_machine_observer,
    start_machine_observer,
)

__all__ = [
    "MetricsArgumentError",
    "ObserverArgumentError",
    "check_metrics_arguments",
    "create_metrics_job",
    "observe_now",
    "requeue_machine_observer",
    "requeue_metrics_job",
    "start_machine_observer",
]
