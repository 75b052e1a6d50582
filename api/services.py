"""API tokens: made, used and revoked here (by the admin and `manage.py api_token`), each write with its audit row
in the same transaction. A token is shown once, when it is made; only its SHA-256 fingerprint is stored."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.models import ApiToken, fingerprint
from audit.services import record_event

# A token's last use is written at most this often (a script's every request would otherwise write a row).
LAST_USE_RESOLUTION = timedelta(seconds=60)


class TokenRefused(Exception):
    """A token cannot be made as asked (its one line says why)."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the token itself: shown to its owner once, never stored


def issue_token(
    *, user, actor=None, name: str = "", scope: str = ApiToken.Scope.READ_WRITE, days: int | None = None
):
    """A new token for `user`, valid for `days` (API_TOKEN_DAYS by default, at most API_TOKEN_MAX_DAYS)."""
    if not user.is_active:
        raise TokenRefused(f"user {user.get_username()!r} is inactive; a token would not work")
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise TokenRefused(f"a token is valid for 1 to {settings.API_TOKEN_MAX_DAYS} days, not {days}")
    if scope not in ApiToken.Scope.values:
        raise TokenRefused(f"scope must be one of {', '.join(ApiToken.Scope.values)}, not {scope!r}")
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            prefix=key[:8],
            key_hash=fingerprint(key),
            scope=scope,
            expires_at=timezone.now() + timedelta(days=days),
        )
        record_event(
            actor=actor,
            verb="api_token.created",
            target=user,
            details={"prefix": token.prefix, "scope": scope, "expires_at": token.expires_at.isoformat()},
        )
    return IssuedToken(token=token, key=key)


def revoke_tokens(*, user, actor=None, prefix: str | None = None) -> int:
    """Delete the user's tokens (only the one starting with `prefix` when given); every client using one is
    refused from the next request on. Returns how many were revoked."""
    with transaction.atomic():
        tokens = ApiToken.objects.filter(user=user)
        if prefix:
            tokens = tokens.filter(prefix=prefix)
        prefixes = list(tokens.values_list("prefix", flat=True))
        tokens.delete()
        for revoked in prefixes:
            record_event(actor=actor, verb="api_token.revoked", target=user, details={"prefix": revoked})
    return len(prefixes)


def record_token_use(token: ApiToken) -> None:
    """Note the token's last use (at most once a minute; not an audited change)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USE_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
