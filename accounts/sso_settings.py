"""The hospital sign-in settings, read from the environment by config/settings.py: LDAP / Active Directory
(django-auth-ldap's AUTH_LDAP_* settings) and OpenID Connect (mozilla-django-oidc's OIDC_* settings). Every
variable is described in docs/operations.md. Both are off unless their server is named."""

import json
from collections.abc import Mapping

# LDAP_GROUP_TYPE's values and django-auth-ldap's class for each (python-ldap is loaded only when LDAP is configured).
LDAP_GROUP_TYPES = {
    "groupOfNames": "GroupOfNamesType",
    "groupOfUniqueNames": "GroupOfUniqueNamesType",
    "posixGroup": "PosixGroupType",
    "activeDirectory": "NestedActiveDirectoryGroupType",
}


def _get(env: Mapping[str, str], name: str, default: str = "") -> str:
    """The variable's value; an empty one means its default (compose passes unset variables as empty)."""
    return env.get(name) or default


def _bool(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _pairs(text: str) -> dict[str, str]:
    """'first_name=givenName,email=mail' -> {'first_name': 'givenName', 'email': 'mail'}."""
    pairs = {}
    for part in text.split(","):
        if part.strip():
            key, _, value = part.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def role_map(env: Mapping[str, str]) -> dict[str, str | list[str]]:
    """SSO_ROLE_MAP: a JSON object from an external group name to a role or a list of roles, each optionally in
    a project, e.g. {"CT-Study-Admins": "admin", "RT-Physicians": ["reader@Head and neck", "reader@Pelvis"]}."""
    text = _get(env, "SSO_ROLE_MAP").strip()
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("SSO_ROLE_MAP must be a JSON object from group name to role")
    return {
        str(group): [str(one) for one in role] if isinstance(role, list) else str(role)
        for group, role in value.items()
    }


def ldap_settings(env: Mapping[str, str]) -> dict:
    """AUTH_LDAP_* settings; LDAP_ENABLED is False (and nothing else is set) without LDAP_SERVER_URI."""
    uri = _get(env, "LDAP_SERVER_URI").strip()
    if not uri:
        return {"LDAP_ENABLED": False}
    import ldap
    from django_auth_ldap import config as ldap_config

    timeout = float(_get(env, "LDAP_TIMEOUT", "5"))
    options = {ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout, ldap.OPT_REFERRALS: 0}
    if env.get("LDAP_CA_CERT_FILE"):
        options[ldap.OPT_X_TLS_CACERTFILE] = env["LDAP_CA_CERT_FILE"]
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # must come last: applies the options above
    result = {
        "LDAP_ENABLED": True,
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": _get(env, "LDAP_BIND_DN", ""),
        "AUTH_LDAP_BIND_PASSWORD": _get(env, "LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": _bool(env.get("LDAP_START_TLS"), False),
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        "AUTH_LDAP_USER_ATTR_MAP": _pairs(
            _get(env, "LDAP_USER_ATTR_MAP", "first_name=givenName,last_name=sn,email=mail")
        ),
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
    }
    if env.get("LDAP_USER_DN_TEMPLATE"):
        result["AUTH_LDAP_USER_DN_TEMPLATE"] = env["LDAP_USER_DN_TEMPLATE"]
    else:
        result["AUTH_LDAP_USER_SEARCH"] = ldap_config.LDAPSearch(
            _get(env, "LDAP_USER_SEARCH_BASE", ""),
            ldap.SCOPE_SUBTREE,
            _get(env, "LDAP_USER_FILTER", "(uid=%(user)s)"),
        )
    if env.get("LDAP_GROUP_SEARCH_BASE"):
        group_type = env.get("LDAP_GROUP_TYPE") or "groupOfNames"
        if group_type not in LDAP_GROUP_TYPES:
            raise ValueError(
                f"LDAP_GROUP_TYPE must be one of {', '.join(LDAP_GROUP_TYPES)}, not {group_type!r}"
            )
        result["AUTH_LDAP_GROUP_SEARCH"] = ldap_config.LDAPSearch(
            env["LDAP_GROUP_SEARCH_BASE"],
            ldap.SCOPE_SUBTREE,
            _get(env, "LDAP_GROUP_FILTER", "(objectClass=groupOfNames)"),
        )
        result["AUTH_LDAP_GROUP_TYPE"] = getattr(ldap_config, LDAP_GROUP_TYPES[group_type])()
    for name in ("REQUIRE_GROUP", "DENY_GROUP"):
        if env.get(f"LDAP_{name}"):
            result[f"AUTH_LDAP_{name}"] = env[f"LDAP_{name}"]
    return result


def oidc_settings(env: Mapping[str, str]) -> dict:
    """OIDC_* settings of mozilla-django-oidc; OIDC_ENABLED is False without OIDC_RP_CLIENT_ID."""
    client_id = _get(env, "OIDC_RP_CLIENT_ID").strip()
    common = {
        "OIDC_BUTTON_LABEL": _get(env, "OIDC_BUTTON_LABEL", "Sign in with the hospital account"),
        "OIDC_GROUPS_CLAIM": _get(env, "OIDC_GROUPS_CLAIM", "groups"),
        "OIDC_USERNAME_CLAIM": _get(env, "OIDC_USERNAME_CLAIM", "preferred_username"),
    }
    if not client_id:
        return {"OIDC_ENABLED": False, **common}
    verify = _get(env, "OIDC_VERIFY_SSL", "1").strip()
    return {
        "OIDC_ENABLED": True,
        **common,
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": _get(env, "OIDC_RP_CLIENT_SECRET", ""),
        "OIDC_RP_SIGN_ALGO": _get(env, "OIDC_RP_SIGN_ALGO", "RS256"),
        "OIDC_RP_SCOPES": _get(env, "OIDC_RP_SCOPES", "openid email profile groups"),
        "OIDC_OP_AUTHORIZATION_ENDPOINT": _get(env, "OIDC_OP_AUTHORIZATION_ENDPOINT", ""),
        "OIDC_OP_TOKEN_ENDPOINT": _get(env, "OIDC_OP_TOKEN_ENDPOINT", ""),
        "OIDC_OP_USER_ENDPOINT": _get(env, "OIDC_OP_USER_ENDPOINT", ""),
        "OIDC_OP_JWKS_ENDPOINT": _get(env, "OIDC_OP_JWKS_ENDPOINT", ""),
        "OIDC_OP_LOGOUT_ENDPOINT": _get(env, "OIDC_OP_LOGOUT_ENDPOINT", ""),
        # A path is a CA bundle for the provider's TLS certificate.
        "OIDC_VERIFY_SSL": verify if verify not in {"0", "1"} else verify == "1",
        "OIDC_TIMEOUT": float(_get(env, "OIDC_TIMEOUT", "10")),
    }
