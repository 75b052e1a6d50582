"""What the sign-in pages need to know about the hospital sign-in options, without loading their clients: the
OpenID Connect client (mozilla-django-oidc, requests) and the directory client (python-ldap) are loaded only by the
backends and views that talk to them, when they are configured."""

from django.conf import settings

# The sign-in page says that the hospital sign-in failed when it is opened with ?sso=failed.
FAILED_PARAM, FAILED_VALUE = "sso", "failed"
# Set on the request when the directory did not answer during this sign-in.
UNREACHABLE_ATTRIBUTE = "accounts_directory_unreachable"


def oidc_enabled() -> bool:
    return bool(getattr(settings, "OIDC_ENABLED", False))


def mark_directory_unreachable(request) -> None:
    setattr(request, UNREACHABLE_ATTRIBUTE, True)


def directory_unreachable(request) -> bool:
    return bool(getattr(request, UNREACHABLE_ATTRIBUTE, False))
