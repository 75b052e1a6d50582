"""The one job framework's model: every long piece of work (an import, a generation, a training run, metrics,
a report, a blinding audit, an archive) is a row of a concrete subclass of :class:`Job`.

A job has one status (:class:`JobStatus`), who asked for it, when it was created, started and finished, how far it
got (`done` of `total`, in the kind's `progress_unit`), a heartbeat while it runs, the error that stopped it and a
summary of its result. Only `jobs.services` changes those fields (claim, advance, finish, fail, retry), each
change with its audit row. A concrete job names its kind (`job_kind`, the prefix of its audit verbs), its queue,
and its runner: the dotted path of `runner(job, progress) -> JobOutcome | None`, which does the work.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


FINISHED = (JobStatus.DONE, JobStatus.FAILED)


class Job(models.Model):
    # What a concrete job kind sets.
    job_kind = ""  # audit verbs are "<job_kind>.queued", "<job_kind>.started", ...
    queue = "default"  # the Celery queue its runs go to: "interactive", "default" or "gpu" (jobs.workers)
    runner = ""  # dotted path of runner(job, progress) -> JobOutcome | None
    progress_unit = "steps"

    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the first run started.")
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="The running worker's last sign of life."
    )
    # Where the current run started, for its rate and ETA (a resumed run starts part-way).
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_started_done = models.PositiveBigIntegerField(default=0)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    message = models.TextField(blank=True, help_text="What the job is doing, or what it did.")
    error = models.TextField(blank=True, help_text="Why the job failed (one line).")
    result = models.JSONField(default=dict, blank=True, help_text="A summary of what the job made.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs started, retries included.")
    task_id = models.CharField(max_length=64, blank=True, help_text="The Celery task of the current run.")
    # Whether a worker is expected to take the job, for the sweep that sends lost messages again
    # (jobs.services.resend_waiting): set when the job is sent to its queue, cleared when a run claims it.
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the job was last sent to its queue (empty: no worker is expected to take it).",
    )
    send_failed = models.BooleanField(
        default=False, help_text="The last send found the broker unreachable; the next sweep sends it again."
    )

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in JobStatus]),
                name="%(app_label)s_%(class)s_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(done__lte=F("total")), name="%(app_label)s_%(class)s_done_le_total"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=FINISHED) | Q(finished_at__isnull=False),
                name="%(app_label)s_%(class)s_finished_has_finished_at",
            ),
        ]

    @classmethod
    def visible_to(cls, user) -> models.QuerySet:
        """The jobs of this kind that ``user`` may see (their admin pages and progress JSON). A kind states its
        rule through the projects its job belongs to; one that states none is for site superusers only."""
        rows = cls.objects.all()
        return rows if user.is_authenticated and user.is_active and user.is_superuser else rows.none()

    @classmethod
    def label(cls) -> str:
        """'app_label.ModelName': how the framework's task and progress view find the kind."""
        return cls._meta.label

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_running(self) -> bool:
        return self.status == JobStatus.RUNNING

    @property
    def is_stale(self) -> bool:
        """Running, but its worker has not reported for JOBS_STALE_AFTER_S: it probably died."""
        if self.status != JobStatus.RUNNING:
            return False
        last = self.heartbeat_at or self.run_started_at or self.created_at
        return timezone.now() - last > timedelta(seconds=settings.JOBS_STALE_AFTER_S)

    @property
    def can_retry(self) -> bool:
        return self.status == JobStatus.FAILED or self.is_stale

    @property
    def status_label(self) -> str:
        if self.is_stale:
            return "Stale (no heartbeat)"
        return self.get_status_display()
