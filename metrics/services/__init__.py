"""Writes of the metrics app, one module per concept: `metric_jobs` (image-distribution metrics) and
`observer_jobs` (the machine observer; `observer_runs` is its runner). Re-exported here."""

from metrics.services.metric_jobs import (
    MetricsArgumentError,
    check_metrics_arguments,
    compute_now,
    compute_scores,
    create_metrics_job,
    load_feature_extractor,
    requeue_metrics_job,
    run_metrics_job,
    store_metric_results,
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
    "compute_now",
    "compute_scores",
    "create_metrics_job",
    "load_feature_extractor",
    "observe_now",
    "requeue_machine_observer",
    "requeue_metrics_job",
    "run_metrics_job",
    "start_machine_observer",
    "store_metric_results",
]
