"""Writes of two-alternative forced choice (2AFC) surveys: pairing a new survey's items, and a reader's answer to a
pair. Pure pairing and plans are studies.pairs; one transaction and one audit row per answer."""

from __future__ import annotations

import math

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.services import record_event
from studies.models import Assignment, ItemPair, PairAnswer, Survey
from studies.models.pairs import MAX_PAIR_REASON_CHARS, SIDES
from studies.pairs import PairingError, make_pair_plan, pair_items
from studies.services.errors import MAX_SECONDS_ON_SLICE, AnswerRejected, StudyError


def create_pairs(survey: Survey) -> list[ItemPair]:
    """Pair a 2AFC survey's items (one real and one synthetic of the same axial layer; called in the survey's
    creating transaction). Refuses (StudyError) items that do not pair up."""
    rows = list(survey.items.values_list("id", "truth", "axial_layer"))
    try:
        planned = pair_items(rows, survey.seed)
    except PairingError as exc:
        raise StudyError(f"cannot pair the items: {exc}") from None
    return ItemPair.objects.bulk_create(
        [
            ItemPair(
                survey=survey, real_item_id=p.real_id, synthetic_item_id=p.synthetic_id, axial_layer=p.layer
            )
            for p in planned
        ]
    )


def pair_plan_for(survey: Survey, seed: int) -> list[list]:
    """A new reader's frozen plan (order and real sides) of a 2AFC survey's pairs; [] for any other survey."""
    if not survey.design.is_two_afc:
        return []
    return make_pair_plan(list(survey.pairs.values_list("id", flat=True)), seed)


def _one_line(message: str) -> AnswerRejected:
    return AnswerRejected(message, status=400)


def parse_pair_answer(survey: Survey, values) -> dict:
    """A pair answer as the reader's page sends it: side ("left"/"right", or "l"/"r", "1"/"2"), seconds, and,
    with a five_point rating, an optional confidence 1..5; an optional reason. One-line 400 refusals."""
    if not isinstance(values, dict):
        raise _one_line("an answer is a JSON object")
    unknown = sorted(set(values) - {"side", "seconds", "confidence", "reason"})
    if unknown:
        raise _one_line(f"unknown field(s): {', '.join(map(str, unknown[:5]))}")
    side = values.get("side")
    side = {"l": "left", "1": "left", "r": "right", "2": "right"}.get(str(side).lower(), side)
    if side not in SIDES:
        raise _one_line("side must be left or right")
    seconds = values.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise _one_line("seconds must be a number")
    if not 0 <= seconds <= MAX_SECONDS_ON_SLICE:
        raise _one_line(f"seconds must be 0..{MAX_SECONDS_ON_SLICE:g}")
    confidence = values.get("confidence")
    if confidence is not None:
        if not survey.design.has_rating:
            raise _one_line("this survey asks no confidence")
        if isinstance(confidence, bool) or not isinstance(confidence, int) or not 1 <= confidence <= 5:
            raise _one_line("confidence must be a whole number 1..5")
    reason = values.get("reason") or ""
    if not isinstance(reason, str):
        raise _one_line("reason must be text")
    reason = reason.strip()
    if len(reason) > MAX_PAIR_REASON_CHARS:
        raise _one_line(f"reason must be at most {MAX_PAIR_REASON_CHARS} characters")
    return {"side": side, "seconds": float(seconds), "confidence": confidence, "reason": reason}


def do_answer_pair(*, assignment: Assignment, pair_id: str, values) -> PairAnswer:
    """Store a reader's answer to one pair (by its opaque id), exactly once, in their frozen order."""
    try:
        with transaction.atomic():
            assignment = (
                Assignment.objects.select_for_update(of=("self",))
                .select_related("survey")
                .get(pk=assignment.pk)
            )
            survey = assignment.survey
            if not survey.design.is_two_afc:
                raise AnswerRejected("this survey is answered slice by slice, not in pairs", status=409)
            pair = ItemPair.objects.filter(survey=survey, public_id=pair_id).first()
            plan = {
                entry[0]: (position, entry[1]) for position, entry in enumerate(assignment.pair_plan or [])
            }
            if pair is None or pair.pk not in plan:
                raise AnswerRejected("this pair is not part of your survey", status=404)
            data = parse_pair_answer(survey, values)
            if not assignment.survey_is_answerable:
                raise AnswerRejected(gettext_noop("This survey is not open for answers."), status=409)
            if assignment.completed_at:
                raise AnswerRejected(gettext_noop("You have already finished this survey."), status=409)
            answered = set(assignment.pair_answers.values_list("pair_id", flat=True))
            if pair.pk in answered:
                raise AnswerRejected(gettext_noop("This pair was already answered."), status=409)
            position, real_side = plan[pair.pk]
            if any(entry[0] not in answered for entry in assignment.pair_plan[:position]):
                raise AnswerRejected(gettext_noop("Answer the earlier pairs first."), status=409)
            answer = PairAnswer.objects.create(
                assignment=assignment,
                pair=pair,
                real_side=real_side,
                correct=data["side"] == real_side,
                **data,
            )
            Assignment.objects.filter(pk=assignment.pk).update(last_activity_at=timezone.now())
            record_event(
                actor=assignment.reader,
                verb="pair.answered",
                target=answer,
                details={"pair": pair.public_id, "side": data["side"], "confidence": data["confidence"]},
            )
    except IntegrityError:
        raise AnswerRejected(gettext_noop("This pair was already answered."), status=409) from None
    return answer
