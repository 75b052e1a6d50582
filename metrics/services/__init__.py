"""Writes of the metrics app, one module per concept: `metric_jobs` (image-distribution metrics), `reports`
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
from metrics.services.reports import ReportUnavailable, artefact, report_now, request_report, run_report_job

__all__ = [
    "MetricsArgumentError",
    "ReportUnavailable",
    "artefact",
    "check_metrics_arguments",
    "compute_now",
    "compute_scores",
    "create_metrics_job",
    "load_feature_extractor",
    "record_download",
    "report_now",
    "request_report",
    "requeue_metrics_job",
    "run_metrics_job",
    "run_report_job",
    "store_metric_results",
]
