"""What the sign-in pages need to know about the hospital sign-in options."""

from django.conf import settings

from accounts.sign_in_state import FAILED_PARAM, FAILED_VALUE, directory_unreachable, oidc_enabled


def sign_in(request):
    session = getattr(request, "session", None)
    return {
        "sign_in": {
            "oidc_enabled": oidc_enabled(),
            "oidc_label": settings.OIDC_BUTTON_LABEL,
            # Signed in through the identity provider: signing out ends the provider's session too.
            "oidc_session": oidc_enabled() and session is not None and bool(session.get("oidc_id_token")),
            "sso_failed": request.GET.get(FAILED_PARAM) == FAILED_VALUE,
            "directory_unreachable": directory_unreachable(request),
        }
    }
