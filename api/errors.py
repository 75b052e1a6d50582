"""Every API error is JSON `{"code": "...", "detail": "one line"}` with a stable machine-readable code.

400 bad input (nothing stored), 401 no or bad credentials, 403 a role that may not do this, 404 anything outside the
caller's reach (existence is not revealed), 409 a state conflict, 429 too many failed attempts."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

# The codes a client may rely on.
INVALID = "invalid"  # the request's fields fail validation
REFUSED = "refused"  # a service refused the request as given (its one line says why)
MALFORMED = "malformed"  # the body could not be parsed
NOT_AUTHENTICATED = "not_authenticated"
AUTHENTICATION_FAILED = "authentication_failed"
PERMISSION_DENIED = "permission_denied"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
NOT_ACCEPTABLE = "not_acceptable"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
CONFLICT = "conflict"  # the object's state does not allow this now
REPORT_NOT_COMPUTED = "report_not_computed"
RATE_LIMITED = "rate_limited"

CODES = (
    INVALID,
    REFUSED,
    MALFORMED,
    NOT_AUTHENTICATED,
    AUTHENTICATION_FAILED,
    PERMISSION_DENIED,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    UNSUPPORTED_MEDIA_TYPE,
    CONFLICT,
    REPORT_NOT_COMPUTED,
    RATE_LIMITED,
)

_DRF_CODES = {
    "parse_error": MALFORMED,
    "throttled": RATE_LIMITED,
    "not_authenticated": NOT_AUTHENTICATED,
    "authentication_failed": AUTHENTICATION_FAILED,
    "permission_denied": PERMISSION_DENIED,
    "not_found": NOT_FOUND,
    "method_not_allowed": METHOD_NOT_ALLOWED,
    "not_acceptable": NOT_ACCEPTABLE,
    "unsupported_media_type": UNSUPPORTED_MEDIA_TYPE,
}


class Refused(exceptions.APIException):
    """A service refused the request (bad input it found); nothing was stored."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = REFUSED
    default_detail = "the request was refused"


class Conflict(exceptions.APIException):
    """The object is in a state that does not allow this (e.g. opening a survey without a passing audit)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = CONFLICT
    default_detail = "the object's state does not allow this"


class ReportNotComputed(Conflict):
    default_code = REPORT_NOT_COMPUTED


def one_line(text) -> str:
    return " ".join(str(text).split())[:500]


def _first_message(detail, path: str = "") -> str:
    """The first message of a (nested) validation detail, prefixed by the field it is about."""
    if isinstance(detail, dict):
        for name, value in detail.items():
            field = "" if name == "non_field_errors" else (f"{path}.{name}" if path else str(name))
            return _first_message(value, field)
        return "invalid input"
    if isinstance(detail, list):
        return _first_message(detail[0], path) if detail else "invalid input"
    return f"{path}: {detail}" if path else str(detail)


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code, detail = INVALID, _first_message(exc.detail)
    else:
        default = getattr(exc, "default_code", "error")
        code = _DRF_CODES.get(default, default)
        detail = exc.detail if isinstance(exc.detail, str) else _first_message(exc.detail)
    response.data = {"code": code, "detail": one_line(detail)}
    return response
