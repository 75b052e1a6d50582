"""The blinding audit as a job: `request_blinding_audit` queues one on the default queue, its runner reads the
survey as a reader would (studies.blinding, outside any row lock) and keeps the result on the job and on the
survey with the fingerprint of the rendering it audited. Opening a survey (surveys.do_open_survey) needs a passing
audit of the current rendering. Commands and tests audit in their own process (`do_audit_survey`)."""

from django.db import transaction
from django.utils import timezone

from audit.services import record_event
from jobs.services import JobOutcome, Progress, execute, queue_job
from studies.blinding import BlindingReport, audit_survey_blinding
from studies.models import BlindingAudit, Survey
from studies.selectors import rendering_fingerprint
from studies.services.errors import StudyError
from studies.services.surveys import do_open_survey


def request_blinding_audit(*, survey: Survey, actor, open_when_passed: bool = False, enqueue: bool = True):
    """Queue a blinding audit of the survey (and, with `open_when_passed`, open it if it passes)."""
    if open_when_passed and not survey.is_draft:
        raise StudyError(f"survey {survey.name!r} is {survey.status}, not a draft; it cannot be opened")
    return queue_job(
        BlindingAudit,
        actor=actor,
        enqueue=enqueue,
        details={"survey": survey.name, "open_when_passed": open_when_passed},
        survey=survey,
        open_when_passed=open_when_passed,
        total=survey.items.count(),  # catch items included: the walk reads every item
    )


def run_blinding_audit(job: BlindingAudit, progress: Progress, *, keep=None) -> JobOutcome:
    """The job's runner: audit, then keep the result (on the job and the survey) and open the survey if asked.

    `keep`, when given, is called with the full report (for callers in the same process)."""
    survey = job.survey
    fingerprint = rendering_fingerprint(survey)
    progress.phase("reading the survey as a reader")
    report = audit_survey_blinding(survey, progress=lambda done: progress.set(done))
    with transaction.atomic():
        _store(job, survey, report, fingerprint)
    if keep is not None:
        keep(report)
    opened = ""
    if report.passed and job.open_when_passed:
        try:
            do_open_survey(survey=survey, actor=job.created_by)
            opened = "; the survey is open"
        except StudyError as exc:
            opened = f"; not opened: {exc}"
    verdict = "passed" if report.passed else f"failed: {len(report.findings)} leak(s)"
    return JobOutcome(
        message=f"blinding audit {verdict}{opened}",
        result={
            "passed": report.passed,
            "leaks": [str(finding) for finding in report.findings],
            "measurements": [f"[{check}] {text}" for check, text in report.measurements],
        },
    )


def _store(job: BlindingAudit, survey: Survey, report: BlindingReport, fingerprint: str) -> None:
    now = timezone.now()
    text = report.text()
    BlindingAudit.objects.filter(pk=job.pk).update(fingerprint=fingerprint, passed=report.passed, report=text)
    Survey.objects.filter(pk=survey.pk).update(
        last_audit_at=now,
        last_audit_passed=report.passed,
        last_audit_report=text,
        last_audit_fingerprint=fingerprint,
    )
    survey.last_audit_at, survey.last_audit_passed = now, report.passed
    survey.last_audit_report, survey.last_audit_fingerprint = text, fingerprint
    record_event(
        actor=job.created_by,
        verb="survey.audit_passed" if report.passed else "survey.audit_failed",
        target=survey,
        details={"audit": job.pk, "fingerprint": fingerprint, "leaks": [str(f) for f in report.findings]},
    )


def do_audit_survey(*, survey: Survey, actor) -> BlindingReport:
    """Audit the survey in this process (a command, the demo, a test); returns the report."""
    job = request_blinding_audit(survey=survey, actor=actor, enqueue=False)
    reports: list[BlindingReport] = []
    execute(BlindingAudit.label(), job.pk, keep=reports.append)
    if not reports:
        job.refresh_from_db()
        raise StudyError(f"the blinding audit of {survey.name!r} could not run: {job.error}")
    survey.refresh_from_db()
    return reports[0]


def do_audit_and_open(*, survey: Survey, actor) -> BlindingReport:
    """Audit the survey here and open it if the audit passes; StudyError (naming the first leak) if not."""
    report = do_audit_survey(survey=survey, actor=actor)
    do_open_survey(survey=survey, actor=actor)
    return report
