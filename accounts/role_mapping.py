"""From the hospital's groups to Blindread roles: the one place where a directory group (LDAP / Active Directory)
or an identity provider's group claim (OpenID Connect) becomes a role.

`SSO_ROLE_MAP` maps an external group name (case-insensitive: an LDAP group's CN or DN, a value of the OIDC groups
claim) to a role, or to a list of roles. A role is one of the global groups of studies.roles (admin, researcher,
reader: which pages the account opens), optionally in a project: ``"researcher@Radiotherapy CT"`` also makes the
account a researcher of the project *Radiotherapy CT* (admin becomes the project's study admin), which decides the
surveys, reports and models it sees there (docs/security.md, Projects). A project named in the map is created at
the first sign-in that needs it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings

from projects.models import Role
from studies import roles

# Roles whose holders use the admin site (Django's is_staff).
STAFF_ROLES = frozenset({roles.ADMIN, roles.RESEARCHER})


# The project role each global role gives in a project the map names.
PROJECT_ROLES = {roles.ADMIN: Role.STUDY_ADMIN, roles.RESEARCHER: Role.RESEARCHER, roles.READER: Role.READER}


@dataclass(frozen=True, order=True)
class RoleGrant:
    """One role given by the hospital's directory or identity provider; ``project``: the name of the project it
    is also held in ("" for the global role alone)."""

    role: str
    project: str = ""

    @property
    def project_role(self) -> str:
        return PROJECT_ROLES[self.role]


def _grant(group, value) -> RoleGrant:
    role, _, project = str(value).partition("@")
    role, project = role.strip(), project.strip()
    if role not in roles.GROUPS:
        which = f"whose role {role!r} is" if "@" in str(value) else "which is"
        raise ValueError(
            f"SSO_ROLE_MAP: {group!r} maps to {value!r}, {which} none of {', '.join(roles.GROUPS)}"
        )
    if "@" in str(value) and not project:
        raise ValueError(f"SSO_ROLE_MAP: {group!r} maps to {value!r}, which names no project after '@'")
    return RoleGrant(role=role, project=project)


def parse_role_map(mapping: Mapping[str, str | list[str]]) -> dict[str, tuple[RoleGrant, ...]]:
    """The map with lower-cased group names, each to its grants; a role that does not exist is refused with one
    line."""
    parsed = {}
    for group, value in mapping.items():
        values = value if isinstance(value, list | tuple) else [value]
        parsed[str(group).strip().lower()] = tuple(_grant(group, one) for one in values)
    return parsed


def grants_for(
    external_groups: Iterable[str], mapping: Mapping[str, str | list[str]] | None = None
) -> frozenset[RoleGrant]:
    """The roles the given external groups grant (groups without a mapping grant nothing)."""
    role_map = parse_role_map(settings.SSO_ROLE_MAP if mapping is None else mapping)
    return frozenset(
        grant
        for group in external_groups
        if (name := str(group).strip().lower()) in role_map
        for grant in role_map[name]
    )


def managed_projects(mapping: Mapping[str, str | list[str]] | None = None) -> frozenset[str]:
    """The projects whose memberships the directory or identity provider decides: those the map names."""
    role_map = parse_role_map(settings.SSO_ROLE_MAP if mapping is None else mapping)
    return frozenset(grant.project for grants in role_map.values() for grant in grants if grant.project)
