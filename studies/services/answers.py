"""Answers: parsing a submission, storing it exactly once (every submission kept as a revision), and the
reader confirming the end."""

import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.services import record_event
from studies.design import DesignError, StudyDesign, check_rating, derive_choice
from studies.models import (
    CHOICE_VALUES,
    VIEWER_STATE_FIELDS,
    Answer,
    AnswerRevision,
    Assignment,
    Item,
    ReadingRound,
)
from studies.sampling import select_repeated
from studies.selectors import next_position, next_practice_position
from studies.services.errors import MAX_REASON_CHARS, MAX_SECONDS_ON_SLICE, AnswerRejected, StudyError


@dataclass(frozen=True)
class AnswerInput:
    """One submission from a reader's page, already parsed into Python types."""

    choice: str
    reason: str
    seconds_on_slice: float
    window_width: float
    window_level: float
    zoom: float
    window_changed: bool
    client_key: uuid.UUID
    base_revision: int = 0
    rating: int | None = None
    invert_used: bool = False
    slices_visited: tuple[int, ...] = ()  # stack reading: offsets from the centre, in the order first seen
    seconds_per_slice: tuple[float, ...] = ()  # stack reading: seconds on each slice, offset -k..+k


@dataclass(frozen=True)
class SubmitResult:
    answer: Answer
    revision: AnswerRevision
    duplicate: bool  # the same client key was seen before: nothing new was stored


def parse_answer_input(data, design: StudyDesign | None = None) -> AnswerInput:
    """Validate a decoded JSON body against the survey's design (its rating scale, whether the choice is asked or
    derived from the rating); raises AnswerRejected (400) with one line naming the first bad field."""
    design = design or StudyDesign()
    if not isinstance(data, dict):
        raise AnswerRejected("the answer must be a JSON object")
    try:
        rating = check_rating(design, data.get("rating"))
    except DesignError as exc:
        raise AnswerRejected(str(exc)) from None

    def number(name, low, high):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AnswerRejected(f"{name} must be a number")
        if not low <= value <= high:
            raise AnswerRejected(f"{name} must be between {low} and {high}")
        return float(value)

    choice = data.get("choice")
    if design.choice_from_rating:
        derived = derive_choice(design, rating)
        if choice is not None and choice != derived:
            raise AnswerRejected(f"choice is derived from the rating in this survey ({derived}); send none")
        choice = derived
    elif choice not in CHOICE_VALUES:
        raise AnswerRejected(f"choice must be one of {', '.join(CHOICE_VALUES)}")
    reason = data.get("reason", "")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise AnswerRejected("reason must be text")
    reason = reason.replace("\x00", "").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise AnswerRejected(f"reason must be at most {MAX_REASON_CHARS} characters")
    window_changed = data.get("window_changed")
    if not isinstance(window_changed, bool):
        raise AnswerRejected("window_changed must be true or false")
    try:
        client_key = uuid.UUID(str(data.get("client_key")))
    except ValueError:
        raise AnswerRejected("client_key must be a UUID") from None
    invert_used = data.get("invert_used", False)
    if not isinstance(invert_used, bool):
        raise AnswerRejected("invert_used must be true or false")
    base_revision = data.get("base_revision", 0)
    if isinstance(base_revision, bool) or not isinstance(base_revision, int) or base_revision < 0:
        raise AnswerRejected("base_revision must be a non-negative integer")
    slices_visited, seconds_per_slice = _stack_reading(data, design)
    return AnswerInput(
        choice=choice,
        reason=reason,
        seconds_on_slice=number("seconds_on_slice", 0, MAX_SECONDS_ON_SLICE),
        window_width=number("window_width", 1, 10000),
        window_level=number("window_level", -5000, 5000),
        zoom=number("zoom", 0.05, 64),
        window_changed=window_changed,
        client_key=client_key,
        base_revision=base_revision,
        rating=rating,
        invert_used=invert_used,
        slices_visited=slices_visited,
        seconds_per_slice=seconds_per_slice,
    )


