"""How API clients prove who they are.

- Tokens (`Authorization: Token <key>`): looked up by their SHA-256 fingerprint (api.models); an expired token, a
  token of an inactive account or an unknown one is refused (401), and a read-only token is refused on anything but
  GET, HEAD and OPTIONS (403). Failed attempts are counted per client address in the same limiter as sign-in and
  invitation links (studies.ratelimit): past the limit, 429 with Retry-After until the window ends.
- The browser's session, when the account has given its second factor where one is required
  (accounts.second_factor); otherwise 401.
"""

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, Throttled
from rest_framework.permissions import SAFE_METHODS

from accounts import second_factor
from api.selectors import token_for_key
from api.services import record_token_use
from studies import ratelimit

SCOPE = "api_token_address"
KEYWORD = "Token"


class RateLimitedTokenAuthentication(BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None
        limit = ratelimit.limit_from_settings(SCOPE)
        address = ratelimit.client_address(request)
        if ratelimit.is_limited(limit, address):
            raise Throttled(
                wait=limit.window_seconds,
                detail="too many failed token attempts from this address; try again later",
            )
        try:
            return self._check(request, words)
        except AuthenticationFailed:
            ratelimit.register_failure(limit, address)
            raise

    def _check(self, request, words):
        if len(words) != 2:
            raise AuthenticationFailed(
                "invalid token header: give 'Token' and the token, separated by one space"
            )
        try:
            key = words[1].decode("ascii")
        except UnicodeError:
            raise AuthenticationFailed("invalid token") from None
        token = token_for_key(key)
        if token is None or not token.user.is_active:
            raise AuthenticationFailed("invalid token")
        if token.expires_at <= timezone.now():
            raise AuthenticationFailed("this token has expired; ask for a new one")
        if token.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied("this token is read-only; changes need a read-write token")
        record_token_use(token)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class SecondFactorSessionAuthentication(SessionAuthentication):
    """The browser's session (with its CSRF check), once the account has given its second factor where needed."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and second_factor.is_missing(request._request):
            raise AuthenticationFailed("confirm this sign-in with your second factor in the browser first")
        return result
