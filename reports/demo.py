"""The reports part of `manage.py demo` (idempotent), after the surveys: the reports of the closed demo surveys
(each alone and the four together) are queued for the worker that `make run` starts, before the machine
observers (metrics.demo): a few seconds each. Until the worker has computed them, the report pages say so with
the job's progress."""

from django.conf import settings
from django.urls import reverse

from projects.commands import SITE_OPERATOR
from reports.selectors import stored_report, surveys_by_name
from reports.services import request_report

DEMO_REPORT_SURVEYS = [f"Demo survey {n} (closed)" for n in range(1, 5)]


def build_reports(*, stdout, enqueue: bool = True) -> None:
    """Queue the reports of each closed demo survey and of the four together, unless fresh (or queued)."""
    closed = [survey for survey in surveys_by_name(DEMO_REPORT_SURVEYS, SITE_OPERATOR)[0] if survey.is_closed]
    selections = [[survey] for survey in closed] + ([closed] if len(closed) > 1 else [])
    for surveys in selections:
        stored = stored_report(surveys)
        if stored is not None and not stored.is_stale:
            continue
        job = request_report(surveys=surveys, enqueue=enqueue)
        stdout.write(
            f"Report of {', '.join(survey.name for survey in surveys)}: job #{job.pk} queued for the worker."
        )
    site = settings.STUDIES_SITE_URL.rstrip("/")
    stdout.write(
        f"Reports of the demo surveys, with downloads (PDF, CSV, JSON): {site}{reverse('reports:index')} "
        "(sign in as researcher / researcher-demo)."
    )
