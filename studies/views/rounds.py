"""Repeat reading: the second reading's items, in the round's own order, each once, and its review."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from studies.selectors import next_round_position, round_is_open, round_item_at, second_round
from studies.services import StudyError, do_complete_round
from studies.views.base import own_assignment, reader_page
from studies.views.slice_page import reader_item_page


def open_round(assignment):
    """The reader's second reading when it can be read now, else None."""
    if not assignment.completed_at or not assignment.survey_is_answerable:
        return None
    reading_round = second_round(assignment)
    if reading_round is None or reading_round.completed_at or not round_is_open(reading_round):
        return None
    return reading_round


def away_from_round(assignment):
    if assignment.completed_at:
        return redirect("studies:thanks", assignment.key)
    return redirect("studies:start", assignment.key)


@login_required
@require_GET
@reader_page
def repeat_page(request, key, position):
    """An item of the second reading: the same page as in the first, in the round's own order, each once."""
    assignment = own_assignment(request, key)
    reading_round = open_round(assignment)
    if reading_round is None:
        return away_from_round(assignment)
    upcoming = next_round_position(reading_round)
    if upcoming is None:
        return redirect("studies:repeat_review", assignment.key)
    if position != upcoming:
        return redirect("studies:repeat", assignment.key, upcoming)
    item = round_item_at(reading_round, position)
    if item is None:
        raise Http404
    return reader_item_page(
        request,
        assignment,
        item,
        position=position,
        total=reading_round.total,
        practice=False,
        previous_url=None,
        answer=None,
        reading_round=reading_round.number,
    )


@login_required
@require_http_methods(["GET", "POST"])
@reader_page
def repeat_review(request, key):
    assignment = own_assignment(request, key)
    reading_round = open_round(assignment)
    if reading_round is None:
        return away_from_round(assignment)
    upcoming = next_round_position(reading_round)
    if upcoming is not None:
        return redirect("studies:repeat", assignment.key, upcoming)
    context = {"assignment": assignment, "total": reading_round.total, "repeat": True}
    if request.method == "POST":
        try:
            do_complete_round(reading_round=reading_round)
        except StudyError as exc:
            return render(request, "studies/review.html", {**context, "error": str(exc)}, status=409)
        return redirect("studies:thanks", assignment.key)
    return render(request, "studies/review.html", context)
