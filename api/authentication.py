"""Token authentication (`Authorization: Token <key>`) with failed attempts counted per client address in the
same limiter as sign-in and invitation links (studies.ratelimit): past the limit, 429 until the window ends."""

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from studies import ratelimit

SCOPE = "api_token_address"


class RateLimitedTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None
        limit = ratelimit.limit_from_settings(SCOPE)
        address = ratelimit.client_address(request)
        if ratelimit.is_limited(limit, address):
            raise Throttled(detail="too many failed token attempts from this address; try again later")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            ratelimit.register_failure(limit, address)
            raise
