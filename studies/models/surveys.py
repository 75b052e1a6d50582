"""Surveys and their items: one model under test, n real and n synthetic slices pre-rendered under one display
policy, and the practice items read before them. The truth of an item stays here, server-side."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import translation

from studies.models.fields import (
    OPAQUE_ID_LENGTH,
    DisplayPolicyField,
    StudyDesignField,
    default_study_design,
    new_opaque_id,
)
from studies.survey_input import DEFAULT_READER_TITLE


class Survey(models.Model):
    """One model under test: n real and n synthetic slices shown under one display policy."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=128, unique=True)
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.PROTECT,
        related_name="surveys",
        help_text="The project that owns the survey; only its members see it.",
    )
    model_dataset = models.ForeignKey(
        "imaging.Dataset",
        on_delete=models.PROTECT,
        related_name="surveys_as_model",
        help_text="The model under test: a synthetic CT dataset.",
    )
    model_alias = models.CharField(
        max_length=64, help_text="Short name of the model for reports (never shown to readers)."
    )
    real_dataset = models.ForeignKey(
        "imaging.Dataset",
        on_delete=models.PROTECT,
        related_name="surveys_as_real",
        help_text="Real CT of the same contrast kind as the model's output.",
    )
    real_count = models.PositiveSmallIntegerField()
    synthetic_count = models.PositiveSmallIntegerField()
    seed = models.BigIntegerField(
        help_text="Seed of the item selection; the same seed selects the same slices."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    allow_going_back = models.BooleanField(
        default=False,
        help_text="Readers may return to earlier slices and change their answer (kept as history).",
    )
    reader_title = models.CharField(
        max_length=128,
        default=DEFAULT_READER_TITLE,
        help_text="The title readers see. Never name the model or dataset.",
    )
    instructions = models.TextField(
        blank=True, help_text="Shown to readers before they start. Do not say how many items are real."
    )
    reader_title_it = models.CharField(
        max_length=128, blank=True, help_text="The title on Italian pages; empty: the English title."
    )
    instructions_it = models.TextField(
        blank=True, help_text="The instructions on Italian pages; empty: the English instructions."
    )

    # Every item, real or synthetic, is rendered through this policy before the survey opens.
    display_policy = DisplayPolicyField(
        help_text="How every item is rendered and first shown (studies.policy.DisplayPolicy)."
    )
    # What readers are asked and with which tools: rating, window presets, practice (studies.design.StudyDesign).
    design = StudyDesignField(
        default=default_study_design,
        help_text="Confidence rating, window presets and practice items (studies.design.StudyDesign).",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True, help_text="When the items were last rendered.")
    last_audit_at = models.DateTimeField(null=True, blank=True)
    last_audit_passed = models.BooleanField(null=True, blank=True)
    last_audit_report = models.TextField(blank=True)
    last_audit_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="What the last blinding audit saw (see rendering_fingerprint)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "open", "closed"]), name="survey_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(real_count__gte=1) & Q(synthetic_count__gte=1),
                name="survey_has_items_on_both_sides",
            ),
            models.CheckConstraint(condition=Q(real_count=F("synthetic_count")), name="survey_is_balanced"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(opened_at__isnull=False), name="survey_opened_has_opened_at"
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False), name="survey_closed_has_closed_at"
            ),
            models.CheckConstraint(
                condition=~Q(model_dataset=F("real_dataset")), name="survey_model_is_not_its_real_dataset"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def item_count(self) -> int:
        return self.real_count + self.synthetic_count

    @property
    def title_shown(self) -> str:
        """The reader title in the language of the page being rendered (Italian falls back to English)."""
        return self._in_page_language(self.reader_title, self.reader_title_it)

    @property
    def instructions_shown(self) -> str:
        """The instructions in the language of the page being rendered (Italian falls back to English)."""
        return self._in_page_language(self.instructions, self.instructions_it)

    @staticmethod
    def _in_page_language(english: str, italian: str) -> str:
        if (translation.get_language() or "").startswith("it") and italian.strip():
            return italian
        return english

    @property
    def payload_bytes(self) -> int:
        """Size of every item's pixel payload: (2k+1 slices of a stack, else 1) x matrix x matrix int16."""
        return self.display_policy.payload_bytes * self.design.stack_slices

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Truth(models.TextChoices):
    REAL = "real", "Real"
    SYNTHETIC = "synthetic", "Synthetic"


class ItemQuerySet(models.QuerySet):
    def scored(self):
        """The test items: every item but the catch items. The one home of "catch items are never part of a
        statistic": every read of items or answers for statistics, reports and answer exports goes through it."""
        return self.filter(catch=False)

    def catch_only(self):
        return self.filter(catch=True)


class Item(models.Model):
    """One slice in one survey, pre-rendered under the survey's display policy. `truth` stays server-side.

    A catch item (`catch`, studies.catch) is a synthetic slice with a plainly visible artefact drawn into its
    payload: answered like any item, in no statistic (`Item.objects.scored()`), used for reader quality control."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="items")
    public_id = models.CharField(
        max_length=OPAQUE_ID_LENGTH, unique=True, default=new_opaque_id, editable=False
    )
    slice = models.ForeignKey("imaging.Slice", on_delete=models.PROTECT, related_name="survey_items")
    truth = models.CharField(max_length=9, choices=Truth.choices)
    axial_layer = models.PositiveSmallIntegerField(help_text="The slice's axial layer when it was selected.")
    payload = models.CharField(max_length=255, blank=True, help_text="Storage name of the rendered pixels.")
    payload_sha256 = models.CharField(max_length=64, blank=True)
    catch = models.BooleanField(
        default=False,
        db_default=False,
        help_text="A catch item: a synthetic slice with a drawn artefact, for reader quality control only.",
    )

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["survey", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "slice"], name="item_slice_once_per_survey"),
            models.CheckConstraint(
                condition=Q(catch=False) | Q(truth="synthetic"), name="item_catch_is_synthetic"
            ),
            models.CheckConstraint(condition=Q(truth__in=["real", "synthetic"]), name="item_truth_valid"),
            models.CheckConstraint(
                condition=Q(axial_layer__gte=1) & Q(axial_layer__lte=10), name="item_axial_layer_1_to_10"
            ),
        ]

    def __str__(self):
        return f"{self.survey.name} / {self.public_id}"


class PracticeItem(models.Model):
    """One practice slice of a survey: read before the test items, followed by feedback, never part of the test.

    Practice slices come from the survey's pools but never from its test items, and go through the same display
    pipeline (payload) and the same opaque ids."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="practice_items")
    public_id = models.CharField(
        max_length=OPAQUE_ID_LENGTH, unique=True, default=new_opaque_id, editable=False
    )
    slice = models.ForeignKey("imaging.Slice", on_delete=models.PROTECT, related_name="survey_practice_items")
    truth = models.CharField(max_length=9, choices=Truth.choices)
    axial_layer = models.PositiveSmallIntegerField()
    payload = models.CharField(max_length=255, blank=True, help_text="Storage name of the rendered pixels.")
    payload_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["survey", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "slice"], name="practice_slice_once_per_survey"),
            models.CheckConstraint(condition=Q(truth__in=["real", "synthetic"]), name="practice_truth_valid"),
        ]

    def __str__(self):
        return f"{self.survey.name} / practice {self.public_id}"
