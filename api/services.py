"""API tokens: one per user, created and revoked here (by the admin and `manage.py api_token`), each with its
audit row in the same transaction."""

from django.db import transaction
from rest_framework.authtoken.models import Token

from audit.services import record_event


def issue_token(*, user, actor=None) -> tuple[Token, bool]:
    """The user's token, created if they have none; returns it and whether it is new."""
    with transaction.atomic():
        token, created = Token.objects.get_or_create(user=user)
        if created:
            record_event(actor=actor, verb="api_token.created", target=user, details={})
    return token, created


def revoke_token(*, user, actor=None) -> bool:
    """Delete the user's token (every client using it is signed out); False when there was none."""
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user=user).delete()
        if deleted:
            record_event(actor=actor, verb="api_token.revoked", target=user, details={})
    return bool(deleted)
