"""The one mapping from the hospital's groups to roles, and the settings it is read from."""

import pytest
from django.core.checks import run_checks

from accounts.role_mapping import RoleGrant, grants_for, managed_projects, parse_role_map
from accounts.sso_settings import ldap_settings, oidc_settings, role_map

MAP = {"CT-Study-Admins": "admin", "cn=ct-researchers,ou=groups,dc=hospital,dc=example": "researcher"}


def test_groups_map_to_roles_by_name_or_dn_ignoring_case_and_unmapped_groups():
    groups = ["ct-study-admins", "CN=CT-Researchers,OU=Groups,DC=Hospital,DC=Example", "cafeteria"]
    assert grants_for(groups, MAP) == {RoleGrant("admin"), RoleGrant("researcher")}
    assert grants_for(["cafeteria"], MAP) == frozenset()
    assert grants_for([], {}) == frozenset()


def test_a_role_that_does_not_exist_is_refused_in_one_line(settings):
    with pytest.raises(
        ValueError, match="'radiology' maps to 'superuser', which is none of admin, researcher"
    ):
        parse_role_map({"radiology": "superuser"})
    settings.SSO_ROLE_MAP = {"radiology": "superuser"}
    assert [error.id for error in run_checks() if error.id.startswith("accounts.")] == ["accounts.E001"]


def test_the_environment_turns_each_sign_in_on_only_when_its_server_is_named():
    assert ldap_settings({}) == {"LDAP_ENABLED": False}
    assert oidc_settings({})["OIDC_ENABLED"] is False
    assert role_map({}) == {}
    ldap = ldap_settings(
        {
            "LDAP_SERVER_URI": "ldaps://dc1.hospital.example",
            "LDAP_USER_SEARCH_BASE": "ou=staff,dc=hospital,dc=example",
            "LDAP_USER_FILTER": "(sAMAccountName=%(user)s)",
            "LDAP_GROUP_SEARCH_BASE": "ou=groups,dc=hospital,dc=example",
            "LDAP_GROUP_TYPE": "activeDirectory",
            "LDAP_GROUP_FILTER": "(objectClass=group)",
        }
    )
    assert ldap["LDAP_ENABLED"] and ldap["AUTH_LDAP_SERVER_URI"] == "ldaps://dc1.hospital.example"
    assert ldap["AUTH_LDAP_USER_SEARCH"].filterstr == "(sAMAccountName=%(user)s)"
    assert type(ldap["AUTH_LDAP_GROUP_TYPE"]).__name__ == "NestedActiveDirectoryGroupType"
    with pytest.raises(ValueError, match="LDAP_GROUP_TYPE must be one of"):
        ldap_settings(
            {"LDAP_SERVER_URI": "ldap://x", "LDAP_GROUP_SEARCH_BASE": "o=x", "LDAP_GROUP_TYPE": "nis"}
        )
    assert role_map({"SSO_ROLE_MAP": '{"Radiology": "reader"}'}) == {"Radiology": "reader"}
    with pytest.raises(ValueError, match="JSON object"):
        role_map({"SSO_ROLE_MAP": '["reader"]'})


def test_check_deploy_warns_when_staff_would_sign_in_without_a_second_factor(tmp_path):
    from tests.studies.test_deploy_check import deploy_check

    result = deploy_check(tmp_path, ACCOUNTS_SECOND_FACTOR_REQUIRED="0")
    assert result.returncode != 0
    assert "accounts.W001" in result.stderr + result.stdout


def test_a_group_may_grant_a_role_in_a_project_and_several_roles():
    mapping = {
        "RT-Physicians": ["reader@Head and neck", "reader@Pelvis"],
        "CT-Research": "researcher@Pelvis",
        "Radiology": "reader",
    }
    grants = grants_for(["rt-physicians", "CT-Research"], mapping)
    assert grants == {
        RoleGrant("reader", "Head and neck"),
        RoleGrant("reader", "Pelvis"),
        RoleGrant("researcher", "Pelvis"),
    }
    assert {grant.project_role for grant in grants} == {"reader", "researcher"}
    assert managed_projects(mapping) == {"Head and neck", "Pelvis"}
    assert role_map({"SSO_ROLE_MAP": '{"RT": ["reader@A", "admin"]}'}) == {"RT": ["reader@A", "admin"]}
    for wrong in ("superuser@Pelvis", "reader@", "reader@ "):
        with pytest.raises(ValueError, match="SSO_ROLE_MAP"):
            parse_role_map({"RT": wrong})
