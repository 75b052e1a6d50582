"""What a request gets when the server fails: one page, or one line of JSON, that says so in the reader's language.

A database that cannot be reached (PostgreSQL restarting, a connection dropped) answers 503 with Retry-After, and
its page loads itself again; any other failure answers 500. Neither uses the database, the session or anything of
the request but its method and path, so an error looks the same whichever item a reader was shown.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from config.urls import API_PREFIX

RETRY_AFTER_S = 5
UNAVAILABLE = (OperationalError, InterfaceError)


def server_error(request) -> HttpResponse:
    """handler500: Django calls it while the exception is being handled, so sys.exc_info() names it."""
    unavailable = isinstance(sys.exc_info()[1], UNAVAILABLE)
    status = 503 if unavailable else 500
    if unavailable:
        message = _("The server cannot reach its database for a moment. Try again in a few seconds.")
    else:
        message = _(
            "Something went wrong on the server. Try again; if it happens again, tell the study's organisers."
        )
    if request.path.startswith(f"/{API_PREFIX}"):
        response = JsonResponse({"detail": message}, status=status)
    elif _wants_json(request):
        response = JsonResponse({"error": message}, status=status)
    else:
        context = {
            "unavailable": unavailable,
            "message": message,
            "reload_after": RETRY_AFTER_S if unavailable and request.method == "GET" else None,
        }
        response = HttpResponse(render_to_string("errors/server_error.html", context), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


def _wants_json(request) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get(
        "Accept", ""
    )
