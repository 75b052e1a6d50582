"""Answers: one service stores a reader's answer exactly once in any of their rounds. The rounds (the test, the
practice items read before it, the second reading of repeat reading) are data, :class:`Round`: where the round's
answers live, which frozen order it follows, what it checks before an answer and what it records. Everything else
is the same for every round: the reader's row is locked, a client key seen before returns what it stored (a double
click, a retry after a timeout), items are answered in the reader's order, and each answer writes its audit row."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.services import record_event
from studies.exposure_track import exposure_fields
from studies.models import (
    Answer,
    AnswerFields,
    AnswerRevision,
    Assignment,
    Item,
    PracticeAnswer,
    PracticeItem,
    ReadingRound,
    RepeatAnswer,
)
from studies.selectors import first_unanswered, next_practice_position, round_is_open
from studies.services.answer_input import AnswerInput, viewer_state
from studies.services.errors import AnswerRejected

# A check before an answer is stored: given the round's locked row and the reader's assignment, the refusal (a
# message the reader's page translates, sent with a 409) or None.
Gate = Callable[[models.Model, Assignment], str | None]


def finished(owner, assignment) -> str | None:
    return gettext_noop("You have already finished this survey.") if owner.completed_at else None


def practice_first(owner, assignment) -> str | None:
    pending = next_practice_position(assignment) is not None
    return gettext_noop("Finish the practice items first.") if pending else None


def round_opened(owner, assignment) -> str | None:
    return None if round_is_open(owner) else gettext_noop("The second reading has not opened yet.")


@dataclass(frozen=True)
class Round:
    """What one of a reader's rounds is: the one answer service (:func:`do_submit_round_answer`) reads it."""

    name: str
    owner_model: type[models.Model]  # the row the round hangs on: locked while an answer is written
    owner_related: tuple[str, ...]  # what the locked row is read with
    owner_field: str  # the answer's field naming that row
    order_field: str  # the row's frozen order of item ids
    item_model: type[models.Model]
    item_field: str  # the answer's field naming the item
    answer_model: type[models.Model]
    stored: tuple[str, ...]  # what an answer stores from the submission, besides the viewer's state
    verb: str  # the audit verb of a new answer
    details: tuple[
        str, ...
    ]  # what its audit row says besides the item: "choice", "rating", "revision", "round"
    gates: tuple[Gate, ...] = ()  # checked in this order once the survey is known to take answers
    # Every submission is also kept as a revision (where client keys live); an answer changes (a new revision)
    # only when the survey lets readers go back and the page saw the latest revision.
    revision_model: type[models.Model] | None = None

    @property
    def keys_model(self) -> type[models.Model]:
        """Where the round's client keys are unique: its revisions, or its answers when it keeps none."""
        return self.revision_model or self.answer_model

    def assignment_of(self, owner) -> Assignment:
        return owner if isinstance(owner, Assignment) else owner.assignment


TEST = Round(
    name="test",
    owner_model=Assignment,
    owner_related=("survey",),
    owner_field="assignment",
    order_field="item_order",
    item_model=Item,
    item_field="item",
    answer_model=Answer,
    stored=("choice", "reason", "seconds_on_slice", "client_key", "rating"),
    verb="answer.submitted",
    details=("revision", "choice", "rating"),
    gates=(finished, practice_first),
    revision_model=AnswerRevision,
)
PRACTICE = Round(
    name="practice",
    owner_model=Assignment,
    owner_related=("survey",),
    owner_field="assignment",
    order_field="practice_order",
    item_model=PracticeItem,
    item_field="practice_item",
    answer_model=PracticeAnswer,
    stored=("choice", "rating", "seconds_on_slice", "client_key"),
    verb="practice.answered",
    details=("choice", "rating"),
)
REPEAT = Round(
    name="repeat",
    owner_model=ReadingRound,
    owner_related=("assignment__survey", "assignment__reader"),
    owner_field="reading_round",
    order_field="item_order",
    item_model=Item,
    item_field="item",
    answer_model=RepeatAnswer,
    stored=("choice", "reason", "seconds_on_slice", "rating", "client_key"),
    verb="round.answered",
    details=("round", "choice"),
    gates=(round_opened, finished),
)


@dataclass(frozen=True)
class SubmitResult:
    answer: models.Model  # an Answer, PracticeAnswer or RepeatAnswer
    revision: AnswerRevision | None  # the test round's revision this submission is; None in the other rounds
    duplicate: bool  # the same client key was seen before: nothing new was stored


