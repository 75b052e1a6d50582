"""Sends a staff account that has not given its second factor in this session to the verification page (or to
enrolment, when it has no authenticator yet). Runs after django_otp's OTPMiddleware."""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from accounts import second_factor


def _open_paths() -> tuple[str, ...]:
    """Pages an account without its second factor may still reach: the second-factor pages, signing out, the
    language switch, static files; and the API, which refuses such a session itself (api.authentication)."""
    return (
        reverse("accounts:verify"),
        reverse("accounts:enrol"),
        reverse("studies:logout"),
        reverse("studies:set_language"),
        reverse("admin:logout"),
        reverse("accounts:oidc_logout"),
        "/" + settings.STATIC_URL.lstrip("/"),
        "/favicon.ico",
        "/api/",
    )


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if second_factor.is_missing(request) and not request.path.startswith(_open_paths()):
            target = reverse("accounts:verify")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
