"""The job framework's writes: queue a job, claim it for a run, report progress, finish, fail, retry.

Each write is one transaction with its audit row (verbs "<job_kind>.queued", ".started", ".progress", ".finished",
".failed", ".retried"); a job is sent to its queue only once the transaction that queued it has committed. The
Celery task (`jobs.tasks.run_job`) is one for every kind: it calls :func:`execute`, which claims the job, runs the
kind's runner with a :class:`Progress`, and finishes or fails the job. Services never import tasks: they send the
task by name.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.services import record_event, user_or_none
from jobs.errors import MAX_ERROR_CHARS, JobFailed, JobRefused, one_line  # noqa: F401  (re-exported)
from jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)

RUN_TASK = "jobs.run_job"


class JobWaitTimeout(TimeoutError):
    pass


@dataclass(frozen=True)
class JobOutcome:
    """What a runner reports when it is done: the job's closing message and a summary of its result.

    `paused`: the run stopped on purpose before the end (the job goes back to the queue's waiting state)."""

    message: str = ""
    result: dict = field(default_factory=dict)
    paused: bool = False


# --- Queueing -------------------------------------------------------------------------------------------------


def queue_job(
    job_model: type[Job], /, *, actor=None, details: dict | None = None, enqueue: bool = True, **fields
) -> Job:
    """Create a job of `job_model` (queued) with `fields`, write its audit row, and send it to its queue once
    committed."""
    with transaction.atomic():
        job = job_model.objects.create(created_by=user_or_none(actor), **fields)
        record_event(actor=actor, verb=f"{job_model.job_kind}.queued", target=job, details=details or {})
        if enqueue:
            send_on_commit(job)
    return job


def send_on_commit(job: Job) -> None:
    """Send the job to its queue once the current transaction commits (at once outside a transaction).

    The job is marked as sent (`sent_at`) in the current transaction: a message that never reaches a worker (the
    broker was unreachable, or restarted and lost it) is sent again by :func:`resend_waiting`."""
    label, pk, queue = job.label(), job.pk, job.queue
    now = timezone.now()
    type(job).objects.filter(pk=pk).update(sent_at=now, send_failed=False)
    job.sent_at, job.send_failed = now, False
    transaction.on_commit(lambda: _send(label, pk, queue))


def _send(label: str, pk: int, queue: str) -> bool:
    """Publish the job's message. A broker that cannot be reached is logged in one line, never raised (the
    transaction that queued the job has committed, and the request or command that queued it succeeds): the job
    stays queued, marked `send_failed`, and the next sweep (:func:`resend_waiting`) sends it again."""
    try:
        _publish(label, pk, queue)
    except Exception as exc:
        logger.warning(
            "job %s #%s queued; broker unreachable, it will be sent again when the broker is back (%s)",
            label,
            pk,
            one_line(exc),
        )
        try:
            apps.get_model(label).objects.filter(
                pk=pk, status=JobStatus.QUEUED, sent_at__isnull=False
            ).update(send_failed=True)
        except DatabaseError as mark:
            # Unmarked, it is still sent again JOBS_RESEND_AFTER_S after it was queued.
            logger.warning("job %s #%s not marked as unsent: %s", label, pk, one_line(mark))
        return False
    return True


def _publish(label: str, pk: int, queue: str) -> None:
    """Hand the job's message to the broker, within the publish retry policy (CELERY_TASK_PUBLISH_RETRY_POLICY:
    a few tries, about a second in all when the broker refuses connections), or raise.

    No Celery result is kept (the job row is the result): without ignore_result the Redis result backend
    subscribes to the task's result channel first, and retries that for 20 s when Redis is down."""
    from celery import current_app

    current_app.send_task(RUN_TASK, args=[label, pk], queue=queue, ignore_result=True)


def queue_backlog(queue: str) -> int | None:
    """Messages waiting in the broker's `queue` (not yet taken by a worker); None when the broker cannot say."""
    from celery import current_app

    try:
        with current_app.connection_for_write() as connection, connection.channel() as channel:
            # Declaring is idempotent; a passive declare fails on an emptied Redis queue (no key left).
            return channel.queue_declare(queue=queue).message_count
    except Exception as exc:
        logger.debug("queue %s: backlog unknown (%s)", queue, one_line(exc))
        return None


def job_models() -> list[type[Job]]:
    """Every concrete job kind of the installed apps."""
    return [model for model in apps.get_models() if issubclass(model, Job)]


def waiting_to_be_sent(model: type[Job], *, now=None):
    """Jobs of `model` whose message has probably not reached a worker: queued for a worker and either the last
    send failed or it was sent more than JOBS_RESEND_AFTER_S ago with no run taking it; or running on a worker
    (not a local run) whose heartbeat is stale and that has not been sent again within JOBS_RESEND_AFTER_S."""
    now = now or timezone.now()
    sent_before = now - timedelta(seconds=settings.JOBS_RESEND_AFTER_S)
    stale_before = now - timedelta(seconds=settings.JOBS_STALE_AFTER_S)
    queued = Q(status=JobStatus.QUEUED, sent_at__isnull=False) & (
        Q(send_failed=True) | Q(sent_at__lt=sent_before)
    )
    last_sign = Coalesce("heartbeat_at", "run_started_at", "created_at")
    stale = (
        Q(status=JobStatus.RUNNING, last_sign__lt=stale_before)
        & ~Q(task_id="")
        & ~Q(task_id__startswith="local-")
        & (Q(sent_at__isnull=True) | Q(sent_at__lt=sent_before))
    )
    return model.objects.annotate(last_sign=last_sign).filter(queued | stale).order_by("created_at", "pk")


def resend_waiting(*, now=None) -> list[Job]:
    """Send again every job of every kind that is waiting for a worker but whose message was lost or never sent
    (see :func:`waiting_to_be_sent`), each with its audit row ("<job_kind>.resent"); return them. A queued job
    whose send succeeded is sent again only when its queue holds no message: while messages wait there, a busy
    worker has simply not reached it.

    A duplicate message is harmless: :func:`claim` skips a finished job and one held by a live run. Stops at
    the first job the broker refuses (it is down: the next sweep tries again). Run by every worker at start and
    every JOBS_RESEND_EVERY_S (jobs.sweeper), and by `manage.py resend_jobs`."""
    now = now or timezone.now()
    resent = []
    backlogs: dict[str, int | None] = {}
    for model in job_models():
        for candidate in waiting_to_be_sent(model, now=now).only("pk", "status", "send_failed"):
            if candidate.status == JobStatus.QUEUED and not candidate.send_failed:
                # Sent a while ago and not taken: lost, unless its queue still holds messages (a busy worker
                # has not reached it yet). A lost message among waiting ones is found once the queue drains.
                if model.queue not in backlogs:
                    backlogs[model.queue] = queue_backlog(model.queue)
                if backlogs[model.queue] != 0:
                    continue
            with transaction.atomic():
                # skip_locked: another worker's sweep (or a claim) holds it now.
                job = (
                    (waiting_to_be_sent(model, now=now).select_for_update(skip_locked=True, of=("self",)))
                    .filter(pk=candidate.pk)
                    .first()
                )
                if job is None:
                    continue
                try:
                    _publish(job.label(), job.pk, job.queue)
                except Exception as exc:
                    logger.warning(
                        "job %s #%s not sent again: broker unreachable (%s)",
                        job.label(),
                        job.pk,
                        one_line(exc),
                    )
                    return resent
                model.objects.filter(pk=job.pk).update(sent_at=now, send_failed=False)
                job.sent_at, job.send_failed = now, False
                record_event(
                    actor=None,
                    verb=f"{model.job_kind}.resent",
                    target=job,
                    details={"status": job.status, "stale": job.is_stale},
                )
            resent.append(job)
    return resent


def resent_line(job: Job) -> str:
    """The one line saying that a job was sent again (the sweep's log, `resend_jobs`)."""
    was = "stale, running" if job.status == JobStatus.RUNNING else job.status
    return f"job {job.label()} #{job.pk} ({was}) sent again to the {job.queue} queue"


# --- A run ----------------------------------------------------------------------------------------------------


def claim(model: type[Job], pk: int, *, task_id: str) -> Job | None:
    """Mark the job running for this run; None when there is nothing to run (finished, or held by a live run).

    A run that finds the job running under another task whose heartbeat is stale takes it over (its worker
    died); the same task delivered again (acks_late) takes it over at once."""
    with transaction.atomic():
        job = model.objects.select_for_update().get(pk=pk)
        if job.is_finished:
            return None
        if job.is_running and job.task_id and job.task_id != task_id and not job.is_stale:
            return None
        took_over = job.is_running
        now = timezone.now()
        job.status = JobStatus.RUNNING
        job.task_id = task_id
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.run_started_at = now
        job.run_started_done = job.done
        job.attempts += 1
        job.error = ""
        job.finished_at = None
        job.sent_at = None  # taken: no worker is expected any more
        job.send_failed = False
        job.save()
        record_event(
            actor=None,
            verb=f"{model.job_kind}.started",
            target=job,
            details={"task": task_id, "attempt": job.attempts, "took_over": took_over},
        )
    return job


def advance(
    job: Job, *, done: int | None = None, total: int | None = None, message: str | None = None
) -> None:
    """Record progress and a heartbeat. A new `message` (a new phase of the work) also gets an audit row."""
    fields = {"heartbeat_at": timezone.now()}
    if total is not None:
        fields["total"] = total
    if done is not None:  # never more than the total: the database refuses done > total
        fields["done"] = min(done, total if total is not None else job.total)
    new_phase = message is not None and message != job.message
    if message is not None:
        fields["message"] = message
    with transaction.atomic():
        type(job).objects.filter(pk=job.pk).update(**fields)
        for name, value in fields.items():
            setattr(job, name, value)
        if new_phase:
            record_event(
                actor=None,
                verb=f"{job.job_kind}.progress",
                target=job,
                details={"phase": message, "done": job.done, "total": job.total},
            )


def finish(job: Job, *, message: str = "", result: dict | None = None) -> Job:
    """The job is done: its closing message and result summary, with its audit row. Safe to call twice."""
    with transaction.atomic():
        job = type(job).objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            return job
        now = timezone.now()
        job.status = JobStatus.DONE
        job.finished_at = job.heartbeat_at = now
        job.done = max(job.done, job.total) if job.total else job.done
        job.total = max(job.total, job.done)
        job.message = message or job.message
        job.result = result if result is not None else job.result
        job.save()
        record_event(
            actor=None,
            verb=f"{job.job_kind}.finished",
            target=job,
            details={"message": job.message, **job.result},
        )
    return job


def fail(job: Job, *, error: str) -> Job:
    """The job failed: one line saying why, with its audit row."""
    error = " ".join((error or "failed").split())[:MAX_ERROR_CHARS]
    with transaction.atomic():
        job = type(job).objects.select_for_update().get(pk=job.pk)
        now = timezone.now()
        job.status = JobStatus.FAILED
        job.error = error
        job.finished_at = job.heartbeat_at = now
        job.save()
        record_event(actor=None, verb=f"{job.job_kind}.failed", target=job, details={"error": error})
    return job


def pause(job: Job, *, message: str) -> Job:
    """A run that stopped on purpose before the end: the job waits to be run again (and resumes)."""
    with transaction.atomic():
        type(job).objects.filter(pk=job.pk).update(
            status=JobStatus.QUEUED, message=message, heartbeat_at=timezone.now(), task_id=""
        )
        job.refresh_from_db()
        record_event(actor=None, verb=f"{job.job_kind}.paused", target=job, details={"message": message})
    return job


def retry(job: Job, *, actor=None, enqueue: bool = True) -> Job:
    """Queue a failed job, or a running one whose worker died (stale heartbeat), again; the run resumes."""
    with transaction.atomic():
        job = type(job).objects.select_for_update().get(pk=job.pk)
        if not job.can_retry:
            raise JobRefused(
                f"job #{job.pk} is {job.status_label.lower()}; only a failed or stale job is retried"
            )
        was = job.status_label
        job.status = JobStatus.QUEUED
        job.error = ""
        job.finished_at = None
        job.task_id = ""
        job.save()
        record_event(actor=actor, verb=f"{job.job_kind}.retried", target=job, details={"was": was})
        if enqueue:
            send_on_commit(job)
    return job


def reopen(job: Job, *, actor=None, enqueue: bool = True, details: dict | None = None) -> Job:
    """Queue a finished (or failed) job to run once more, e.g. to add what was imported since; not a retry."""
    with transaction.atomic():
        job = type(job).objects.select_for_update().get(pk=job.pk)
        if job.is_running and not job.is_stale:
            return job
        job.status = JobStatus.QUEUED
        job.error = ""
        job.finished_at = None
        job.save()
        record_event(actor=actor, verb=f"{job.job_kind}.requeued", target=job, details=details or {})
        if enqueue:
            send_on_commit(job)
    return job


def execute(label: str, pk: int, *, task_id: str = "", **runner_options) -> str:
    """Run one job of kind `label` ('app_label.Model'): claim it, run its runner, finish or fail it.

    Called by the worker's task, and in-process by commands that run a job here (`task_id` "local-<pid>").
    Returns the job's status, or "skipped" when another live run holds it or it is finished."""
    model = apps.get_model(label)
    job = claim(model, pk, task_id=task_id or f"local-{os.getpid()}")
    if job is None:
        return "skipped"
    runner = import_string(model.runner)
    progress = Progress(job)
    try:
        outcome = runner(job, progress, **runner_options)
        progress.flush()
    except JobRefused as exc:
        progress.flush()
        return fail(job, error=str(exc)).status
    except MemoryError:
        # Celery ends the whole worker on a MemoryError that leaves a task: the job fails with one line instead,
        # and the worker (whose memory the failed allocation never took) serves the next job.
        logger.error("%s #%s ran out of memory", label, pk)
        return fail(job, error="out of memory: the job needed more memory than this worker has").status
    except Exception as exc:
        logger.exception("%s #%s failed", label, pk)
        fail(job, error=one_line(exc))
        raise
    job.refresh_from_db()
    if job.is_finished:  # the runner finished it in its own transaction, with what it stored
        return job.status
    outcome = outcome or JobOutcome()
    if outcome.paused:
        return pause(job, message=outcome.message).status
    return finish(job, message=outcome.message, result=outcome.result).status


class Progress:
    """What a runner reports progress through: done/total and the phase, written at most a few times a second
    (always when the phase changes or the work is complete), each write a heartbeat."""

    def __init__(self, job: Job, *, interval_s: float = 0.5):
        self.job = job
        self.interval_s = interval_s
        self._last = 0.0
        self._pending = False

    @property
    def done(self) -> int:
        return self.job.done

    @property
    def total(self) -> int:
        return self.job.total

    def start(self, total: int, message: str | None = None) -> None:
        """A new count of work: `total` units, none done yet."""
        self._write(done=0, total=total, message=message, force=True)

    def set(self, done: int, total: int | None = None, message: str | None = None) -> None:
        self._write(done=done, total=total, message=message)

    def advance(self, units: int = 1, message: str | None = None) -> None:
        self._write(done=self.job.done + units, total=None, message=message)

    def phase(self, message: str) -> None:
        self._write(done=None, total=None, message=message, force=True)

    def beat(self) -> None:
        """A sign of life during a long step that has nothing to count."""
        self._write(done=None, total=None, message=None, force=True)

    def flush(self) -> None:
        """Write what the last throttled calls kept in memory."""
        if self._pending:
            self._write(done=self.job.done, total=self.job.total, message=None, force=True)

    def _write(self, *, done, total, message, force: bool = False) -> None:
        now = time.monotonic()
        complete = done is not None and done >= (total if total is not None else self.job.total)
        new_phase = message is not None and message != self.job.message
        if not (force or complete or new_phase) and now - self._last < self.interval_s:
            # Keep the count in memory; the next write (or flush) carries it.
            if done is not None:
                self.job.done = done
            if total is not None:
                self.job.total = total
            self._pending = True
            return
        self._last = now
        self._pending = False
        advance(self.job, done=done if done is not None else self.job.done, total=total, message=message)


# --- Reading progress -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobProgress:
    """How far a job got: done of total (in the kind's unit), and while it runs, the current run's rate and the
    time left at that rate."""

    done: int
    total: int
    unit: str
    rate_per_second: float | None
    eta: timedelta | None

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    def line(self) -> str:
        rate = f", {self.rate_per_second:.1f} {self.unit}/s" if self.rate_per_second else ""
        eta = f", ETA {format_duration(self.eta)}" if self.eta is not None else ""
        return f"{self.done}/{self.total} {self.unit} ({self.percent:.0f}%){rate}{eta}"


def format_duration(duration: timedelta) -> str:
    seconds = max(int(round(duration.total_seconds())), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def progress_of(job: Job, *, now=None) -> JobProgress:
    rate = eta = None
    if job.is_running and job.run_started_at:
        elapsed = ((now or timezone.now()) - job.run_started_at).total_seconds()
        made = job.done - job.run_started_done
        # All counted work done while the job still runs: it is in a phase it cannot count (its message says
        # which); no rate or ETA rather than "ETA 0:00:00" for minutes.
        if elapsed > 0 and made > 0 and job.done < job.total:
            rate = made / elapsed
            eta = timedelta(seconds=max(job.total - job.done, 0) / rate)
    return JobProgress(job.done, job.total, job.progress_unit, rate, eta)


def status_line(job: Job) -> str:
    """One line saying where a job stands, as the admin page and every `--wait` print it."""
    if job.status == JobStatus.QUEUED:
        return f"Queued: waiting for a worker on the {job.queue} queue" + (
            f" ({job.message})" if job.message else ""
        )
    if job.status == JobStatus.FAILED:
        return f"Failed: {job.error or job.message}"
    if job.status == JobStatus.DONE:
        return f"Done: {job.message}" if job.message else "Done"
    progress = progress_of(job)
    stale = " (stale: no heartbeat, its worker may have died)" if job.is_stale else ""
    phase = f"{job.message}: " if job.message else ""
    return f"Running{stale}: {phase}{progress.line()}"
