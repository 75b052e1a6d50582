"""Limiters on Django's cache (Redis in production), against password and invitation-token guessing. Only failures
are counted.

- Invitation links and API tokens: a fixed window; a key that reaches the limit is refused until its window ends.
- Sign-in: a growing delay, never a lock. After the free failures of a key, each further failure doubles the wait
  before the next attempt is looked at (from STUDIES_LOGIN_DELAY_FIRST_S up to STUDIES_LOGIN_DELAY_MAX_S), and an
  attempt made during the wait is refused without being counted. The keys: the client's address (any account),
  the account at that address, and the account from addresses it has never signed in from. A person signing in
  from an address they used before is delayed only by failures from that address, so nobody can keep a colleague
  out by failing on purpose from elsewhere.

While the cache is unreachable (Redis stopped), the limiter fails open: failures are not counted, nobody is
limited, and each attempt logs a warning, so readers and admins can still sign in (passwords are still checked).
Nothing on the answer path uses the cache.
"""

import hashlib
import logging
import time
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


# --- Sign-in: a growing delay -------------------------------------------------------------------------------------

KNOWN_ADDRESS_SECONDS = 180 * 24 * 3600  # how long an address an account signed in from stays known


@dataclass(frozen=True)
class LoginKey:
    scope: str  # login_address | login_account_address | login_account
    key: str
    free_failures: int
    window_seconds: int


def _account(username: str | None) -> str:
    return (username or "").strip().lower()


def _known_key(account: str, address: str) -> str:
    return _cache_key(Limit("login_known_address", 1, KNOWN_ADDRESS_SECONDS), f"{account}|{address}")


def login_keys(request, username: str | None) -> list[LoginKey]:
    """The keys an attempt to sign in as `username` from this client counts against."""
    address = client_address(request)
    by_address = limit_from_settings("login_address")
    by_account = limit_from_settings("login_username")
    keys = [LoginKey("login_address", address, by_address.max_failures, by_address.window_seconds)]
    account = _account(username)
    if account:
        keys.append(
            LoginKey(
                "login_account_address",
                f"{account}|{address}",
                by_account.max_failures,
                by_account.window_seconds,
            )
        )
        try:
            known = bool(cache.get(_known_key(account, address)))
        except CACHE_ERRORS as exc:
            _cache_unreachable(exc)
            known = False
        if not known:
            keys.append(
                LoginKey("login_account", account, by_account.max_failures, by_account.window_seconds)
            )
    return keys


def delay_after(failures: int, free_failures: int) -> float:
    """Seconds to wait after `failures` failures of a key that allows `free_failures` without a wait."""
    if failures < free_failures:
        return 0.0
    first, most = settings.STUDIES_LOGIN_DELAY_FIRST_S, settings.STUDIES_LOGIN_DELAY_MAX_S
    return float(min(most, first * 2 ** min(failures - free_failures, 32)))


def _state(key: LoginKey) -> tuple[int, float]:
    try:
        value = cache.get(_cache_key(Limit(key.scope, key.free_failures, key.window_seconds), key.key))
    except CACHE_ERRORS as exc:
        _cache_unreachable(exc)
        return 0, 0.0
    if not isinstance(value, dict):
        return 0, 0.0
    return int(value.get("failures", 0)), float(value.get("last", 0.0))


def login_wait_seconds(request, username: str | None) -> float:
    """How long this client must still wait before an attempt to sign in as `username` is looked at (0: now)."""
    now = time.time()
    waits = [0.0]
    for key in login_keys(request, username):
        failures, last = _state(key)
        waits.append(last + delay_after(failures, key.free_failures) - now)
    return max(waits)


def login_is_limited(request, username: str | None) -> bool:
    return login_wait_seconds(request, username) > 0


def register_login_failure(request, username: str | None) -> None:
    """Count a failed sign-in against every key of the attempt; the wait grows from now."""
    now = time.time()
    for key in login_keys(request, username):
        failures, _ = _state(key)
        cache_key = _cache_key(Limit(key.scope, key.free_failures, key.window_seconds), key.key)
        try:
            cache.set(cache_key, {"failures": failures + 1, "last": now}, timeout=key.window_seconds)
        except CACHE_ERRORS as exc:
            _cache_unreachable(exc)
            return


def forget_login_failures(request, username: str) -> None:
    """A successful sign-in: the account's failures are forgotten and this address becomes known to it."""
    account, address = _account(username), client_address(request)
    by_account = limit_from_settings("login_username")
    try:
        for scope, key in (("login_account_address", f"{account}|{address}"), ("login_account", account)):
            cache.delete(_cache_key(Limit(scope, by_account.max_failures, by_account.window_seconds), key))
        cache.set(_known_key(account, address), True, timeout=KNOWN_ADDRESS_SECONDS)
    except CACHE_ERRORS as exc:
        _cache_unreachable(exc)


def invitation_limit() -> Limit:
    return limit_from_settings("invitation_address")
