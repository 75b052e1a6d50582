"""Sign-in with the hospital's directory through a real OpenLDAP server (slapd on a loopback port, seeded by
tests/accounts/directory_server.py): accounts, roles from directory groups, disabled accounts, a directory that
cannot be reached."""

import subprocess

import pytest
from django.contrib.auth import get_user_model

from accounts.models import ExternalIdentity
from audit.models import AuditEvent
from projects.models import Membership, Role
from projects.services import add_member, create_project
from tests.accounts import directory_server
from tests.accounts.directory_server import PEOPLE, PEOPLE_SEED, ROLE_MAP, SUFFIX

pytestmark = pytest.mark.django_db


def password_of(uid: str) -> str:
    return PEOPLE_SEED[uid][2]


def sign_in(client, uid: str, password: str | None = None, path: str = "/login/"):
    return client.post(path, {"username": uid, "password": password or password_of(uid)})


def roles_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_a_directory_reader_signs_in_and_reaches_the_reader_pages(client, directory_sign_in):
    response = sign_in(client, "dr.rossi")
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(username="dr.rossi")
    assert (user.first_name, user.last_name, user.email) == ("Maria", "Rossi", "dr.rossi@hospital.example")
    assert not user.has_usable_password() and not user.is_staff
    assert roles_of(user) == {"reader"}
    assert ExternalIdentity.objects.get(user=user).subject == "dr.rossi"
    home = client.get("/")
    assert home.status_code == 200 and "studies/home.html" in [t.name for t in home.templates]
    assert client.get("/admin/").status_code == 302  # no admin site for a reader
    assert client.get("/reports/").status_code in (302, 403, 404)


