"""From the hospital's groups to Blindread roles: the one place where a directory group (LDAP / Active Directory)
or an identity provider's group claim (OpenID Connect) becomes a role.

`SSO_ROLE_MAP` maps an external group name (case-insensitive: an LDAP group's CN or DN, a value of the OIDC groups
claim) to a role. Today a role is one of the global groups of studies.roles (admin, researcher, reader); a grant
is a `RoleGrant` so that a per-project role can be added to it without changing the callers.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings

from studies import roles

# Roles whose holders use the admin site (Django's is_staff).
STAFF_ROLES = frozenset({roles.ADMIN, roles.RESEARCHER})


@dataclass(frozen=True, order=True)
class RoleGrant:
    """One role given by the hospital's directory or identity provider."""

    role: str


def parse_role_map(mapping: Mapping[str, str]) -> dict[str, str]:
    """The map with lower-cased group names; a role that does not exist is refused with one line."""
    parsed = {}
    for group, role in mapping.items():
        if role not in roles.GROUPS:
            raise ValueError(
                f"SSO_ROLE_MAP: {group!r} maps to {role!r}, which is none of {', '.join(roles.GROUPS)}"
            )
        parsed[str(group).strip().lower()] = role
    return parsed


def grants_for(
    external_groups: Iterable[str], mapping: Mapping[str, str] | None = None
) -> frozenset[RoleGrant]:
    """The roles the given external groups grant (groups without a mapping grant nothing)."""
    role_map = parse_role_map(settings.SSO_ROLE_MAP if mapping is None else mapping)
    return frozenset(
        RoleGrant(role=role_map[name])
        for group in external_groups
        if (name := str(group).strip().lower()) in role_map
    )
