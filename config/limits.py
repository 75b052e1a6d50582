"""The size limit of every request body (uploads included): a larger request is answered 413 with one line before
Django reads any of it. The web server in front has the same limit (docs/operations.md, Limits)."""

from django.conf import settings
from django.http import HttpResponse


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:.0f} MB"


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.UPLOAD_MAX_BYTES
        if length > limit:
            return HttpResponse(
                f"request too large: {_megabytes(length)}, the limit is {_megabytes(limit)} (UPLOAD_MAX_BYTES)\n",
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
