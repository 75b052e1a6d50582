"""The blinding audit's runs, as jobs."""

from django.db import models

from jobs.models import Job
from projects.selectors import visible_to
from studies.models.surveys import Survey


class BlindingAudit(Job):
    """One run of the blinding audit on a survey (studies.blinding), as a job on the default queue.

    `fingerprint` says which rendering it audited; only a passing audit of the survey's current rendering lets
    the survey open. With `open_when_passed`, a passing audit opens the survey at once."""

    job_kind = "blinding_audit"
    queue = "interactive"  # an admin waits for it to open the survey (jobs.workers)
    runner = "studies.services.audits.run_blinding_audit"
    progress_unit = "items"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="blinding_audits")

    @classmethod
    def visible_to(cls, user):
        return visible_to(cls.objects.all(), user, through="survey__project")

    open_when_passed = models.BooleanField(default=False)
    fingerprint = models.CharField(max_length=64, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    report = models.TextField(blank=True)

    class Meta(Job.Meta):
        pass

    def __str__(self):
        return f"Blinding audit #{self.pk} of {self.survey} ({self.status_label})"
