"""How the OpenAPI schema (drf-spectacular) describes the API's authentication classes: the token header, the
browser's session cookie, and nothing for the anonymous rate limit (it authenticates nobody)."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.RateLimitedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SecondFactorSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class AnonymousRateLimitScheme(OpenApiAuthenticationExtension):
    target_class = "api.throttling.AnonymousRateLimit"
    name = []  # no security scheme of its own

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []
