"""Sign-in with the hospital's directory (LDAP / Active Directory) through django-auth-ldap.

Configured by settings (LDAP_SERVER_URI and friends, see accounts.sso_settings and docs/operations.md); off when
LDAP_SERVER_URI is empty. The backend comes after the local, rate-limited one in AUTHENTICATION_BACKENDS: local
accounts are tried first and the sign-in limits apply to directory accounts too.

- An account is created at the first sign-in and linked to its directory username (accounts.ExternalIdentity);
  a directory user never takes over a local account of the same name.
- Its roles are those its directory groups grant (accounts.role_mapping), brought up to date at every sign-in.
- A disabled directory account cannot bind (or is filtered out by LDAP_USER_FILTER), so it cannot sign in.
- When the directory cannot be reached the request is marked, and the sign-in page says so (local accounts still
  sign in).
"""

import ldap
from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, ldap_error

from accounts import services
from accounts.models import ExternalIdentity
from accounts.role_mapping import grants_for
from accounts.sign_in_state import mark_directory_unreachable

UNREACHABLE_ERRORS = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR)


class DirectoryBackend(LDAPBackend):
    request = None

    def authenticate(self, request, username=None, password=None, **kwargs):
        self.request = request
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_or_build_user(self, username, ldap_user):
        user, built = super().get_or_build_user(username, ldap_user)
        if not built:
            # Checked before django-auth-ldap copies the directory's attributes onto the account.
            linked = ExternalIdentity.objects.filter(
                provider=ExternalIdentity.Provider.LDAP, subject=username.lower(), user=user
            ).exists()
            if not linked and (user.has_usable_password() or user.external_identities.exists()):
                raise ldap_user.AuthenticationFailed(
                    f"a local account named {username!r} exists; it is not linked"
                )
        return user, built

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        groups = []
        if self.settings.GROUP_SEARCH is not None:
            try:
                groups = [*ldap_user.group_names, *ldap_user.group_dns]
            except ldap.LDAPError as exc:
                ldap_error.send(
                    type(self), context="authenticate", user=user, request=self.request, exception=exc
                )
                return None
        try:
            return services.sign_in_from_outside(
                user=user,
                provider=ExternalIdentity.Provider.LDAP,
                subject=user.ldap_username.lower(),
                grants=grants_for(groups),
            )
        except services.SignInRefused:
            return None


# Connected when Django first loads this backend, before it authenticates anyone.
@receiver(ldap_error)
def note_unreachable_directory(sender, context, user, request, exception, **kwargs):
    if request is not None and isinstance(exception, UNREACHABLE_ERRORS):
        mark_directory_unreachable(request)