def test_directory_groups_become_roles_researcher_and_study_admin(client, directory_sign_in):
    assert sign_in(client, "prof.bianchi").status_code == 302
    researcher = get_user_model().objects.get(username="prof.bianchi")
    assert roles_of(researcher) == {"researcher", "reader"} and researcher.is_staff
    assert client.get("/").url == "/reports/"
    assert client.get("/reports/").status_code == 200
    client.logout()
    # The study admin signs in on the admin's own sign-in page and uses the admin site.
    response = sign_in(client, "ct.lead", path="/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    lead = get_user_model().objects.get(username="ct.lead")
    assert roles_of(lead) == {"admin"} and lead.is_staff and not lead.is_superuser
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/studies/survey/").status_code == 200
    events = AuditEvent.objects.filter(verb="account.roles_synced", object_id=str(lead.pk))
    assert [event.details for event in events] == [{"provider": "ldap", "before": [], "after": ["admin"]}]


def test_roles_follow_the_directory_at_the_next_sign_in(client, directory_sign_in):
    assert sign_in(client, "prof.bianchi").status_code == 302
    client.logout()
    modify(
        directory_sign_in,
        f"dn: cn=ct-researchers,ou=groups,{SUFFIX}\nchangetype: modify\n"
        f"replace: member\nmember: uid=ct.lead,{PEOPLE}\n",  # a group of names needs one member
    )
    try:
        assert sign_in(client, "prof.bianchi").status_code == 302
        user = get_user_model().objects.get(username="prof.bianchi")
        assert roles_of(user) == {"reader"} and not user.is_staff
        assert client.get("/reports/").status_code != 200
    finally:
        modify(
            directory_sign_in,
            f"dn: cn=ct-researchers,ou=groups,{SUFFIX}\nchangetype: modify\n"
            f"replace: member\nmember: uid=prof.bianchi,{PEOPLE}\n",
        )


def test_directory_groups_become_project_roles_and_follow_the_directory(client, directory_sign_in, settings):
    settings.SSO_ROLE_MAP = {
        **ROLE_MAP,
        "ct-researchers": ["researcher", "researcher@Radiotherapy CT"],
        "radiology": ["reader", "reader@Radiotherapy CT"],
    }
    owner = get_user_model().objects.create_user("pi", password="pw-owner-123")
    project = create_project(name="Radiotherapy CT")
    add_member(project=project, user=owner, role=Role.OWNER)
    assert sign_in(client, "prof.bianchi").status_code == 302
    user = get_user_model().objects.get(username="prof.bianchi")
    # the most trusted of the roles its groups give in the project (researcher over reader)
    assert Membership.objects.get(user=user, project=project).role == Role.RESEARCHER
    client.logout()
    modify(
        directory_sign_in,
        f"dn: cn=ct-researchers,ou=groups,{SUFFIX}\nchangetype: modify\n"
        f"replace: member\nmember: uid=ct.lead,{PEOPLE}\n",
    )
    try:
        assert sign_in(client, "prof.bianchi").status_code == 302
        assert Membership.objects.get(user=user, project=project).role == Role.READER
        client.logout()
        # the project is still the directory's, but none of the reader's groups gives a role in it any more
        settings.SSO_ROLE_MAP = {**ROLE_MAP, "other-group": "reader@Radiotherapy CT"}
        assert sign_in(client, "prof.bianchi").status_code == 302
        assert not Membership.objects.filter(user=user, project=project).exists()  # the directory decides
        assert Membership.objects.get(user=owner, project=project).role == Role.OWNER  # never touched
        verbs = set(AuditEvent.objects.filter(object_id=str(project.pk)).values_list("verb", flat=True))
        assert {"project.member_added", "project.role_changed", "project.member_removed"} <= verbs
    finally:
        modify(
            directory_sign_in,
            f"dn: cn=ct-researchers,ou=groups,{SUFFIX}\nchangetype: modify\n"
            f"replace: member\nmember: uid=prof.bianchi,{PEOPLE}\n",
        )


def test_a_wrong_password_and_a_disabled_directory_account_are_refused(client, directory_sign_in):
    response = sign_in(client, "dr.rossi", "not-her-password")
    assert response.status_code == 200
    assert b'data-testid="login-error"' in response.content
    # dr.locked's password is right, but the directory has locked the account (password policy).
    response = sign_in(client, "dr.locked")
    assert response.status_code == 200 and b'data-testid="login-error"' in response.content
    assert b"login-directory-unreachable" not in response.content
    assert not get_user_model().objects.filter(username="dr.locked").exists()
    assert client.get("/").status_code == 302  # still signed out


def test_a_directory_user_never_takes_over_a_local_account_of_the_same_name(
    client, admin_user, directory_sign_in
):
    response = sign_in(client, "admin", password_of("admin"))
    assert response.status_code == 200 and b'data-testid="login-error"' in response.content
    admin_user.refresh_from_db()
    assert admin_user.first_name == "" and admin_user.email == "admin@example.org"
    assert not ExternalIdentity.objects.exists()
    # The local superuser still signs in with the local password.
    assert sign_in(client, "admin", "pw-admin-123").status_code == 302


def test_an_unreachable_directory_is_said_on_the_sign_in_page_and_local_admins_still_sign_in(
    client, admin_user, directory_sign_in, settings
):
    settings.AUTH_LDAP_SERVER_URI = (
        f"ldap://127.0.0.1:{directory_server.free_port()}"  # nothing listens there
    )
    response = sign_in(client, "dr.rossi")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="login-directory-unreachable"' in page
    assert "The hospital directory cannot be reached" in page
    assert 'data-testid="login-error"' not in page
    response = sign_in(client, "dr.rossi", path="/admin/login/")
    assert b'data-testid="login-directory-unreachable"' in response.content  # the admin's page says it too
    response = sign_in(client, "admin", "pw-admin-123")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def modify(server, ldif: str) -> None:
    """Change the directory as its administrator would (ldapmodify as the database's root)."""
    done = subprocess.run(
        [
            "ldapmodify",
            "-x",
            "-H",
            server.uri,
            "-D",
            f"cn=root,{SUFFIX}",
            "-w",
            "root-pw-not-used-by-the-app",
        ],
        input=ldif,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
