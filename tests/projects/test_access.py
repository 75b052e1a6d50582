"""The object permissions of projects.access (django-rules through Django's has_perm) and the one row filter,
projects.selectors.visible_to, agree: per role, per project, a superuser sees all."""

import pytest

from projects.access import MANAGE_MEMBERS, READ_RESULTS, RUN_SURVEYS, VIEW_PROJECT
from projects.models import Project, Role
from projects.selectors import projects_of_user, visible_to
from projects.services import add_member, create_project

pytestmark = pytest.mark.django_db

PERMISSIONS = [VIEW_PROJECT, READ_RESULTS, RUN_SURVEYS, MANAGE_MEMBERS]
HELD = {  # role -> the permissions it holds in its own project, in the order of PERMISSIONS
    Role.READER: [True, False, False, False],
    Role.RESEARCHER: [True, True, False, False],
    Role.STUDY_ADMIN: [True, True, True, False],
    Role.OWNER: [True, True, True, True],
}


@pytest.mark.parametrize("role", list(HELD))
def test_a_role_holds_its_permissions_in_its_own_project_and_none_in_another(role, django_user_model):
    own, other = create_project(name="Own"), create_project(name="Other")
    user = django_user_model.objects.create_user("member", is_staff=True)
    add_member(project=own, user=user, role=role)
    assert [user.has_perm(name, own) for name in PERMISSIONS] == HELD[role]
    assert [user.has_perm(name, other) for name in PERMISSIONS] == [False] * 4


def test_a_superuser_holds_every_permission_and_an_inactive_member_none(django_user_model, admin_user):
    project = create_project(name="P")
    assert all(admin_user.has_perm(name, project) for name in PERMISSIONS)
    gone = django_user_model.objects.create_user("gone", is_active=False)
    add_member(project=project, user=gone, role=Role.OWNER)
    assert not any(gone.has_perm(name, project) for name in PERMISSIONS)


def test_visible_to_keeps_the_rows_of_the_projects_where_the_role_is_held(django_user_model, admin_user):
    a, b, c = (create_project(name=name) for name in "ABC")
    user = django_user_model.objects.create_user("u")
    add_member(project=a, user=user, role=Role.RESEARCHER)
    add_member(project=b, user=user, role=Role.READER)
    projects = Project.objects.all()
    assert set(visible_to(projects, user, through="pk")) == {a}
    assert set(visible_to(projects, user, at_least=Role.READER, through="pk")) == {a, b}
    assert set(visible_to(projects, user, at_least=Role.STUDY_ADMIN, through="pk")) == set()
    assert set(visible_to(projects, admin_user, through="pk")) == set(projects) >= {a, b, c}
    assert set(projects_of_user(user)) == {a, b}
    assert not projects_of_user(django_user_model.objects.create_user("nobody")).exists()