def _stack_reading(data: dict, design: StudyDesign) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The slices visited (distinct offsets -k..k, starting at the centre, 0) and the seconds on each of the 2k+1
    slices of a stack; both must be absent (or empty) without a stack."""
    visited, seconds = data.get("slices_visited"), data.get("seconds_per_slice")
    if not design.is_stack:
        if visited not in (None, []) or seconds not in (None, []):
            raise AnswerRejected("this survey shows one slice: send no slices_visited or seconds_per_slice")
        return (), ()
    k = design.stack_k
    if not isinstance(visited, list) or not visited:
        raise AnswerRejected(f"slices_visited must be a list of offsets -{k}..{k}")
    for offset in visited:
        if isinstance(offset, bool) or not isinstance(offset, int) or not -k <= offset <= k:
            raise AnswerRejected(f"slices_visited must be a list of offsets -{k}..{k}")
    if len(set(visited)) != len(visited):
        raise AnswerRejected("slices_visited must name each offset once")
    if visited[0] != 0:
        raise AnswerRejected("slices_visited must start at the centre slice (offset 0)")
    if not isinstance(seconds, list) or len(seconds) != design.stack_slices:
        raise AnswerRejected(f"seconds_per_slice must be a list of {design.stack_slices} numbers")
    for value in seconds:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AnswerRejected(f"seconds_per_slice must be a list of {design.stack_slices} numbers")
        if not 0 <= value <= MAX_SECONDS_ON_SLICE:
            raise AnswerRejected(f"seconds_per_slice must be between 0 and {MAX_SECONDS_ON_SLICE}")
    return tuple(visited), tuple(round(float(value), 3) for value in seconds)


def viewer_state(data: AnswerInput) -> dict:
    """What the viewer showed when the reader answered (window, zoom, invert, the stack's slices), as model fields;
    test, repeat and practice answers all store it."""
    state = {name: getattr(data, name) for name in VIEWER_STATE_FIELDS}
    return {name: list(value) if isinstance(value, tuple) else value for name, value in state.items()}


def do_submit_answer(*, assignment: Assignment, item: Item, data: AnswerInput) -> SubmitResult:
    """Store a reader's answer exactly once.

    The same client key again (a double click, a retry after a timeout) returns what was stored the first time.
    A new key for an answered item is a change: allowed only when the survey lets readers go back and the page
    saw the latest revision (`base_revision`), so a stale second tab cannot overwrite a newer answer. Every stored
    submission is a new AnswerRevision; the Answer row carries the latest one.
    """
    try:
        with transaction.atomic():
            # One reader's submissions are serialised on their assignment row.
            assignment = (
                Assignment.objects.select_for_update(of=("self",))
                .select_related("survey")
                .get(pk=assignment.pk)
            )
            survey = assignment.survey
            if item.survey_id != survey.pk or item.pk not in assignment.item_order:
                raise AnswerRejected("this item is not part of your survey", status=404)
            previous = (
                AnswerRevision.objects.select_related("answer")
                .filter(assignment=assignment, client_key=data.client_key)
                .first()
            )
            if previous is not None:
                if previous.answer.item_id != item.pk:
                    raise AnswerRejected("this client_key was already used for another item", status=409)
                return SubmitResult(answer=previous.answer, revision=previous, duplicate=True)
            if not assignment.survey_is_answerable:
                raise AnswerRejected(gettext_noop("This survey is not open for answers."), status=409)
            if assignment.completed_at:
                raise AnswerRejected(gettext_noop("You have already finished this survey."), status=409)
            if next_practice_position(assignment) is not None:
                raise AnswerRejected(gettext_noop("Finish the practice items first."), status=409)
            answered = set(assignment.answers.values_list("item_id", flat=True))
            position = assignment.item_order.index(item.pk) + 1
            upcoming = next_position(assignment, answered)
            if item.pk not in answered and upcoming is not None and position > upcoming:
                raise AnswerRejected(gettext_noop("Answer the earlier slices first."), status=409)
            answer = Answer.objects.select_for_update().filter(assignment=assignment, item=item).first()
            now = timezone.now()
            fields = {
                "choice": data.choice,
                "reason": data.reason,
                "seconds_on_slice": data.seconds_on_slice,
                "client_key": data.client_key,
                "rating": data.rating,
                **viewer_state(data),
            }
            if answer is None:
                if data.base_revision != 0:
                    raise AnswerRejected(gettext_noop("This slice has no answer to change."), status=409)
                answer = Answer.objects.create(assignment=assignment, item=item, revision_count=1, **fields)
                revision = AnswerRevision.objects.create(
                    answer=answer, assignment=assignment, revision=1, **fields
                )
                verb = "answer.submitted"
            else:
                if not survey.allow_going_back:
                    raise AnswerRejected(gettext_noop("This slice was already answered."), status=409)
                if data.base_revision != answer.revision_count:
                    raise AnswerRejected(
                        gettext_noop("This answer was changed in another window; the page will reload."),
                        status=409,
                    )
                # The revision first: the database lets an answer change only to the values of the revision
                # written before it in the same transaction (studies migration 0005).
                revision = AnswerRevision.objects.create(
                    answer=answer, assignment=assignment, revision=answer.revision_count + 1, **fields
                )
                for name, value in fields.items():
                    setattr(answer, name, value)
                answer.revision_count += 1
                answer.save()
                verb = "answer.revised"
            Assignment.objects.filter(pk=assignment.pk).update(last_activity_at=now)
            record_event(
                actor=assignment.reader,
                verb=verb,
                target=answer,
                details={
                    "item": item.public_id,
                    "revision": revision.revision,
                    "choice": data.choice,
                    "rating": data.rating,
                },
            )
    except IntegrityError:
        # Two requests with the same key raced past the lookup; the first one's row is the answer.
        previous = (
            AnswerRevision.objects.select_related("answer")
            .filter(assignment=assignment, client_key=data.client_key)
            .first()
        )
        if previous is None:
            raise AnswerRejected(gettext_noop("This slice was already answered."), status=409) from None
        if previous.answer.item_id != item.pk:
            raise AnswerRejected("this client_key was already used for another item", status=409) from None
        return SubmitResult(answer=previous.answer, revision=previous, duplicate=True)
    return SubmitResult(answer=answer, revision=revision, duplicate=False)


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
        answered = assignment.answers.count()
        if answered < assignment.total:
            raise StudyError(f"Only {answered} of {assignment.total} slices are answered.")
        assignment.completed_at = timezone.now()
        assignment.save(update_fields=["completed_at"])
        record_event(actor=assignment.reader, verb="assignment.completed", target=assignment, details={})
        design = assignment.survey.design
        if design.has_repeat:
            truths = dict(Item.objects.filter(pk__in=assignment.item_order).values_list("pk", "truth"))
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
