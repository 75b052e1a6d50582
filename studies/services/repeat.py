"""Repeat reading: the second reading's answers, written once each in the round's frozen order, only once the
wash-out is over (the server enforces it), and the reader confirming the round's end."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.services import record_event
from studies.models import Item, ReadingRound, RepeatAnswer
from studies.selectors import next_round_position, round_is_open
from studies.services.answers import AnswerInput, viewer_state
from studies.services.errors import AnswerRejected, StudyError


@dataclass(frozen=True)
class RepeatResult:
    answer: RepeatAnswer
    duplicate: bool


def do_submit_repeat_answer(*, reading_round: ReadingRound, item: Item, data: AnswerInput) -> RepeatResult:
    """Store a reader's answer to an item of their second reading once (the same client key returns it)."""
    try:
        with transaction.atomic():
            reading_round = (
                ReadingRound.objects.select_for_update(of=("self",))
                .select_related("assignment__survey", "assignment__reader")
                .get(pk=reading_round.pk)
            )
            assignment = reading_round.assignment
            if item.pk not in reading_round.item_order:
                raise AnswerRejected("this item is not part of your survey", status=404)
            previous = reading_round.answers.filter(client_key=data.client_key).first()
            if previous is not None:
                if previous.item_id != item.pk:
                    raise AnswerRejected("this client_key was already used for another item", status=409)
                return RepeatResult(answer=previous, duplicate=True)
            if not assignment.survey_is_answerable:
                raise AnswerRejected(gettext_noop("This survey is not open for answers."), status=409)
            if not round_is_open(reading_round):
                raise AnswerRejected(gettext_noop("The second reading has not opened yet."), status=409)
            if reading_round.completed_at:
                raise AnswerRejected(gettext_noop("You have already finished this survey."), status=409)
            if reading_round.answers.filter(item=item).exists():
                raise AnswerRejected(gettext_noop("This slice was already answered."), status=409)
            if reading_round.item_order.index(item.pk) + 1 != next_round_position(reading_round):
                raise AnswerRejected(gettext_noop("Answer the earlier slices first."), status=409)
            answer = RepeatAnswer.objects.create(
                reading_round=reading_round,
                item=item,
                choice=data.choice,
                reason=data.reason,
                seconds_on_slice=data.seconds_on_slice,
                rating=data.rating,
                client_key=data.client_key,
                **viewer_state(data),
            )
            record_event(
                actor=assignment.reader,
                verb="round.answered",
                target=answer,
                details={"item": item.public_id, "round": reading_round.number, "choice": data.choice},
            )
    except IntegrityError:
        previous = RepeatAnswer.objects.filter(
            reading_round=reading_round, client_key=data.client_key
        ).first()
        if previous is None or previous.item_id != item.pk:
            raise AnswerRejected(gettext_noop("This slice was already answered."), status=409) from None
        return RepeatResult(answer=previous, duplicate=True)
    return RepeatResult(answer=answer, duplicate=False)


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
