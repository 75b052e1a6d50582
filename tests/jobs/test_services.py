"""The job framework's delivery guarantees: a job queued while the broker is down is kept and sent again, a
message lost before a worker took it is sent again, and a second delivery of a job is harmless."""

import io
import logging
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from jobs import services
from jobs.models import JobStatus
from reports.models import ReportJob
from tests.jobs.broker import OwnBroker

pytestmark = pytest.mark.django_db(transaction=True)

DOWN = 6393  # nothing listens there
QUEUE = ReportJob.queue  # where the report jobs these tests queue are sent


def queue_report(**fields) -> ReportJob:
    return services.queue_job(ReportJob, survey_ids=[], selection_key="k", **fields)


def verbs(job) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="reports.reportjob", object_id=str(job.pk))
        .order_by("pk")
        .values_list("verb", flat=True)
    )


def test_a_second_delivery_of_a_finished_job_is_skipped():
    job = queue_report(enqueue=False)
    assert services.claim(ReportJob, job.pk, task_id="first") is not None
    services.finish(job, message="made")
    assert services.claim(ReportJob, job.pk, task_id="second") is None
    assert services.execute(ReportJob.label(), job.pk, task_id="third") == "skipped"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.task_id) == (JobStatus.DONE, 1, "first")
    assert verbs(job) == ["report.queued", "report.started", "report.finished"]


def test_a_second_delivery_while_a_live_run_holds_the_job_is_skipped():
    job = queue_report(enqueue=False)
    assert services.claim(ReportJob, job.pk, task_id="first") is not None
    assert services.claim(ReportJob, job.pk, task_id="second") is None
    job.refresh_from_db()
    assert (job.status, job.attempts, job.task_id) == (JobStatus.RUNNING, 1, "first")
    # The same task delivered again (its worker died before acknowledging it) takes the job over.
    assert services.claim(ReportJob, job.pk, task_id="first").attempts == 2


