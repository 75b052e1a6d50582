"""A small fixed-window limiter on Django's cache (Redis in production), against password and invitation-token
guessing. Only failures are counted; a key that reaches the limit is refused until its window ends.

While the cache is unreachable (Redis stopped), the limiter fails open: failures are not counted, nobody is
limited, and each attempt logs a warning, so readers and admins can still sign in (passwords are still checked).
Nothing on the answer path uses the cache.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
CACHE_ERRORS = (RedisError, OSError)


def _cache_unreachable(exc: BaseException) -> None:
    logger.warning("rate limiting off: cache unreachable (%s: %s)", type(exc).__name__, exc)


@dataclass(frozen=True)
class Limit:
    scope: str
    max_failures: int
    window_seconds: int


def limit_from_settings(scope: str) -> Limit:
    failures, window = settings.STUDIES_RATE_LIMITS[scope]
    return Limit(scope=scope, max_failures=int(failures), window_seconds=int(window))


def _cache_key(limit: Limit, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ratelimit:{limit.scope}:{digest}"


def failures(limit: Limit, key: str) -> int:
    try:
        return int(cache.get(_cache_key(limit, key), 0))
    except CACHE_ERRORS as exc:
        _cache_unreachable(exc)
        return 0


def is_limited(limit: Limit, key: str) -> bool:
    return failures(limit, key) >= limit.max_failures


def register_failure(limit: Limit, key: str) -> int:
    """Count one failure; the window starts at the first failure."""
    cache_key = _cache_key(limit, key)
    try:
        cache.add(cache_key, 0, timeout=limit.window_seconds)
        try:
            return cache.incr(cache_key)
        except ValueError:
            # The key expired between add and incr: this failure starts a new window.
            cache.set(cache_key, 1, timeout=limit.window_seconds)
            return 1
    except CACHE_ERRORS as exc:
        _cache_unreachable(exc)
        return 0


def reset(limit: Limit, key: str) -> None:
    try:
        cache.delete(_cache_key(limit, key))
    except CACHE_ERRORS as exc:
        _cache_unreachable(exc)


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or the header a trusted proxy sets (STUDIES_CLIENT_IP_HEADER)."""
    header = settings.STUDIES_CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        if forwarded:
            # The proxy appends the address it saw; everything before that may be forged by the client.
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def login_keys(request, username: str | None) -> list[tuple[Limit, str]]:
    keys = [(limit_from_settings("login_address"), client_address(request))]
    if username:
        keys.append((limit_from_settings("login_username"), username.strip().lower()))
    return keys


def login_is_limited(request, username: str | None) -> bool:
    return any(is_limited(limit, key) for limit, key in login_keys(request, username))


def invitation_limit() -> Limit:
    return limit_from_settings("invitation_address")
