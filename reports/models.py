"""Report jobs (the statistics, PDF and page of a selection of surveys, stored as artefacts) and the log of
report downloads."""

from django.conf import settings
from django.db import models

from jobs.models import Job
from studies.selectors import rows_of_visible_surveys


class DownloadLog(models.Model):
    """Who downloaded which report of which surveys, when, and what exactly they got (size and sha256)."""

    class What(models.TextChoices):
        ANSWERS_CSV = "answers_csv", "Answers (CSV)"
        DATA_DICTIONARY = "data_dictionary", "Data dictionary (CSV)"
        STATS_JSON = "stats_json", "Statistics (JSON)"
        METRICS_CSV = "metrics_csv", "Image-distribution metrics (CSV)"
        PDF = "pdf", "Report (PDF)"
        ANSWERS_JSON = "answers_json", "Answers (JSON)"
        METRICS_JSON = "metrics_json", "Image-distribution metrics (JSON)"
        PRACTICE_CSV = "practice_csv", "Practice answers (CSV)"
        FIGURE = "figure", "A figure or table of a report (PNG, SVG or CSV)"

    class Via(models.TextChoices):
        WEB = "web", "Browser"
        COMMAND = "command", "Command line"
        API = "api", "REST API"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    what = models.CharField(max_length=32, choices=What.choices)
    via = models.CharField(max_length=16, choices=Via.choices)
    surveys = models.JSONField(default=list, blank=True, help_text="Survey names in the download.")
    models_compared = models.JSONField(default=list, blank=True, help_text="Model names in the download.")
    byte_size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    what__in=[
                        "answers_csv",
                        "data_dictionary",
                        "stats_json",
                        "metrics_csv",
                        "pdf",
                        "answers_json",
                        "metrics_json",
                        "practice_csv",
                        "figure",
                    ]
                ),
                name="download_log_what_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(via__in=["web", "command", "api"]), name="download_log_via_valid"
            ),
        ]

    def __str__(self):
        who = self.user or "command line"
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_what_display()} by {who}"


class ReportJob(Job):
    """The statistics and the PDF of a selection of surveys, computed by a worker and kept as stored artefacts.

    The report page and its downloads serve the latest finished job of their selection; the answers it was
    computed from (`answer_count`, `revision_count`, `last_answer_at`) tell when it is out of date."""

    job_kind = "report"
    queue = "interactive"  # a researcher waits for it (jobs.workers)
    runner = "reports.services.report_runs.run_report_job"
    progress_unit = "steps"

    survey_ids = models.JSONField(help_text="The surveys of the report, in the order shown.")
    selection_key = models.CharField(max_length=64, db_index=True, help_text="sha256 of the survey ids.")
    title = models.CharField(max_length=300, blank=True)
    answer_count = models.PositiveIntegerField(default=0)
    revision_count = models.PositiveIntegerField(default=0)
    last_answer_at = models.DateTimeField(null=True, blank=True)
    stats_json = models.CharField(
        max_length=255, blank=True, help_text="Storage name of the statistics JSON."
    )
    stats_sha256 = models.CharField(max_length=64, blank=True)
    pdf = models.CharField(max_length=255, blank=True, help_text="Storage name of the PDF.")
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    page_html = models.CharField(
        max_length=255, blank=True, help_text="Storage name of the report page's body."
    )
    experience_bands = models.JSONField(
        default=list,
        blank=True,
        help_text="Edges (years) of the readers' experience bands in this report; empty: the default 5 and 15.",
    )
    figures = models.JSONField(
        default=list,
        blank=True,
        help_text="The report's figures and tables as files of their own: key, title, caption, section, whether "
        "the PDF shows it, and the storage name of each file by extension (reports.services.report_figures).",
    )

    class Meta(Job.Meta):
        pass

    @classmethod
    def visible_to(cls, user):
        return rows_of_visible_surveys(cls.objects.all(), user)

    def __str__(self):
        return f"Report #{self.pk}: {self.title or self.survey_ids} ({self.status_label})"
