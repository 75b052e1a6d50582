"""Reader studies: surveys of real and synthetic CT slices, readers' assignments and their answers.

The truth of an item (real or synthetic) lives on `Item` and is never sent to a reader. Readers reach items only
through their own `Assignment.key` and each item's `Item.public_id`, both opaque random strings.
"""

import json
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jobs.models import Job
from studies.design import DesignError, StudyDesign
from studies.policy import DisplayPolicy, PolicyError

# Length of every opaque id (secrets.token_urlsafe(16) always gives 22 characters): equal lengths leak nothing.
OPAQUE_ID_LENGTH = 22


def new_opaque_id() -> str:
    return secrets.token_urlsafe(16)


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


class ValueObjectField(models.JSONField):
    """A frozen value object with `to_dict()` / `from_dict()`, stored as a JSON object and read back as the object.
    Subclasses name the class (`value_class`) and the error its validation raises (`error_class`)."""

    value_class: type
    error_class: type

    def from_db_value(self, value, expression, connection):
        data = super().from_db_value(value, expression, connection)
        return None if data is None else self.value_class.from_dict(data)

    def to_python(self, value):
        if value is None or isinstance(value, self.value_class):
            return value
        try:
            return self.value_class.from_dict(super().to_python(value))
        except self.error_class as exc:
            raise ValidationError(str(exc)) from None

    def get_prep_value(self, value):
        if isinstance(value, self.value_class):
            value = value.to_dict()
        return super().get_prep_value(value)

    def validate(self, value, model_instance):
        if isinstance(value, self.value_class):
            value = value.to_dict()
        super().validate(value, model_instance)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return json.dumps(value.to_dict() if isinstance(value, self.value_class) else value)


class DisplayPolicyField(ValueObjectField):
    """A :class:`studies.policy.DisplayPolicy`, stored as a JSON object and read back as the frozen value object."""

    value_class = DisplayPolicy
    error_class = PolicyError


class StudyDesignField(ValueObjectField):
    """A :class:`studies.design.StudyDesign`, stored as a JSON object and read back as the frozen value object."""

    value_class = StudyDesign
    error_class = DesignError


def default_study_design() -> StudyDesign:
    return StudyDesign()


class Survey(models.Model):
    """One model under test: n real and n synthetic slices shown under one display policy."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=128, unique=True)
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
        default="Reader study",
        help_text="The title readers see. Never name the model or dataset.",
    )
    instructions = models.TextField(
        blank=True, help_text="Shown to readers before they start. Do not say how many items are real."
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


class Item(models.Model):
    """One slice in one survey, pre-rendered under the survey's display policy. `truth` stays server-side."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="items")
    public_id = models.CharField(
        max_length=OPAQUE_ID_LENGTH, unique=True, default=new_opaque_id, editable=False
    )
    slice = models.ForeignKey("imaging.Slice", on_delete=models.PROTECT, related_name="survey_items")
    truth = models.CharField(max_length=9, choices=Truth.choices)
    axial_layer = models.PositiveSmallIntegerField(help_text="The slice's axial layer when it was selected.")
    payload = models.CharField(max_length=255, blank=True, help_text="Storage name of the rendered pixels.")
    payload_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["survey", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "slice"], name="item_slice_once_per_survey"),
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


class Choice(models.TextChoices):
    REAL = "real", "Real"
    SYNTHETIC = "synthetic", "Synthetic"
    INDETERMINABLE = "indeterminable", "Indeterminable"


CHOICE_VALUES = [c.value for c in Choice]


