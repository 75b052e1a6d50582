"""Two-alternative forced choice (2AFC): a survey's pairs of items and the readers' answers to them.

A 2AFC survey keeps its n real and n synthetic `Item`s (selected, rendered and served as every survey's items); each
`ItemPair` joins one real and one synthetic item of the same axial layer. Which side (left or right) shows the real
item is drawn per reader per pair and frozen in `Assignment.pair_plan` (studies.pairs); it never leaves the server.
"""

from django.db import models
from django.db.models import F, Q

from studies.models.fields import OPAQUE_ID_LENGTH, new_opaque_id
from studies.models.people import Assignment
from studies.models.surveys import Item, Survey

SIDE_LEFT = "left"
SIDE_RIGHT = "right"
SIDES = (SIDE_LEFT, SIDE_RIGHT)
MAX_PAIR_REASON_CHARS = 1000


class ItemPair(models.Model):
    """One real and one synthetic item of a 2AFC survey, of the same axial layer."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="pairs")
    public_id = models.CharField(
        max_length=OPAQUE_ID_LENGTH, unique=True, default=new_opaque_id, editable=False
    )
    real_item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="pair_as_real")
    synthetic_item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="pair_as_synthetic")
    axial_layer = models.PositiveSmallIntegerField(help_text="The axial layer both items were selected in.")

    class Meta:
        ordering = ["survey", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(real_item=F("synthetic_item")), name="pair_of_two_different_items"
            ),
        ]

    def __str__(self):
        return f"{self.survey.name} / pair {self.public_id}"


class PairAnswer(models.Model):
    """A reader's answer to one pair: the side they chose as real, whether that was right, how long it took, their
    optional confidence (1 = a guess .. 5 = certain, with a five_point rating) and reason. One answer per pair."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="pair_answers")
    pair = models.ForeignKey(ItemPair, on_delete=models.PROTECT, related_name="answers")
    side = models.CharField(max_length=5, help_text="The side the reader chose as real: left or right.")
    real_side = models.CharField(max_length=5, help_text="The side that showed the real item (frozen plan).")
    correct = models.BooleanField(help_text="Whether the chosen side showed the real item.")
    seconds = models.FloatField(help_text="Seconds from the page being shown to the answer.")
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="1 = a guess .. 5 = certain (with a five_point rating); else empty."
    )
    reason = models.TextField(blank=True, max_length=MAX_PAIR_REASON_CHARS)
    answered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assignment", "answered_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "pair"], name="pair_answer_once_per_reader"),
            models.CheckConstraint(condition=Q(side__in=SIDES), name="pair_answer_side_valid"),
            models.CheckConstraint(condition=Q(real_side__in=SIDES), name="pair_answer_real_side_valid"),
            models.CheckConstraint(
                condition=(Q(correct=True) & Q(side=F("real_side")))
                | (Q(correct=False) & ~Q(side=F("real_side"))),
                name="pair_answer_correct_is_side_match",
            ),
            models.CheckConstraint(condition=Q(seconds__gte=0), name="pair_answer_seconds_not_negative"),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | (Q(confidence__gte=1) & Q(confidence__lte=5)),
                name="pair_answer_confidence_1_to_5",
            ),
        ]

    def __str__(self):
        return f"{self.assignment} / {self.pair.public_id}: {self.side}"
