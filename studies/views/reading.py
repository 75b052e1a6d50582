"""The first reading: the start page, the test items in the reader's frozen order, the review and the end."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from studies.selectors import (
    answered_item_ids,
    current_answer,
    item_at,
    next_position,
    next_practice_position,
    next_round_position,
    round_is_open,
    second_round,
)
from studies.services import StudyError, do_complete_assignment
from studies.views.base import own_assignment, reader_page, status_page
from studies.views.pairs import pair_flow_url, pair_position, pair_progress
from studies.views.practice import practice_redirect
from studies.views.slice_page import reader_item_page


@login_required
@require_GET
@reader_page
def start(request, key):
    assignment = own_assignment(request, key)
    if assignment.completed_at:
        return redirect("studies:thanks", assignment.key)
    answered = answered_item_ids(assignment)
    upcoming = next_position(assignment, answered)
    practice_upcoming = next_practice_position(assignment)
    if practice_upcoming is not None:
        continue_url = reverse("studies:practice", args=[assignment.key, practice_upcoming])
    elif upcoming is None:
        continue_url = reverse("studies:review", args=[assignment.key])
    else:
        continue_url = reverse("studies:item", args=[assignment.key, upcoming])
    if assignment.survey.design.is_two_afc:  # 2AFC: pairs, not single items (studies.views.pairs)
        answered, total, continue_url = pair_progress(assignment)
    else:
        answered, total = len(answered), assignment.total
    return render(
        request,
        "studies/start.html",
        {
            "assignment": assignment,
            "survey": assignment.survey,
            "answered": answered,
            "total": total,
            "practice_total": assignment.practice_total,
            "continue_url": continue_url,
        },
    )


@login_required
@require_GET
@reader_page
def item_page(request, key, position):
    assignment = own_assignment(request, key)
    blocked = status_page(request, assignment) or practice_redirect(assignment)
    if blocked is not None:
        return blocked
    survey = assignment.survey
    if survey.design.is_two_afc and not assignment.is_audit:
        return redirect(pair_flow_url(assignment))
    answered = answered_item_ids(assignment)
    upcoming = next_position(assignment, answered)
    reachable = (upcoming or assignment.total) if survey.allow_going_back else upcoming
    if reachable is None:
        return redirect("studies:review", assignment.key)
    if not (1 <= position <= reachable and (survey.allow_going_back or position == upcoming)):
        return redirect("studies:item", assignment.key, upcoming or reachable)
    item = item_at(assignment, position)
    if item is None:
        raise Http404
    answer = current_answer(assignment, item) if survey.allow_going_back else None
    previous_url = (
        reverse("studies:item", args=[assignment.key, position - 1])
        if survey.allow_going_back and position > 1
        else None
    )
    return reader_item_page(
        request,
        assignment,
        item,
        position=position,
        total=assignment.total,
        practice=False,
        previous_url=previous_url,
        answer=answer,
    )


@login_required
@require_http_methods(["GET", "POST"])
@reader_page
def review(request, key):
    assignment = own_assignment(request, key)
    blocked = status_page(request, assignment)
    if blocked is not None:
        return blocked
    two_afc = assignment.survey.design.is_two_afc
    if two_afc and pair_position(assignment) is not None:
        return redirect(pair_flow_url(assignment))
    upcoming = None if two_afc and not assignment.is_audit else next_position(assignment)
    if upcoming is not None:
        return redirect("studies:item", assignment.key, upcoming)
    if request.method == "POST":
        try:
            do_complete_assignment(assignment=assignment)
        except StudyError as exc:
            return render(
                request, "studies/review.html", {"assignment": assignment, "error": str(exc)}, status=409
            )
        return redirect("studies:thanks", assignment.key)
    return render(
        request,
        "studies/review.html",
        {
            "assignment": assignment,
            "total": len(assignment.pair_plan) if two_afc else assignment.total,
            "last_url": reverse(
                "studies:pair" if two_afc else "studies:item",
                args=[assignment.key, len(assignment.pair_plan) if two_afc else assignment.total],
            ),
        },
    )


@login_required
@require_GET
@reader_page
def thanks(request, key):
    assignment = own_assignment(request, key)
    if not assignment.completed_at:
        return redirect("studies:start", assignment.key)
    reading_round = second_round(assignment)
    context = {"assignment": assignment, "round": reading_round}
    if reading_round is not None and not reading_round.completed_at:
        context["round_open"] = round_is_open(reading_round) and assignment.survey_is_answerable
        upcoming = next_round_position(reading_round)
        context["round_url"] = (
            reverse("studies:repeat", args=[assignment.key, upcoming])
            if upcoming is not None
            else reverse("studies:repeat_review", args=[assignment.key])
        )
    return render(request, "studies/thanks.html", context)
