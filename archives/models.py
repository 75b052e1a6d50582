"""Study archives as jobs: exporting surveys to one zip, importing one into this instance."""

from django.db import models

from jobs.models import Job


class StudyExport(Job):
    """One export of surveys (with everything needed to re-run the analysis or restore them) to an archive."""

    job_kind = "study_export"
    runner = "archives.services.run_study_export"
    progress_unit = "files"

    survey_ids = models.JSONField(help_text="The surveys exported, in order.")
    archive = models.CharField(max_length=255, blank=True, help_text="Storage name of the archive written.")
    archive_sha256 = models.CharField(max_length=64, blank=True)

    class Meta(Job.Meta):
        pass

    def __str__(self):
        return f"Study export #{self.pk} ({self.status_label})"


class StudyImport(Job):
    """One import of an archive as closed, read-only surveys; all or nothing."""

    job_kind = "study_import"
    runner = "archives.services.run_study_import"
    progress_unit = "items"

    archive = models.CharField(max_length=255, help_text="Storage name of the archive to import.")
    archive_sha256 = models.CharField(max_length=64, blank=True)
    survey_ids = models.JSONField(default=list, blank=True, help_text="The surveys the import made.")

    class Meta(Job.Meta):
        pass

    def __str__(self):
        return f"Study import #{self.pk} ({self.status_label})"
