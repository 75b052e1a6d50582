"""Reader-facing pages. A reader reaches only their own assignment (anything else is a 404), and nothing a
reader receives names the truth, a dataset, the model or where a slice came from."""

import json
import logging
from functools import wraps

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imaging.constants import CT_WINDOW_PRESETS
from studies import ratelimit, roles
from studies.feedback import practice_strings
from studies.forms import ReaderProfileForm, ReaderSignupForm
from studies.models import Assignment, Invitation, ReaderProfile
from studies.selectors import (
    answered_item_ids,
    assignment_for_reader,
    current_answer,
    item_at,
    item_in_assignment,
    next_position,
    next_practice_position,
    next_round_position,
    practice_item_at,
    practice_item_in_assignment,
    reader_assignments,
    round_is_open,
    round_item_at,
    second_round,
)
from studies.services import (
    INVITATION_PROBLEMS,
    AnswerRejected,
    StudyError,
    do_accept_invitation,
    do_complete_assignment,
    do_complete_round,
    do_join_with_new_account,
    do_submit_answer,
    do_submit_practice_answer,
    do_submit_repeat_answer,
    do_update_reader_profile,
    parse_answer_input,
)

logger = logging.getLogger(__name__)

# Reader pages load only their own scripts, styles and data (pixels come from fetch, drawn on a canvas).
READER_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The default CT window presets' names, translated on the page (a survey's own presets are shown as named).
DEFAULT_PRESET_NAMES = {preset.name for preset in CT_WINDOW_PRESETS}


def window_presets(design) -> list[dict]:
    """The survey's window presets, keys 1..n on the reader's keyboard."""
    return [
        {"key": str(number), "name": preset.name, "width": preset.width, "level": preset.level}
        for number, preset in enumerate(design.window_presets, start=1)
    ]


def rating_config(design) -> dict:
    """What the page's script needs about the confidence rating; the same for every item of a survey."""
    low, high = design.rating_range or (None, None)
    return {"scale": design.rating, "min": low, "max": high, "asksChoice": design.asks_choice}


