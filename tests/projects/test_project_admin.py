"""A project's owner manages its members on the admin's project page without being a site superuser or holding
any site-wide permission: adds, re-roles and removes members there, each change through projects.services with its
audit row; a study admin of the project, and an owner of another project, cannot open the page."""

import pytest

from audit.models import AuditEvent
from projects.models import Membership, Role
from projects.selectors import role_of
from projects.services import add_member, create_project

pytestmark = pytest.mark.django_db


def page(project) -> str:
    return f"/admin/projects/project/{project.pk}/change/"


def members_form(project, rows: list[dict]) -> dict:
    """The change page's POST: the project's own fields and one inline row per member (id, user, role, DELETE)."""
    data = {
        "name": project.name,
        "description": project.description,
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(sum(1 for row in rows if row.get("id"))),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for number, row in enumerate(rows):
        for key, value in row.items():
            data[f"memberships-{number}-{key}"] = value
        data[f"memberships-{number}-project"] = str(project.pk)
    return data


@pytest.fixture
def people(django_user_model):
    project = create_project(name="Liver sCT")
    elsewhere = create_project(name="Prostate sCT")
    owner = django_user_model.objects.create_user("owner", password="pw-owner-123", is_staff=True)
    admin = django_user_model.objects.create_user("study-admin", password="pw-admin-123", is_staff=True)
    other_owner = django_user_model.objects.create_user("other-owner", password="pw-other-123", is_staff=True)
    newcomer = django_user_model.objects.create_user("newcomer")
    add_member(project=project, user=owner, role=Role.OWNER)
    add_member(project=project, user=admin, role=Role.STUDY_ADMIN)
    add_member(project=elsewhere, user=other_owner, role=Role.OWNER)
    return project, owner, admin, other_owner, newcomer


def test_an_owner_adds_re_roles_and_removes_members_on_the_project_page(client, people):
    project, owner, admin, _, newcomer = people
    assert not owner.is_superuser and not owner.user_permissions.exists() and not owner.groups.exists()
    client.force_login(owner)
    shown = client.get(page(project))
    assert shown.status_code == 200
    assert b'name="memberships-TOTAL_FORMS"' in shown.content
    assert b'name="memberships-0-role"' in shown.content  # editable rows, not a read-only list

    assert (
        b"other-owner" not in shown.content
    )  # no list of the site's accounts: members are named by username
    rows = [
        {"id": str(m.pk), "user": m.user.username, "role": m.role}
        for m in Membership.objects.filter(project=project).order_by("pk")
    ]
    rows[1]["role"] = Role.RESEARCHER  # the study admin becomes a researcher
    rows.append({"id": "", "user": "nobody-here", "role": Role.READER})
    refused = client.post(page(project), members_form(project, rows))
    assert (
        refused.status_code == 200 and b"no active account named &#x27;nobody-here&#x27;" in refused.content
    )
    assert role_of(admin, project) == Role.STUDY_ADMIN  # nothing changed
    rows[-1]["user"] = newcomer.username
    answer = client.post(page(project), members_form(project, rows))
    assert answer.status_code == 302, answer.content[-2000:]
    assert role_of(admin, project) == Role.RESEARCHER
    assert role_of(newcomer, project) == Role.READER

    rows = [
        {"id": str(m.pk), "user": m.user.username, "role": m.role}
        for m in Membership.objects.filter(project=project).order_by("pk")
    ]
    rows[2]["DELETE"] = "on"  # the newcomer leaves
    assert client.post(page(project), members_form(project, rows)).status_code == 302
    assert role_of(newcomer, project) is None
    verbs = list(
        AuditEvent.objects.filter(actor=owner, object_id=str(project.pk))
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert verbs == ["project.role_changed", "project.member_added", "project.member_removed"]


def test_a_study_admin_and_another_projects_owner_cannot_manage_the_members(client, people):
    project, _, admin, other_owner, newcomer = people
    for person in (admin, other_owner):
        client.force_login(person)
        assert client.get(page(project)).status_code in (403, 404)
        rows = [{"id": "", "user": newcomer.username, "role": Role.OWNER}]
        assert client.post(page(project), members_form(project, rows)).status_code in (403, 404)
    assert role_of(newcomer, project) is None
    client.force_login(other_owner)  # their own project's page is theirs to manage
    elsewhere = other_owner.memberships.get().project
    assert client.get(page(elsewhere)).status_code == 200
