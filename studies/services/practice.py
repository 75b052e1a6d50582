"""Practice answers: stored once per practice item, apart from the test answers, each followed by feedback."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from audit.services import record_event
from studies.models import Assignment, PracticeAnswer, PracticeItem
from studies.selectors import next_practice_position
from studies.services.answers import AnswerInput, viewer_state
from studies.services.errors import AnswerRejected


@dataclass(frozen=True)
class PracticeResult:
    answer: PracticeAnswer
    duplicate: bool

    @property
    def truth(self) -> str:
        """What the reader is told after a practice item (and only after one)."""
        return self.answer.practice_item.truth


def do_submit_practice_answer(
    *, assignment: Assignment, practice_item: PracticeItem, data: AnswerInput
) -> PracticeResult:
    """Store a reader's answer to a practice item once (the same client key returns the first one); practice
    items are answered in the reader's order and never changed."""
    try:
        with transaction.atomic():
            assignment = (
                Assignment.objects.select_for_update(of=("self",))
                .select_related("survey")
                .get(pk=assignment.pk)
            )
            if practice_item.pk not in (assignment.practice_order or []):
                raise AnswerRejected("this item is not part of your survey", status=404)
            previous = (
                PracticeAnswer.objects.select_related("practice_item")
                .filter(assignment=assignment, client_key=data.client_key)
                .first()
            )
            if previous is not None:
                if previous.practice_item_id != practice_item.pk:
                    raise AnswerRejected("this client_key was already used for another item", status=409)
                return PracticeResult(answer=previous, duplicate=True)
            if not assignment.survey_is_answerable:
                raise AnswerRejected(gettext_noop("This survey is not open for answers."), status=409)
            if assignment.practice_answers.filter(practice_item=practice_item).exists():
                raise AnswerRejected(gettext_noop("This slice was already answered."), status=409)
            upcoming = next_practice_position(assignment)
            if upcoming is not None and assignment.practice_order.index(practice_item.pk) + 1 > upcoming:
                raise AnswerRejected(gettext_noop("Answer the earlier slices first."), status=409)
            answer = PracticeAnswer.objects.create(
                assignment=assignment,
                practice_item=practice_item,
                choice=data.choice,
                rating=data.rating,
                seconds_on_slice=data.seconds_on_slice,
                client_key=data.client_key,
                **viewer_state(data),
            )
            record_event(
                actor=assignment.reader,
                verb="practice.answered",
                target=answer,
                details={"item": practice_item.public_id, "choice": data.choice, "rating": data.rating},
            )
    except IntegrityError:
        previous = (
            PracticeAnswer.objects.select_related("practice_item")
            .filter(assignment=assignment, client_key=data.client_key)
            .first()
        )
        if previous is None or previous.practice_item_id != practice_item.pk:
            raise AnswerRejected(gettext_noop("This slice was already answered."), status=409) from None
        return PracticeResult(answer=previous, duplicate=True)
    return PracticeResult(answer=answer, duplicate=False)
