"""The frame of every reader page: its Content-Security-Policy, no caching, the reader's own assignment only (anything
else is a 404), and the page that replaces a survey that cannot be answered now."""

import json
from functools import wraps

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render

from studies.selectors import assignment_for_reader

# Reader pages load only their own scripts, styles and data (pixels come from fetch, drawn on a canvas).
READER_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def reader_page(view):
    """Adds the reader pages' Content-Security-Policy and keeps every reader response out of caches."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", READER_CSP)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return wrapper


def own_assignment(request, key):
    assignment = assignment_for_reader(key=key, user=request.user)
    if assignment is None:
        raise Http404
    return assignment


def json_error(message: str, status: int, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def answer_json(request) -> tuple[object, JsonResponse | None]:
    """An answer's JSON body, or the one-line error reply (415 not JSON, 400 not valid JSON) instead."""
    if request.content_type != "application/json":
        return None, json_error("send the answer as application/json", 415)
    try:
        return json.loads(request.body.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, json_error("the request body is not valid JSON", 400)


def status_page(request, assignment):
    """The page that replaces the survey when it is not answerable now, or None when it is."""
    survey = assignment.survey
    if assignment.completed_at:
        return redirect("studies:thanks", assignment.key)
    if assignment.survey_is_answerable:
        return None
    if survey.is_draft:
        return render(request, "studies/not_open.html", {"assignment": assignment})
    return render(request, "studies/closed.html", {"assignment": assignment})
