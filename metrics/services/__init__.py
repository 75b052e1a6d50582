"""Writes of the metrics app, one module per concept: `metric_jobs` (image-distribution metrics),
`observer_jobs` (the machine observer), `reports`
(report jobs and their stored artefacts) and `downloads` (the download log). Re-exported here."""

from metrics.services.downloads import record_download
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
from metrics.services.reports import ReportUnavailable, artefact, report_now, request_report, run_report_job

__all__ = [
    "MetricsArgumentError",
    "ObserverArgumentError",
    "ReportUnavailable",
    "artefact",
    "check_metrics_arguments",
    "compute_now",
    "compute_scores",
    "create_metrics_job",
    "load_feature_extractor",
    "observe_now",
    "record_download",
    "report_now",
    "request_report",
    "requeue_machine_observer",
    "requeue_metrics_job",
    "run_metrics_job",
    "run_report_job",
    "start_machine_observer",
    "store_metric_results",
]