class AnswerFields(models.Model):
    """What one submission says, shared by the current answer and each revision in its history."""

    choice = models.CharField(max_length=14, choices=Choice.choices)
    reason = models.TextField(blank=True)
    seconds_on_slice = models.FloatField(help_text="Time the slice was visible before this submission.")
    window_width = models.FloatField(help_text="Window width (HU) on screen at answer time.")
    window_level = models.FloatField(help_text="Window level (HU) on screen at answer time.")
    zoom = models.FloatField(help_text="Zoom factor on screen at answer time (1 = fit).")
    window_changed = models.BooleanField(help_text="Whether the reader changed the window on this slice.")
    client_key = models.UUIDField(help_text="Idempotency key generated by the reader's page.")
    invert_used = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Whether the reader inverted the grey scale on this slice (key V or the button).",
    )
    rating = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Confidence that the image is synthetic on the survey's scale (1..5 or 0..100); empty without.",
    )
    slices_visited = models.JSONField(
        default=list,
        db_default=models.Value("[]"),
        blank=True,
        help_text="Stack reading: the offsets from the centre slice the reader looked at, in the order first seen "
        "(0 = the centre); empty for a single slice.",
    )
    seconds_per_slice = models.JSONField(
        default=list,
        db_default=models.Value("[]"),
        blank=True,
        help_text="Stack reading: seconds on screen of each slice, from offset -k to +k; empty for a single slice.",
    )

    class Meta:
        abstract = True


def answer_field_constraints(prefix: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(condition=Q(choice__in=CHOICE_VALUES), name=f"{prefix}_choice_valid"),
        models.CheckConstraint(condition=Q(seconds_on_slice__gte=0), name=f"{prefix}_seconds_not_negative"),
        models.CheckConstraint(condition=Q(window_width__gt=0), name=f"{prefix}_window_width_positive"),
        models.CheckConstraint(condition=Q(zoom__gt=0), name=f"{prefix}_zoom_positive"),
        models.CheckConstraint(
            condition=Q(rating__isnull=True) | Q(rating__lte=100), name=f"{prefix}_rating_in_range"
        ),
    ]


class Answer(AnswerFields):
    """A reader's current answer to one item. Every submission is also kept, unchanged, as an AnswerRevision."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="answers")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="answers")
    revision_count = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["assignment", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "item"], name="answer_once_per_assignment_and_item"
            ),
            models.CheckConstraint(condition=Q(revision_count__gte=1), name="answer_has_a_revision"),
            *answer_field_constraints("answer"),
        ]

    def __str__(self):
        return f"{self.assignment} / {self.item.public_id}: {self.choice}"

    @property
    def is_correct(self) -> bool:
        return self.choice == self.item.truth


class AnswerRevision(AnswerFields):
    """One submission, as it was sent; never updated or deleted."""

    answer = models.ForeignKey(Answer, on_delete=models.PROTECT, related_name="revisions")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="answer_revisions")
    revision = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["answer", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["answer", "revision"], name="revision_number_once_per_answer"),
            # A retried or doubled submission carries the same key and is recognised instead of stored twice.
            models.UniqueConstraint(fields=["assignment", "client_key"], name="revision_client_key_once"),
            models.CheckConstraint(condition=Q(revision__gte=1), name="revision_number_positive"),
            *answer_field_constraints("revision"),
        ]

    def __str__(self):
        return f"{self.answer} (revision {self.revision})"


# What the viewer showed when the reader answered: fields of every answer (AnswerFields) and of practice answers,
# where they are empty (all of them) only for practice answers stored before they were recorded (migration 0012).
VIEWER_STATE_FIELDS = (
    "window_width",
    "window_level",
    "zoom",
    "window_changed",
    "invert_used",
    "slices_visited",
    "seconds_per_slice",
)


class PracticeAnswer(models.Model):
    """A reader's answer to one practice item: kept apart from the test answers, in no statistic or answers
    export (the practice export is its own file). Written once; the reader then sees the feedback. It records the
    viewer's state at answer time as a test answer does (window, zoom, invert, the stack's slices)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="practice_answers")
    practice_item = models.ForeignKey(PracticeItem, on_delete=models.PROTECT, related_name="answers")
    choice = models.CharField(max_length=14, choices=Choice.choices)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    seconds_on_slice = models.FloatField()
    client_key = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True)
    window_width = models.FloatField(
        null=True, blank=True, help_text="Window width (HU) on screen at answer time."
    )
    window_level = models.FloatField(
        null=True, blank=True, help_text="Window level (HU) on screen at answer time."
    )
    zoom = models.FloatField(
        null=True, blank=True, help_text="Zoom factor on screen at answer time (1 = fit)."
    )
    window_changed = models.BooleanField(
        null=True, blank=True, help_text="Whether the reader changed the window on this slice."
    )
    invert_used = models.BooleanField(
        null=True, blank=True, help_text="Whether the reader inverted the grey scale on this slice."
    )
    slices_visited = models.JSONField(
        null=True,
        blank=True,
        help_text="Stack reading: the offsets from the centre slice looked at, in the order first seen; [] for a "
        "single slice.",
    )
    seconds_per_slice = models.JSONField(
        null=True,
        blank=True,
        help_text="Stack reading: seconds on screen of each slice, offset -k first; [] for one.",
    )

    class Meta:
        ordering = ["assignment", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "practice_item"], name="practice_answer_once_per_assignment"
            ),
            models.UniqueConstraint(fields=["assignment", "client_key"], name="practice_client_key_once"),
            models.CheckConstraint(condition=Q(choice__in=CHOICE_VALUES), name="practice_choice_valid"),
            models.CheckConstraint(
                condition=Q(seconds_on_slice__gte=0), name="practice_seconds_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__lte=100), name="practice_rating_in_range"
            ),
            models.CheckConstraint(
                condition=Q(window_width__isnull=True) | Q(window_width__gt=0),
                name="practice_window_width_positive",
            ),
            models.CheckConstraint(
                condition=Q(zoom__isnull=True) | Q(zoom__gt=0), name="practice_zoom_positive"
            ),
            models.CheckConstraint(
                condition=Q(**{f"{name}__isnull": False for name in VIEWER_STATE_FIELDS})
                | Q(**{f"{name}__isnull": True for name in VIEWER_STATE_FIELDS}),
                name="practice_viewer_state_all_or_none",
            ),
        ]

    def __str__(self):
        return f"{self.assignment} / practice {self.practice_item.public_id}: {self.choice}"


