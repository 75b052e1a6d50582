"""Membership changes: one service each, one transaction with its audit row; refusals in one line."""

import pytest

from audit.models import AuditEvent
from projects.models import DEFAULT_PROJECT, Membership, Project, Role
from projects.selectors import role_of
from projects.services import (
    ProjectError,
    add_member,
    change_role,
    create_project,
    ensure_default_project,
    remove_member,
)

pytestmark = pytest.mark.django_db


def events(project) -> list[tuple[str, dict]]:
    rows = AuditEvent.objects.filter(object_type="projects.project", object_id=str(project.pk)).order_by("id")
    return [(event.verb, event.details) for event in rows]


def test_every_membership_change_writes_its_audit_row(django_user_model, admin_user):
    project = create_project(name="Liver sCT", actor=admin_user)
    alice = django_user_model.objects.create_user("alice")
    add_member(project=project, user=alice, role=Role.RESEARCHER, actor=admin_user)
    change_role(membership=Membership.objects.get(user=alice), role=Role.STUDY_ADMIN, actor=admin_user)
    remove_member(project=project, user=alice, actor=admin_user)
    assert events(project) == [
        ("project.created", {"name": "Liver sCT"}),
        ("project.member_added", {"user": "alice", "role": "researcher"}),
        ("project.role_changed", {"user": "alice", "from": "researcher", "to": "study_admin"}),
        ("project.member_removed", {"user": "alice", "role": "study_admin"}),
    ]
    assert AuditEvent.objects.filter(verb__startswith="project.", actor=admin_user).count() == 4
    assert role_of(alice, project) is None


def test_adding_a_member_twice_changes_the_role_instead(django_user_model):
    project = create_project(name="P")
    bob = django_user_model.objects.create_user("bob")
    add_member(project=project, user=bob, role=Role.READER)
    add_member(project=project, user=bob, role=Role.RESEARCHER)
    assert list(project.memberships.values_list("role", flat=True)) == ["researcher"]
    assert [verb for verb, _ in events(project)][-1] == "project.role_changed"


def test_an_unchanged_role_writes_nothing(django_user_model):
    project = create_project(name="P")
    bob = django_user_model.objects.create_user("bob")
    membership = add_member(project=project, user=bob, role=Role.READER)
    before = AuditEvent.objects.count()
    change_role(membership=membership, role=Role.READER)
    assert AuditEvent.objects.count() == before


def test_refusals_are_one_line_and_change_nothing(django_user_model):
    project = create_project(name="P")
    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    add_member(project=project, user=owner, role=Role.OWNER)
    add_member(project=project, user=other, role=Role.READER)
    before = AuditEvent.objects.count()
    with pytest.raises(ProjectError, match="unknown role 'boss'"):
        add_member(project=project, user=other, role="boss")
    with pytest.raises(ProjectError, match="would have no owner left"):
        remove_member(project=project, user=owner)
    with pytest.raises(ProjectError, match="would have no owner left"):
        change_role(membership=project.memberships.get(user=owner), role=Role.READER)
    with pytest.raises(ProjectError, match="exists already"):
        create_project(name="P")
    with pytest.raises(ProjectError, match="is not a member"):
        remove_member(project=create_project(name="Q"), user=other)
    assert AuditEvent.objects.count() == before + 1  # only project Q's creation
    assert role_of(owner, project) == Role.OWNER


def test_the_default_project_is_made_once():
    Project.objects.filter(name=DEFAULT_PROJECT).delete()  # the data migration made one
    first = ensure_default_project()
    assert ensure_default_project() == first
    assert AuditEvent.objects.filter(verb="project.created").count() == 1