def reader_page(view):
    """Adds the reader pages' Content-Security-Policy and keeps every reader response out of caches."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", READER_CSP)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return wrapper


def _own_assignment(request, key):
    assignment = assignment_for_reader(key=key, user=request.user)
    if assignment is None:
        raise Http404
    return assignment


def _json_error(message: str, status: int, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


# ---------------------------------------------------------------------------------------------------------
# Landing, sign-in, joining


@require_GET
@reader_page
def home(request):
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if roles.is_study_admin(request.user):
        return redirect("admin:index")
    if roles.is_researcher(request.user):
        return redirect("reports:index")
    if roles.is_staff_member(request.user):
        return redirect("admin:index")
    assignments = list(reader_assignments(request.user))
    return render(request, "studies/home.html", {"assignments": assignments})


class ReaderLoginView(LoginView):
    template_name = "studies/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if ratelimit.login_is_limited(request, request.POST.get("username")):
            form = self.get_form()
            return render(
                request,
                self.template_name,
                {"form": form, "limited": True},
                status=429,
            )
        return super().post(request, *args, **kwargs)


reader_login = reader_page(ReaderLoginView.as_view())


def _invitation_error(request, message: str, status: int):
    return render(request, "studies/join_problem.html", {"message": message}, status=status)


@require_http_methods(["GET", "POST"])
@reader_page
def join(request, token):
    limit = ratelimit.invitation_limit()
    address = ratelimit.client_address(request)
    if ratelimit.is_limited(limit, address):
        return _invitation_error(request, _("Too many invalid invitation links. Try again later."), 429)
    invitation = Invitation.objects.select_related("survey").filter(token=token).first()
    if invitation is None:
        ratelimit.register_failure(limit, address)
        return _invitation_error(request, _("This invitation link is not valid."), 404)
    own = request.user.is_authenticated and invitation.used_by_id == request.user.pk
    if own and (assignment := Assignment.objects.filter(invitation=invitation).first()) is not None:
        # The reader's own link again: back to their survey.
        return redirect("studies:start", assignment.key)
    if invitation.state != "pending":
        ratelimit.register_failure(limit, address)
        return _invitation_error(request, _(INVITATION_PROBLEMS[invitation.state]), 410)
    if invitation.survey.is_closed:
        return _invitation_error(request, _("This survey is closed."), 410)
    user = request.user
    if user.is_authenticated:
        if roles.is_staff_member(user):
            return _invitation_error(
                request, _("You are signed in as study staff. Sign out to join as a reader."), 403
            )
        existing = user.assignments.filter(survey=invitation.survey).first()
        if existing is not None:
            return redirect("studies:start", existing.key)
        if request.method == "POST":
            try:
                assignment = do_accept_invitation(token=token, reader=user)
            except StudyError as exc:
                return _invitation_error(request, _(str(exc)), 409)
            return _after_join(assignment)
        return render(request, "studies/join.html", {"signed_in": True})
    form = ReaderSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assignment = do_join_with_new_account(
                token=token,
                username=form.cleaned_data["username"],
                email=form.cleaned_data.get("email", ""),
                password=form.cleaned_data["password1"],
            )
        except StudyError as exc:
            return _invitation_error(request, _(str(exc)), 409)
        login(request, assignment.reader, backend="studies.auth.RateLimitedModelBackend")
        return _after_join(assignment)
    status = 400 if request.method == "POST" else 200
    return render(request, "studies/join.html", {"form": form, "signed_in": False}, status=status)


def _after_join(assignment):
    start = reverse("studies:start", args=[assignment.key])
    return redirect(f"{reverse('studies:profile')}?next={start}")


@login_required
@require_http_methods(["GET", "POST"])
@reader_page
def profile(request):
    if roles.is_staff_member(request.user):
        raise PermissionDenied
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("studies:home")
    instance = ReaderProfile.objects.filter(user=request.user).first() or ReaderProfile(user=request.user)
    form = ReaderProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        do_update_reader_profile(
            user=request.user,
            specialty=form.cleaned_data.get("specialty") or "",
            years_of_experience=form.cleaned_data.get("years_of_experience"),
        )
        return redirect(next_url)
    status = 400 if request.method == "POST" else 200
    return render(request, "studies/profile.html", {"form": form, "next": next_url}, status=status)


# ---------------------------------------------------------------------------------------------------------
# The survey


def _status_page(request, assignment):
    """The page that replaces the survey when it is not answerable now, or None when it is."""
    survey = assignment.survey
    if assignment.completed_at:
        return redirect("studies:thanks", assignment.key)
    if assignment.survey_is_answerable:
        return None
    if survey.is_draft:
        return render(request, "studies/not_open.html", {"assignment": assignment})
    return render(request, "studies/closed.html", {"assignment": assignment})


@login_required
@require_GET
@reader_page
def start(request, key):
    assignment = _own_assignment(request, key)
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
    return render(
        request,
        "studies/start.html",
        {
            "assignment": assignment,
            "survey": assignment.survey,
            "answered": len(answered),
            "total": assignment.total,
            "practice_total": assignment.practice_total,
            "continue_url": continue_url,
        },
    )


def _practice_redirect(assignment):
    """While practice items are unanswered, every test page leads to the next one."""
    upcoming = next_practice_position(assignment)
    if upcoming is None:
        return None
    return redirect("studies:practice", assignment.key, upcoming)


def _reader_item_page(
    request, assignment, item, *, position, total, practice, previous_url, answer, reading_round=1
):
    """The slice page, the same template and configuration for test and practice items."""
    survey = assignment.survey
    policy = survey.display_policy
    design = survey.design
    presets = window_presets(design)
    config = {
        "itemId": item.public_id,
        "position": position,
        "total": total,
        "matrix": policy.matrix_size,
        "dtype": "int16le",
        "huRange": [policy.hu_min, policy.hu_max],
        "defaultWindow": {"width": policy.default_window_width, "level": policy.default_window_level},
        "presets": presets,
        "rating": rating_config(design),
        "stack": {"slices": design.stack_slices, "k": design.stack_k},
        "practice": practice,
        "round": reading_round,
        "pixelsUrl": reverse("studies:pixels", args=[assignment.key, item.public_id]),
        "answerUrl": reverse("studies:answer", args=[assignment.key, item.public_id]),
        "previousUrl": previous_url,
        "reviewUrl": reverse("studies:review", args=[assignment.key]),
        "allowGoingBack": survey.allow_going_back,
        "storageKey": f"blindread:{assignment.key}",
        "answer": (
            {
                "choice": answer.choice,
                "reason": answer.reason,
                "rating": answer.rating,
                "revision": answer.revision_count,
            }
            if answer is not None
            else None
        ),
    }
    strings = reader_strings()
    if practice:
        strings.update(practice_strings())
    return render(
        request,
        "studies/item.html",
        {
            "assignment": assignment,
            "survey": survey,
            "policy": policy,
            "config": config,
            "position": position,
            "total": total,
            "practice": practice,
            "reading_round": reading_round,
            "design": design,
            "presets": presets,
            "default_preset_names": DEFAULT_PRESET_NAMES,
            "rating_values": range(1, 6),
            "stack_centre": design.stack_k + 1,
            "strings": strings,
        },
    )


@login_required
@require_GET
@reader_page
def item_page(request, key, position):
    assignment = _own_assignment(request, key)
    blocked = _status_page(request, assignment) or _practice_redirect(assignment)
    if blocked is not None:
        return blocked
    survey = assignment.survey
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
    return _reader_item_page(
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
@require_GET
@reader_page
def practice_page(request, key, position):
    """A practice item: the same page as a test item, then feedback; practice items are read in order, once."""
    assignment = _own_assignment(request, key)
    blocked = _status_page(request, assignment)
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
    return _reader_item_page(
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
    assignment = _own_assignment(request, key)
    blocked = _status_page(request, assignment) or _practice_redirect(assignment)
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


def reader_strings() -> dict[str, str]:
    """Text the page's script shows, in the reader's language."""
    return {
        "loading": _("Loading the image…"),
        "loadFailed": _("The image could not be loaded. Trying again…"),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        "retrying": _("No connection. Your answer is kept on this device and will be sent again…"),
        "sessionEnded": _(
            "You are signed out. Sign in again and reopen this page; your answer is kept on this device."
        ),
        "notSaved": _("The answer was not saved."),
        "chooseFirst": _("Choose real, synthetic or indeterminable first."),
        "rateFirst": _("Rate how sure you are first."),
        "ratingNotSet": _("not set"),
        "dragWindow": _("Drag: window"),
        "dragPan": _("Drag: pan"),
        "saveAndFinish": _("Save and finish"),
        # %(number)s and %(total)s are filled in by the page's script as the reader scrolls.
        "slicePosition": _("Slice %(number)s of %(total)s"),
    }


@login_required
@require_GET
def item_pixels(request, key, item_id):
    """The item's pre-rendered pixels: raw little-endian int16, identical headers for every item."""
    assignment = _own_assignment(request, key)
    item = item_in_assignment(assignment, item_id) or practice_item_in_assignment(assignment, item_id)
    if item is None or not assignment.survey_is_answerable:
        raise Http404
    with default_storage.open(item.payload, "rb") as handle:
        payload = handle.read()
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
        return _json_error(
            _("Your session has ended. Sign in again; your answer is kept on this device."), 403
        )
    assignment = assignment_for_reader(key=key, user=request.user)
    item = item_in_assignment(assignment, item_id) if assignment is not None else None
    practice_item = None
    if assignment is not None and item is None:
        practice_item = practice_item_in_assignment(assignment, item_id)
    if item is None and practice_item is None:
        return _json_error("not found", 404)
    reading_round = second_round(assignment) if assignment.completed_at and item is not None else None
    if reading_round is not None and (reading_round.completed_at or item.pk not in reading_round.item_order):
        reading_round = None
    if request.content_type != "application/json":
        return _json_error("send the answer as application/json", 415)
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _json_error("the request body is not valid JSON", 400)
    try:
        data = parse_answer_input(body, assignment.survey.design)
        if practice_item is not None:
            practice = do_submit_practice_answer(
                assignment=assignment, practice_item=practice_item, data=data
            )
        elif reading_round is not None:
            result = do_submit_repeat_answer(reading_round=reading_round, item=item, data=data)
        else:
            result = do_submit_answer(assignment=assignment, item=item, data=data)
    except AnswerRejected as exc:
        return _json_error(_(str(exc)), exc.status, next_url=_next_url(assignment))
    if practice_item is not None:
        # Feedback after a practice item, and only there: test answers never say anything about the truth.
        return JsonResponse(
            {
                "saved": True,
                "duplicate": practice.duplicate,
                "next_url": _next_url(assignment),
                "feedback": practice.truth,
            }
        )
    return JsonResponse({"saved": True, "duplicate": result.duplicate, "next_url": _next_url(assignment)})