class ReadingRound(models.Model):
    """A second reading of a survey's items by one reader (repeat reading), in its own frozen order; it opens
    after the first reading is complete and the survey's wash-out has passed. The first reading's answers stay as
    they were (the assignment is complete); the second reading's are RepeatAnswers."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="rounds")
    number = models.PositiveSmallIntegerField(default=2)
    item_order = models.JSONField(help_text="Item ids of the second reading in this reader's order (frozen).")
    opens_at = models.DateTimeField(
        help_text="The first reading's end plus the wash-out; enforced by the server."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["assignment", "number"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "number"], name="round_once_per_assignment"),
            models.CheckConstraint(condition=Q(number__gte=2), name="round_number_after_the_first"),
        ]

    def __str__(self):
        return f"{self.assignment} round {self.number}"

    @property
    def total(self) -> int:
        return len(self.item_order)


class RepeatAnswer(AnswerFields):
    """A reader's answer to an item in a second reading: written once, never changed."""

    reading_round = models.ForeignKey(ReadingRound, on_delete=models.PROTECT, related_name="answers")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="repeat_answers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reading_round", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reading_round", "item"], name="repeat_answer_once_per_round"),
            models.UniqueConstraint(fields=["reading_round", "client_key"], name="repeat_client_key_once"),
            *answer_field_constraints("repeat"),
        ]

    def __str__(self):
        return f"{self.reading_round} / {self.item.public_id}: {self.choice}"


class BlindingAudit(Job):
    """One run of the blinding audit on a survey (studies.blinding), as a job on the default queue.

    `fingerprint` says which rendering it audited; only a passing audit of the survey's current rendering lets
    the survey open. With `open_when_passed`, a passing audit opens the survey at once."""

    job_kind = "blinding_audit"
    queue = "interactive"  # an admin waits for it to open the survey (jobs.workers)
    runner = "studies.services.audits.run_blinding_audit"
    progress_unit = "items"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="blinding_audits")
    open_when_passed = models.BooleanField(default=False)
    fingerprint = models.CharField(max_length=64, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    report = models.TextField(blank=True)

    class Meta(Job.Meta):
        pass

    def __str__(self):
        return f"Blinding audit #{self.pk} of {self.survey} ({self.status_label})"
