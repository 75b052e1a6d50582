"""Sign-in with the hospital's OpenID Connect identity provider through mozilla-django-oidc (authorization code
flow, RS256-signed ID tokens checked against the provider's JWKS). Configured by settings (OIDC_*, see
accounts.sso_settings and docs/operations.md); off without OIDC_RP_CLIENT_ID.

- An account is found by its link to the provider's `sub` claim (accounts.ExternalIdentity); a new one is created
  on the first sign-in under the username claim, unless a local account already has that name.
- Its roles are those its groups claim grants (accounts.role_mapping), brought up to date at every sign-in.
- An ID token whose signature, audience, issuer, expiry or nonce does not check out is refused, and so is a
  userinfo answer about someone else; the sign-in page then says that the hospital sign-in failed.
- Signing out ends the provider's session too (RP-initiated logout) when OIDC_OP_LOGOUT_ENDPOINT is set.
"""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)
from requests import RequestException

from accounts import services
from accounts.models import ExternalIdentity
from accounts.role_mapping import grants_for
from accounts.sign_in_state import FAILED_PARAM, FAILED_VALUE

logger = logging.getLogger(__name__)


def _claimed_groups(claims) -> list[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    return [value] if isinstance(value, str) else [str(group) for group in value]


class HospitalOIDCBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, RequestException) as exc:
            logger.warning("OpenID Connect sign-in refused: %s", exc)
            return None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("the ID token is for another client")
        issuer = getattr(settings, "OIDC_OP_ISSUER", "")
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation("the ID token comes from another issuer")
        if not payload.get("sub"):
            raise SuspiciousOperation("the ID token names no subject")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        claims = super().get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("the userinfo answer is about another subject than the ID token")
        return claims

    def verify_claims(self, claims):
        return bool(claims.get("sub")) and bool(claims.get(settings.OIDC_USERNAME_CLAIM))

    def filter_users_by_claims(self, claims):
        return get_user_model().objects.filter(
            external_identities__provider=ExternalIdentity.Provider.OIDC,
            external_identities__subject=claims["sub"],
        )

    def create_user(self, claims):
        username = str(claims[settings.OIDC_USERNAME_CLAIM]).strip()
        model = get_user_model()
        if model.objects.filter(username__iexact=username).exists():
            raise SuspiciousOperation(
                f"an account named {username!r} exists and is not linked to this identity"
            )
        user = model.objects.create_user(username, email=claims.get("email", ""))
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        user.first_name = str(claims.get("given_name", user.first_name))[:150]
        user.last_name = str(claims.get("family_name", user.last_name))[:150]
        user.email = str(claims.get("email", user.email))[:254]
        user.save(update_fields=["first_name", "last_name", "email"])
        try:
            return services.sign_in_from_outside(
                user=user,
                provider=ExternalIdentity.Provider.OIDC,
                subject=str(claims["sub"]),
                grants=grants_for(_claimed_groups(claims)),
            )
        except services.SignInRefused as exc:
            raise SuspiciousOperation(str(exc)) from exc


def provider_logout_url(request) -> str:
    """Where signing out sends the browser: the provider's end-session endpoint (which returns to the sign-in
    page), or the sign-in page when the provider has none."""
    back = request.build_absolute_uri(reverse(settings.LOGIN_URL))
    endpoint = getattr(settings, "OIDC_OP_LOGOUT_ENDPOINT", "")
    if not endpoint:
        return back
    query = {"post_logout_redirect_uri": back}
    id_token = request.session.get("oidc_id_token")
    if id_token:
        query["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(query)}"


class CallbackView(OIDCAuthenticationCallbackView):
    @property
    def failure_url(self):
        return f"{reverse(settings.LOGIN_URL)}?{urlencode({FAILED_PARAM: FAILED_VALUE})}"


# Served through accounts.views, which answers 404 without loading this module when OIDC is not configured.
sign_in = OIDCAuthenticationRequestView.as_view()
callback = CallbackView.as_view()
sign_out = OIDCLogoutView.as_view()
