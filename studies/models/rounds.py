"""The rounds beside the first reading: practice answers (read before the test, followed by feedback) and the
second reading of repeat reading (its round and its answers)."""

from django.db import models
from django.db.models import Q

from studies.models.answers import (
    CHOICE_VALUES,
    VIEWER_STATE_FIELDS,
    AnswerFields,
    Choice,
    ScoredQuerySet,
    answer_field_constraints,
)
from studies.models.people import Assignment
from studies.models.surveys import Item, PracticeItem


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
    views_used = models.JSONField(
        default=list,
        db_default=models.Value("[]"),
        blank=True,
        help_text="Slab reading: the views looked at (axial, coronal, sagittal), in the order first seen; [] without.",
    )
    seconds_per_view = models.JSONField(
        default=list,
        db_default=models.Value("[]"),
        blank=True,
        help_text="Slab reading: seconds each view (axial, coronal, sagittal) was on screen; [] without a slab.",
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

    objects = ScoredQuerySet.as_manager()

    class Meta:
        ordering = ["reading_round", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reading_round", "item"], name="repeat_answer_once_per_round"),
            models.UniqueConstraint(fields=["reading_round", "client_key"], name="repeat_client_key_once"),
            *answer_field_constraints("repeat"),
        ]

    def __str__(self):
        return f"{self.reading_round} / {self.item.public_id}: {self.choice}"