def do_submit_round_answer(*, reading: Round, owner, item, data: AnswerInput) -> SubmitResult:
    """Store a reader's answer to `item` in the round `reading` of `owner` (their assignment, or their second
    reading) exactly once.

    The same client key again returns what was stored the first time. Items are answered in the round's frozen
    order. An answered item is refused, except in a round with revisions whose survey lets readers go back: there a
    new key is a change, allowed when the page saw the latest revision (`base_revision`), so a stale second tab
    cannot overwrite a newer answer; the answer row carries the latest revision.
    """
    try:
        with transaction.atomic():
            # One reader's submissions are serialised on the round's row.
            owner = (
                reading.owner_model.objects.select_for_update(of=("self",))
                .select_related(*reading.owner_related)
                .get(pk=owner.pk)
            )
            assignment = reading.assignment_of(owner)
            order = getattr(owner, reading.order_field) or []
            if item.survey_id != assignment.survey_id or item.pk not in order:
                raise AnswerRejected("this item is not part of your survey", status=404)
            previous = _stored_with_key(reading, owner, item, data)
            if previous is not None:
                return previous
            if not assignment.survey_is_answerable:
                raise AnswerRejected(gettext_noop("This survey is not open for answers."), status=409)
            for gate in reading.gates:
                refusal = gate(owner, assignment)
                if refusal is not None:
                    raise AnswerRejected(refusal, status=409)
            mine = {reading.owner_field: owner}
            answered = set(
                reading.answer_model.objects.filter(**mine).values_list(f"{reading.item_field}_id", flat=True)
            )
            upcoming = first_unanswered(order, answered)
            if item.pk not in answered and upcoming is not None and order.index(item.pk) + 1 > upcoming:
                raise AnswerRejected(gettext_noop("Answer the earlier slices first."), status=409)
            answer = (
                reading.answer_model.objects.select_for_update()
                .filter(**mine, **{reading.item_field: item})
                .first()
            )
            fields = {name: getattr(data, name) for name in reading.stored} | viewer_state(data)
            if issubclass(reading.answer_model, AnswerFields):
                fields |= exposure_fields(assignment, data.exposure_measured_ms)
            if answer is None:
                answer, revision = _first_answer(reading, mine, item, data, fields)
                verb = reading.verb
            else:
                answer, revision = _changed_answer(reading, assignment, answer, data, fields)
                verb = "answer.revised"
            Assignment.objects.filter(pk=assignment.pk).update(last_activity_at=timezone.now())
            record_event(
                actor=assignment.reader,
                verb=verb,
                target=answer,
                details={"item": item.public_id, **_details(reading, owner, revision, data)},
            )
    except IntegrityError:
        # Two requests with the same key raced past the lookup; the first one's row is the answer.
        previous = _stored_with_key(reading, owner, item, data)
        if previous is None:
            raise AnswerRejected(gettext_noop("This slice was already answered."), status=409) from None
        return previous
    return SubmitResult(answer=answer, revision=revision, duplicate=False)


def _stored_with_key(reading: Round, owner, item, data: AnswerInput) -> SubmitResult | None:
    """What the reader's client key stored before in this round (a duplicate), None if it is new; a key used for
    another item is refused."""
    stored = (
        reading.keys_model.objects.select_related("answer" if reading.revision_model else reading.item_field)
        .filter(**{reading.owner_field: owner}, client_key=data.client_key)
        .first()
    )
    if stored is None:
        return None
    answer = stored.answer if reading.revision_model else stored
    if getattr(answer, f"{reading.item_field}_id") != item.pk:
        raise AnswerRejected("this client_key was already used for another item", status=409)
    return SubmitResult(answer=answer, revision=stored if reading.revision_model else None, duplicate=True)


def _first_answer(reading: Round, mine: dict, item, data: AnswerInput, fields: dict):
    if reading.revision_model is not None and data.base_revision != 0:
        raise AnswerRejected(gettext_noop("This slice has no answer to change."), status=409)
    if reading.revision_model is None:
        return reading.answer_model.objects.create(**mine, **{reading.item_field: item}, **fields), None
    answer = reading.answer_model.objects.create(
        **mine, **{reading.item_field: item}, revision_count=1, **fields
    )
    revision = reading.revision_model.objects.create(answer=answer, revision=1, **mine, **fields)
    return answer, revision


def _changed_answer(reading: Round, assignment: Assignment, answer, data: AnswerInput, fields: dict):
    if reading.revision_model is None or not assignment.survey.allow_going_back:
        raise AnswerRejected(gettext_noop("This slice was already answered."), status=409)
    if data.base_revision != answer.revision_count:
        raise AnswerRejected(
            gettext_noop("This answer was changed in another window; the page will reload."), status=409
        )
    # The revision first: the database lets an answer change only to the values of the revision written before it
    # in the same transaction (studies migration 0005).
    revision = reading.revision_model.objects.create(
        answer=answer, assignment=assignment, revision=answer.revision_count + 1, **fields
    )
    for name, value in fields.items():
        setattr(answer, name, value)
    answer.revision_count += 1
    answer.save()
    return answer, revision


def _details(reading: Round, owner, revision, data: AnswerInput) -> dict:
    values = {
        "revision": revision.revision if revision is not None else None,
        "round": getattr(owner, "number", None),
        "choice": data.choice,
        "rating": data.rating,
    }
    return {name: values[name] for name in reading.details}


def do_submit_answer(*, assignment: Assignment, item: Item, data: AnswerInput) -> SubmitResult:
    """A test answer (the first reading); see :func:`do_submit_round_answer`."""
    return do_submit_round_answer(reading=TEST, owner=assignment, item=item, data=data)


def do_submit_practice_answer(
    *, assignment: Assignment, practice_item: PracticeItem, data: AnswerInput
) -> SubmitResult:
    """A practice answer, read before the test and followed by feedback (the view's, from the practice item)."""
    return do_submit_round_answer(reading=PRACTICE, owner=assignment, item=practice_item, data=data)


def do_submit_repeat_answer(*, reading_round: ReadingRound, item: Item, data: AnswerInput) -> SubmitResult:
    """An answer of the second reading, once its wash-out is over (the server enforces it)."""
    return do_submit_round_answer(reading=REPEAT, owner=reading_round, item=item, data=data)
