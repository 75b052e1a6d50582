"""Request rates for every endpoint: per account (signed in by token or session) and per client address
(anonymous requests), from REST_FRAMEWORK's DEFAULT_THROTTLE_RATES (API_THROTTLE_USER, API_THROTTLE_ANON).
Past the rate: 429 with Retry-After. Addresses are the ones the sign-in limits use (studies.ratelimit, which knows
the trusted proxy's header). While the cache (Redis) is unreachable, throttling is off, as the sign-in limits are.

Django REST Framework checks throttles after permissions, so an anonymous request to an endpoint that needs an
account would be refused (401) without being counted. The last authentication class, `AnonymousRateLimit`, which
runs only when no credentials were given, counts it first.
"""

import logging

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from studies import ratelimit

logger = logging.getLogger(__name__)
# Set on a request whose address has been counted already.
_COUNTED = "_blindread_anonymous_counted"


class _FailOpen:
    def get_rate(self):
        # Read when used, not when Django REST Framework's module was imported.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except ratelimit.CACHE_ERRORS as exc:
            logger.warning("API throttling off: cache unreachable (%s: %s)", type(exc).__name__, exc)
            return True

    def get_ident(self, request):
        return ratelimit.client_address(request)


class PerUserThrottle(_FailOpen, UserRateThrottle):
    pass


class PerAddressThrottle(_FailOpen, AnonRateThrottle):
    def allow_request(self, request, view):
        if getattr(request, _COUNTED, False):
            return True
        return super().allow_request(request, view)


class _CredentiallessThrottle(_FailOpen, AnonRateThrottle):
    """The per-address rate of a request known to carry no credentials (asking its user would authenticate it
    again, from inside its own authentication)."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnonymousRateLimit(BaseAuthentication):
    """Counts a request without credentials against its address's rate before any permission check."""

    def authenticate(self, request):
        throttle = _CredentiallessThrottle()
        if not throttle.allow_request(request, None):
            raise Throttled(wait=throttle.wait())
        setattr(request, _COUNTED, True)
        return None