def test_queueing_with_the_broker_down_keeps_the_job_and_logs_one_line(caplog):
    with OwnBroker(DOWN).current(), caplog.at_level(logging.WARNING, logger="jobs.services"):
        started = time.monotonic()
        job = queue_report()
        elapsed = time.monotonic() - started
    assert elapsed < 5, f"queueing took {elapsed:.1f} s with the broker down"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.send_failed and job.sent_at is not None
    assert verbs(job) == ["report.queued"]
    lines = [r.getMessage() for r in caplog.records if "broker unreachable" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith(
        f"job reports.ReportJob #{job.pk} queued; broker unreachable, it will be sent again when the broker is back"
    )


def test_a_job_whose_send_failed_is_sent_again_at_the_next_sweep(own_broker):
    with OwnBroker(DOWN).current():
        failed = queue_report()
    assert own_broker.waiting(QUEUE) == 0
    resent = services.resend_waiting()
    assert [job.pk for job in resent] == [failed.pk]
    assert own_broker.waiting(QUEUE) == 1
    failed.refresh_from_db()
    assert not failed.send_failed and failed.sent_at is not None
    assert verbs(failed) == ["report.queued", "report.resent"]
    assert services.resend_waiting() == []  # sent now: not again before JOBS_RESEND_AFTER_S


def test_a_job_no_run_took_within_jobs_resend_after_s_is_sent_again_once_its_message_is_gone(
    own_broker, settings
):
    settings.JOBS_RESEND_AFTER_S = 300
    job = queue_report()
    assert own_broker.waiting(QUEUE) == 1 and not job.send_failed
    sent_at = ReportJob.objects.get(pk=job.pk).sent_at
    assert services.resend_waiting(now=sent_at + timedelta(seconds=299)) == []
    later = sent_at + timedelta(seconds=301)
    # Its message still waits in the queue: a busy worker, not a lost message.
    assert services.resend_waiting(now=later) == []
    assert services.queue_backlog(QUEUE) == 1
    own_broker.client().delete(QUEUE)  # the broker lost it (e.g. restarted without persistence)
    assert services.queue_backlog(QUEUE) == 0
    assert [j.pk for j in services.resend_waiting(now=later)] == [job.pk]
    assert own_broker.waiting(QUEUE) == 1
    assert services.resend_waiting(now=later) == []


def test_the_sweep_leaves_jobs_no_worker_is_expected_to_take(own_broker, settings):
    settings.JOBS_RESEND_AFTER_S = 0
    not_sent = queue_report(enqueue=False)  # a command runs it here
    taken = queue_report()
    services.claim(ReportJob, taken.pk, task_id="worker-task")  # running, heartbeat fresh
    paused = queue_report()
    services.pause(services.claim(ReportJob, paused.pk, task_id="worker-task-2"), message="stopped at 3")
    done = queue_report()
    services.finish(services.claim(ReportJob, done.pk, task_id="worker-task-3"), message="made")
    local = queue_report(enqueue=False)
    services.claim(ReportJob, local.pk, task_id="local-123")
    ReportJob.objects.filter(pk=local.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
    waiting_before = own_broker.waiting(QUEUE)
    assert services.resend_waiting(now=timezone.now() + timedelta(seconds=1)) == []
    assert own_broker.waiting(QUEUE) == waiting_before
    assert ReportJob.objects.get(pk=not_sent.pk).sent_at is None


def test_a_running_job_whose_worker_died_is_sent_again_once_per_jobs_resend_after_s(own_broker, settings):
    settings.JOBS_RESEND_AFTER_S = 300
    job = queue_report()
    services.claim(ReportJob, job.pk, task_id="dead-worker-task")
    ReportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOBS_STALE_AFTER_S + 1)
    )
    waiting = own_broker.waiting(QUEUE)
    assert [j.pk for j in services.resend_waiting()] == [job.pk]
    assert own_broker.waiting(QUEUE) == waiting + 1
    assert services.resend_waiting() == []
    assert verbs(job)[-1] == "report.resent"
    # Its message taken by a new run, which takes the job over (the old one's heartbeat is stale).
    taken = services.claim(ReportJob, job.pk, task_id="new-task")
    assert taken is not None and taken.sent_at is None and taken.attempts == 2


def test_the_sweep_stops_without_raising_while_the_broker_is_down(caplog):
    with OwnBroker(DOWN).current():
        job = queue_report()
        with caplog.at_level(logging.WARNING, logger="jobs.services"):
            assert services.resend_waiting() == []
    assert f"job reports.ReportJob #{job.pk} not sent again: broker unreachable" in caplog.text
    job.refresh_from_db()
    assert job.send_failed and verbs(job) == ["report.queued"]


def test_resend_jobs_prints_one_line_per_job_sent_again(own_broker):
    with OwnBroker(DOWN).current():
        first, second = queue_report(), queue_report()
    out = io.StringIO()
    call_command("resend_jobs", stdout=out)
    assert out.getvalue().splitlines() == [
        f"job reports.ReportJob #{first.pk} (queued) sent again to the interactive queue",
        f"job reports.ReportJob #{second.pk} (queued) sent again to the interactive queue",
    ]
    out = io.StringIO()
    call_command("resend_jobs", stdout=out)
    assert out.getvalue().strip() == "no job to send again"


def test_a_running_job_past_its_counted_work_shows_no_eta():
    job = queue_report(enqueue=False)
    services.claim(ReportJob, job.pk, task_id="worker-task")
    now = timezone.now()
    ReportJob.objects.filter(pk=job.pk).update(done=10, total=20, run_started_at=now - timedelta(seconds=10))
    halfway = services.progress_of(ReportJob.objects.get(pk=job.pk), now=now)
    assert halfway.rate_per_second == pytest.approx(1.0) and halfway.eta == timedelta(seconds=10)
    ReportJob.objects.filter(pk=job.pk).update(done=20)
    counted = services.progress_of(ReportJob.objects.get(pk=job.pk), now=now)
    assert counted.eta is None and counted.rate_per_second is None
    assert "ETA" not in counted.line() and counted.line() == "20/20 steps (100%)"
