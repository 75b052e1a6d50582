"""What the reader's page fetches and posts: an item's pixels and an answer (JSON in, JSON out)."""

import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from storage import read_immutable
from studies.selectors import (
    assignment_for_reader,
    item_in_assignment,
    next_position,
    next_practice_position,
    next_round_position,
    practice_item_in_assignment,
    second_round,
)
from studies.services import (
    PRACTICE,
    REPEAT,
    TEST,
    AnswerRejected,
    do_submit_round_answer,
    parse_answer_input,
)
from studies.views.base import answer_json, json_error, own_assignment
from studies.views.rounds import open_round

logger = logging.getLogger(__name__)


@login_required
@require_GET
def item_pixels(request, key, item_id):
    """The item's pre-rendered pixels: raw little-endian int16, identical headers for every item.

    The bytes always pass through this process (from this node's cache of the object store, or the local folder),
    so none of the storage's own headers (ETag, Last-Modified, request ids) can reach the reader."""
    assignment = own_assignment(request, key)
    item = item_in_assignment(assignment, item_id) or practice_item_in_assignment(assignment, item_id)
    if item is None or not assignment.survey_is_answerable:
        raise Http404
    payload = read_immutable(item.payload, sha256=item.payload_sha256)
    if len(payload) != assignment.survey.payload_bytes:
        # Never serve a payload whose size differs from the others'.
        logger.error(
            "item %s payload has %d bytes, expected %d",
            item.pk,
            len(payload),
            assignment.survey.payload_bytes,
        )
        return HttpResponse(status=500)
    response = HttpResponse(payload, content_type="application/octet-stream")
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def submit_answer(request, key, item_id):
    """Store one answer (JSON in, JSON out); safe to repeat with the same client_key."""
    if not request.user.is_authenticated:
        return json_error(
            _("Your session has ended. Sign in again; your answer is kept on this device."), 403
        )
    assignment = assignment_for_reader(key=key, user=request.user)
    item = item_in_assignment(assignment, item_id) if assignment is not None else None
    practice_item = None
    if assignment is not None and item is None:
        practice_item = practice_item_in_assignment(assignment, item_id)
    if item is None and practice_item is None:
        return json_error("not found", 404)
    reading_round = second_round(assignment) if assignment.completed_at and item is not None else None
    if reading_round is not None and (reading_round.completed_at or item.pk not in reading_round.item_order):
        reading_round = None
    body, refused = answer_json(request)
    if refused is not None:
        return refused
    try:
        data = parse_answer_input(body, assignment.survey.design)
        if practice_item is not None:
            reading, owner, target = PRACTICE, assignment, practice_item
        elif reading_round is not None:
            reading, owner, target = REPEAT, reading_round, item
        else:
            reading, owner, target = TEST, assignment, item
        result = do_submit_round_answer(reading=reading, owner=owner, item=target, data=data)
    except AnswerRejected as exc:
        return json_error(_(str(exc)), exc.status, next_url=next_url(assignment))
    if practice_item is not None:
        # Feedback after a practice item, and only there: test answers never say anything about the truth.
        return JsonResponse(
            {
                "saved": True,
                "duplicate": result.duplicate,
                "next_url": next_url(assignment),
                "feedback": practice_item.truth,
            }
        )
    return JsonResponse({"saved": True, "duplicate": result.duplicate, "next_url": next_url(assignment)})


def next_url(assignment) -> str:
    """Where the reader goes after an answer: the next unanswered slice, the review page, or the end."""
    assignment.refresh_from_db(fields=["completed_at"])
    if assignment.completed_at:
        reading_round = open_round(assignment)
        if reading_round is not None:
            upcoming = next_round_position(reading_round)
            if upcoming is not None:
                return reverse("studies:repeat", args=[assignment.key, upcoming])
            return reverse("studies:repeat_review", args=[assignment.key])
        return reverse("studies:thanks", args=[assignment.key])
    practice = next_practice_position(assignment)
    if practice is not None:
        return reverse("studies:practice", args=[assignment.key, practice])
    if assignment.practice_total and not assignment.answers.exists():
        return reverse("studies:practice_over", args=[assignment.key])
    upcoming = next_position(assignment)
    if upcoming is None:
        return reverse("studies:review", args=[assignment.key])
    return reverse("studies:item", args=[assignment.key, upcoming])
