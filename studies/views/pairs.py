"""The 2AFC reader pages: one page per pair of the reader's frozen plan, both slices side by side, and the answer
the page's script posts. Nothing on a pair page depends on which side is real: the two images are given in the
plan's left-right order (balanced and random per reader), both through the same opaque item pixel URLs, and the
page's markup is the same for every pair but its ids and position."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from studies.models import ItemPair
from studies.selectors import assignment_for_reader
from studies.services import AnswerRejected, do_answer_pair
from studies.views.base import answer_json, json_error, own_assignment, reader_page, status_page
from studies.views.slice_page import window_presets


def pair_position(assignment) -> int | None:
    """1-based position of the reader's first unanswered pair; None when every pair is answered."""
    answered = set(assignment.pair_answers.values_list("pair_id", flat=True))
    for position, (pair_id, _side) in enumerate(assignment.pair_plan or [], start=1):
        if pair_id not in answered:
            return position
    return None


def pair_flow_url(assignment) -> str:
    """Where a 2AFC reader goes next: their first unanswered pair, else the review."""
    position = pair_position(assignment)
    if position is None:
        return reverse("studies:review", args=[assignment.key])
    return reverse("studies:pair", args=[assignment.key, position])


def pair_progress(assignment) -> tuple[int, int, str]:
    """A 2AFC reader's answered pairs, all their pairs and where they go next (the start page's)."""
    return assignment.pair_answers.count(), len(assignment.pair_plan or []), pair_flow_url(assignment)


def pair_images(assignment, pair: ItemPair, real_side: str) -> list[dict]:
    """The two images of a pair, left then right (the order the page shows and loads them in)."""
    real, synthetic = pair.real_item, pair.synthetic_item
    left, right = (real, synthetic) if real_side == "left" else (synthetic, real)
    return [
        {
            "side": side,
            "itemId": item.public_id,
            "pixelsUrl": reverse("studies:pixels", args=[assignment.key, item.public_id]),
        }
        for side, item in (("left", left), ("right", right))
    ]


@login_required
@require_GET
@reader_page
def pair_page(request, key, position):
    assignment = own_assignment(request, key)
    survey = assignment.survey
    if (
        not survey.design.is_two_afc
    ):  # a survey of single slices: its item page, as a 2AFC item page sends here
        return redirect("studies:item", assignment.key, position)
    blocked = status_page(request, assignment)
    if blocked is not None:
        return blocked
    upcoming = pair_position(assignment)
    if upcoming is None:
        return redirect("studies:review", assignment.key)
    if position != upcoming:
        return redirect("studies:pair", assignment.key, upcoming)
    pair_id, real_side = assignment.pair_plan[position - 1]
    pair = ItemPair.objects.select_related("real_item", "synthetic_item").get(pk=pair_id, survey=survey)
    policy, design = survey.display_policy, survey.design
    total = len(assignment.pair_plan)
    config = {
        "pairId": pair.public_id,
        "position": position,
        "total": total,
        "matrix": policy.matrix_size,
        "dtype": "int16le",
        "huRange": [policy.hu_min, policy.hu_max],
        "defaultWindow": {"width": policy.default_window_width, "level": policy.default_window_level},
        "presets": window_presets(design),
        "confidence": design.has_rating,
        "images": pair_images(assignment, pair, real_side),
        "answerUrl": reverse("studies:pair_answer", args=[assignment.key, pair.public_id]),
        "reviewUrl": reverse("studies:review", args=[assignment.key]),
    }
    strings = {
        "loading": _("Loading the images…"),
        "loadFailed": _("The images could not be loaded. Trying again…"),
        "saving": _("Saving…"),
        "notSaved": _("The answer was not saved."),
        "chooseFirst": _("Choose the left or the right image first."),
    }
    return render(
        request,
        "studies/pair.html",
        {
            "assignment": assignment,
            "survey": survey,
            "policy": policy,
            "design": design,
            "config": config,
            "strings": strings,
            "position": position,
            "total": total,
            "presets": config["presets"],
            "confidence_values": range(1, 6),
        },
    )


@require_POST
def submit_pair_answer(request, key, pair_id):
    """Store one pair answer (JSON in, JSON out)."""
    if not request.user.is_authenticated:
        return json_error(_("Your session has ended. Sign in again."), 403)
    assignment = assignment_for_reader(key=key, user=request.user)
    if assignment is None:
        return json_error("not found", 404)
    body, refused = answer_json(request)
    if refused is not None:
        return refused
    try:
        do_answer_pair(assignment=assignment, pair_id=pair_id, values=body)
    except AnswerRejected as exc:
        return json_error(_(str(exc)), exc.status, next_url=pair_flow_url(assignment))
    return JsonResponse({"saved": True, "next_url": pair_flow_url(assignment)})
