"""The ends of a reader's rounds: the reader confirms the end of the first reading (its answers are final, and a
repeat reading's second round is scheduled after the wash-out) or of the second reading."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.services import record_event
from studies.models import Assignment, Item, ReadingRound
from studies.sampling import select_repeated
from studies.services.errors import StudyError


def do_complete_assignment(*, assignment: Assignment) -> Assignment:
    """The reader confirms the end: from now on their answers are final."""
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(of=("self",)).select_related("survey").get(pk=assignment.pk)
        )
        if assignment.completed_at:
            return assignment
        if not assignment.survey_is_answerable:
            raise StudyError(gettext_noop("This survey is not open."))
        if assignment.survey.design.is_two_afc and not assignment.is_audit:  # 2AFC: every pair of the plan
            answered, total, what = assignment.pair_answers.count(), len(assignment.pair_plan), "pairs"
        else:
            answered, total, what = assignment.answers.count(), assignment.total, "slices"
        if answered < total:
            raise StudyError(f"Only {answered} of {total} {what} are answered.")
        assignment.completed_at = timezone.now()
        assignment.save(update_fields=["completed_at"])
        record_event(actor=assignment.reader, verb="assignment.completed", target=assignment, details={})
        design = assignment.survey.design
        if design.has_repeat:
            # The second reading repeats test items only; catch items serve the first reading's quality control.
            truths = dict(
                Item.objects.scored().filter(pk__in=assignment.item_order).values_list("pk", "truth")
            )
            order = select_repeated(truths, design.repeated_count(len(truths)), secrets.randbits(62))
            reading_round = ReadingRound.objects.create(
                assignment=assignment,
                number=2,
                item_order=order,
                opens_at=assignment.completed_at + timedelta(days=design.washout_days),
            )
            record_event(
                actor=assignment.reader,
                verb="round.scheduled",
                target=reading_round,
                details={"items": len(order), "opens_at": reading_round.opens_at.isoformat()},
            )
    return assignment


def do_complete_round(*, reading_round: ReadingRound) -> ReadingRound:
    """The reader confirms the end of their second reading: its answers are final."""
    with transaction.atomic():
        reading_round = (
            ReadingRound.objects.select_for_update(of=("self",))
            .select_related("assignment__reader", "assignment__survey")
            .get(pk=reading_round.pk)
        )
        if reading_round.completed_at:
            return reading_round
        if not reading_round.assignment.survey_is_answerable:
            raise StudyError(gettext_noop("This survey is not open."))
        answered = reading_round.answers.count()
        if answered < reading_round.total:
            raise StudyError(f"Only {answered} of {reading_round.total} slices are answered.")
        reading_round.completed_at = timezone.now()
        reading_round.save(update_fields=["completed_at"])
        record_event(
            actor=reading_round.assignment.reader, verb="round.completed", target=reading_round, details={}
        )
    return reading_round
