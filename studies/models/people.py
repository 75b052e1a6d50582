"""People in reader studies: readers' profiles, invitations and assignments (a reader's place in a survey)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from studies.models.fields import OPAQUE_ID_LENGTH, new_invitation_token, new_opaque_id
from studies.models.surveys import Survey


class ReaderProfile(models.Model):
    """What a reader chose to tell about themselves; every field is optional."""

    class Specialty(models.TextChoices):
        RADIATION_ONCOLOGY = "radiation_oncology", _("Radiation oncology")
        RADIOLOGY = "radiology", _("Radiology")
        NUCLEAR_MEDICINE = "nuclear_medicine", _("Nuclear medicine")
        MEDICAL_PHYSICS = "medical_physics", _("Medical physics")
        OTHER = "other", _("Other")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reader_profile"
    )
    specialty = models.CharField(max_length=32, choices=Specialty.choices, blank=True)
    years_of_experience = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(years_of_experience__isnull=True) | Q(years_of_experience__lte=70),
                name="reader_profile_years_plausible",
            ),
        ]

    def __str__(self):
        return f"Profile of {self.user}"


class Invitation(models.Model):
    """A single-use link that lets one reader join one survey; it expires and can be revoked."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_invitation_token, editable=False)
    email = models.EmailField(blank=True, help_text="Where the invitation was sent, if it was.")
    label = models.CharField(max_length=128, blank=True, help_text="Who it is for (for the admin only).")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invitation_not_both_used_and_revoked",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="invitation_expires_later"
            ),
        ]

    def __str__(self):
        return f"Invitation to {self.survey.name} ({self.state})"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class Assignment(models.Model):
    """A reader's place in a survey: a stored seed and the frozen order of items drawn from it."""

    key = models.CharField(max_length=OPAQUE_ID_LENGTH, unique=True, default=new_opaque_id, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="assignments")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignment"
    )
    seed = models.BigIntegerField()
    item_order = models.JSONField(
        help_text="Item ids in the order this reader sees them (frozen at creation)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    practice_order = models.JSONField(
        default=list, blank=True, help_text="Practice item ids in the order this reader sees them (frozen)."
    )
    pair_plan = models.JSONField(
        default=list,
        blank=True,
        help_text="2AFC: [pair id, real side] in the order this reader sees the pairs (frozen at creation).",
    )
    completed_at = models.DateTimeField(null=True, blank=True, help_text="When the reader confirmed the end.")
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    reminder_count = models.PositiveSmallIntegerField(default=0)
    is_audit = models.BooleanField(
        default=False,
        help_text="The blinding audit's throwaway reader: reads any survey as if it were open (never stored).",
    )

    class Meta:
        ordering = ["survey", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "reader"], name="assignment_one_per_reader_and_survey"),
        ]

    def __str__(self):
        return f"{self.reader} in {self.survey.name}"

    @property
    def total(self) -> int:
        return len(self.item_order)

    @property
    def practice_total(self) -> int:
        return len(self.practice_order or [])

    @property
    def survey_is_answerable(self) -> bool:
        """Open to this reader: an open survey, or any survey to the blinding audit, which reads it as readers
        would without changing the survey (its assignment is rolled back)."""
        return self.survey.is_open or self.is_audit
