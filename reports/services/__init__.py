"""Writes of the reports app, one module per concept: `reports` (report jobs and their stored artefacts),
`report_runs` (their runner) and `downloads` (the download log).

Re-exported here are the names web processes use; they load neither matplotlib nor reportlab. The runner
(`report_runs.run_report_job`) is imported from its module by workers, through the job's `runner` path."""

from reports.services.downloads import record_download
from reports.services.reports import (
    ReportUnavailable,
    artefact,
    refresh_reports_of,
    report_now,
    request_report,
)

__all__ = [
    "ReportUnavailable",
    "artefact",
    "record_download",
    "refresh_reports_of",
    "report_now",
    "request_report",
]
