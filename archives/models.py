"""Study archives as jobs: exporting surveys to one zip, importing one into this instance; and where an imported
survey came from."""

from django.db import models

from archives.signing import Origin
from jobs.models import Job
from studies.selectors import rows_of_visible_surveys


class StudyExport(Job):
    """One export of surveys (with everything needed to re-run the analysis or restore them) to an archive."""

    job_kind = "study_export"
    runner = "archives.services.run_study_export"
    progress_unit = "files"

    survey_ids = models.JSONField(help_text="The surveys exported, in order.")
    sign = models.BooleanField(default=False, help_text="Sign the archive with this site's key.")
    signed_by = models.CharField(
        max_length=64, blank=True, help_text="The id of the key that signed the archive (empty: unsigned)."
    )
    archive = models.CharField(max_length=255, blank=True, help_text="Storage name of the archive written.")
    archive_sha256 = models.CharField(max_length=64, blank=True)

    class Meta(Job.Meta):
        pass

    @classmethod
    def visible_to(cls, user):
        return rows_of_visible_surveys(cls.objects.all(), user)

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
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The project the restored surveys and their datasets join (empty: the default project).",
    )

    class Meta(Job.Meta):
        pass

    @classmethod
    def visible_to(cls, user):
        return rows_of_visible_surveys(cls.objects.all(), user)

    def __str__(self):
        return f"Study import #{self.pk} ({self.status_label})"


class SurveyOrigin(models.Model):
    """Where a survey restored from an archive came from: the archive, its format, and what its signature said."""

    class Signature(models.TextChoices):
        VERIFIED = "verified", "Signed, verified with a trusted key"
        UNVERIFIED = "unverified", "Signed with a key not trusted here, not verified"
        UNSIGNED = "unsigned", "Unsigned"

    survey = models.OneToOneField("studies.Survey", on_delete=models.CASCADE, related_name="archive_origin")
    archive_sha256 = models.CharField(max_length=64)
    archive = models.CharField(max_length=255, help_text="Storage name of the imported archive, kept.")
    format = models.CharField(max_length=32)
    signature = models.CharField(max_length=10, choices=Signature.choices)
    key_id = models.CharField(
        max_length=64, blank=True, help_text="The id of the key that signed the archive."
    )
    exported_at = models.CharField(
        max_length=64, blank=True, help_text="When the archive says it was written."
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(signature__in=["verified", "unverified", "unsigned"]),
                name="survey_origin_signature_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(signature="unsigned", key_id="") | ~models.Q(signature="unsigned"),
                name="survey_origin_unsigned_has_no_key",
            ),
        ]

    def __str__(self):
        return f"{self.survey} from archive {self.archive_sha256[:12]} ({self.describe()})"

    def describe(self) -> str:
        return Origin(self.signature, self.key_id).describe()
