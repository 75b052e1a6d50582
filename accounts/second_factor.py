"""Who must give a second factor, and whether this session has given it.

With ACCOUNTS_SECOND_FACTOR_REQUIRED on (production), every account that may see the truth of items (study
admins, researchers, staff and superusers: studies.roles.is_staff_member) confirms each sign-in with a code from an
authenticator app (TOTP, django-otp) or a recovery code. Readers sign in with one factor."""

from django.conf import settings

from studies import roles


def needs_second_factor(user) -> bool:
    return (
        bool(settings.ACCOUNTS_SECOND_FACTOR_REQUIRED)
        and user.is_authenticated
        and roles.is_staff_member(user)
    )


def is_missing(request) -> bool:
    """True while the signed-in account needs a second factor and this session has not given it."""
    user = getattr(request, "user", None)
    if user is None or not needs_second_factor(user):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())
