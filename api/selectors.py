"""Reads of API tokens (for the authentication class, the command and the admin)."""

from api.models import ApiToken, fingerprint


def token_for_key(key: str) -> ApiToken | None:
    """The token a client sent, whatever its state (the caller checks expiry and its user)."""
    return ApiToken.objects.select_related("user").filter(key_hash=fingerprint(key)).first()


def tokens_of(user):
    """A user's tokens, newest first (selector for the command and the admin)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at")
