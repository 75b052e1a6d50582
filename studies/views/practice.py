"""Practice items: read first, in order, once each, on the same page as a test item; then the page that says
practice is over."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from studies.selectors import next_position, next_practice_position, practice_item_at
from studies.views.base import own_assignment, reader_page, status_page
from studies.views.slice_page import reader_item_page


def practice_redirect(assignment):
    """While practice items are unanswered, every test page leads to the next one."""
    upcoming = next_practice_position(assignment)
    if upcoming is None:
        return None
    return redirect("studies:practice", assignment.key, upcoming)


@login_required
@require_GET
@reader_page
def practice_page(request, key, position):
    """A practice item: the same page as a test item, then feedback; practice items are read in order, once."""
    assignment = own_assignment(request, key)
    blocked = status_page(request, assignment)
    if blocked is not None:
        return blocked
    upcoming = next_practice_position(assignment)
    if upcoming is None:
        return redirect("studies:practice_over", assignment.key)
    if position != upcoming:
        return redirect("studies:practice", assignment.key, upcoming)
    item = practice_item_at(assignment, position)
    if item is None:
        raise Http404
    return reader_item_page(
        request,
        assignment,
        item,
        position=position,
        total=assignment.practice_total,
        practice=True,
        previous_url=None,
        answer=None,
    )


@login_required
@require_GET
@reader_page
def practice_over(request, key):
    """Readers are told that practice is over before the first test item."""
    assignment = own_assignment(request, key)
    blocked = status_page(request, assignment) or practice_redirect(assignment)
    if blocked is not None:
        return blocked
    if not assignment.practice_total:
        return redirect("studies:start", assignment.key)
    upcoming = next_position(assignment)
    return render(
        request,
        "studies/practice_over.html",
        {
            "assignment": assignment,
            "survey": assignment.survey,
            "continue_url": (
                reverse("studies:item", args=[assignment.key, upcoming])
                if upcoming is not None
                else reverse("studies:review", args=[assignment.key])
            ),
        },
    )