def _next_url(assignment) -> str:
    """Where the reader goes after an answer: the next unanswered slice, the review page, or the end."""
    assignment.refresh_from_db(fields=["completed_at"])
    if assignment.completed_at:
        reading_round = _open_round(assignment)
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


@login_required
@require_http_methods(["GET", "POST"])
@reader_page
def review(request, key):
    assignment = _own_assignment(request, key)
    blocked = _status_page(request, assignment)
    if blocked is not None:
        return blocked
    upcoming = next_position(assignment)
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
            "total": assignment.total,
            "last_url": reverse("studies:item", args=[assignment.key, assignment.total]),
        },
    )


@login_required
@require_GET
@reader_page
def thanks(request, key):
    assignment = _own_assignment(request, key)
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


def _open_round(assignment):
    """The reader's second reading when it can be read now, else None."""
    if not assignment.completed_at or not assignment.survey_is_answerable:
        return None
    reading_round = second_round(assignment)
    if reading_round is None or reading_round.completed_at or not round_is_open(reading_round):
        return None
    return reading_round


def _away_from_round(assignment):
    if assignment.completed_at:
        return redirect("studies:thanks", assignment.key)
    return redirect("studies:start", assignment.key)


@login_required
@require_GET
@reader_page
def repeat_page(request, key, position):
    """An item of the second reading: the same page as in the first, in the round's own order, each once."""
    assignment = _own_assignment(request, key)
    reading_round = _open_round(assignment)
    if reading_round is None:
        return _away_from_round(assignment)
    upcoming = next_round_position(reading_round)
    if upcoming is None:
        return redirect("studies:repeat_review", assignment.key)
    if position != upcoming:
        return redirect("studies:repeat", assignment.key, upcoming)
    item = round_item_at(reading_round, position)
    if item is None:
        raise Http404
    return _reader_item_page(
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
    assignment = _own_assignment(request, key)
    reading_round = _open_round(assignment)
    if reading_round is None:
        return _away_from_round(assignment)
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
