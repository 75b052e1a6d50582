"""Every change to projects and their members: one transaction each, with its audit row."""

from django.db import transaction

from audit.services import record_event
from projects.models import DEFAULT_PROJECT, Membership, Project, Role


class ProjectError(Exception):
    """A refused change, said in one line."""


def _known_role(role: str) -> str:
    if role not in Role.values:
        raise ProjectError(f"unknown role {role!r}: choose one of {', '.join(Role.values)}")
    return role


@transaction.atomic
def create_project(*, name: str, description: str = "", actor=None) -> Project:
    name = name.strip()
    if not name:
        raise ProjectError("a project needs a name")
    if Project.objects.filter(name=name).exists():
        raise ProjectError(f"a project named {name!r} exists already")
    project = Project.objects.create(name=name, description=description)
    record_event(actor=actor, verb="project.created", target=project, details={"name": name})
    return project


@transaction.atomic
def ensure_default_project(*, actor=None) -> Project:
    """The project an object made without naming one joins (created, and audited, the first time)."""
    project = Project.objects.filter(name=DEFAULT_PROJECT).first()
    if project is not None:
        return project
    project = Project.objects.create(name=DEFAULT_PROJECT)
    record_event(actor=actor, verb="project.created", target=project, details={"name": DEFAULT_PROJECT})
    return project


@transaction.atomic
def add_member(*, project: Project, user, role: str, actor=None) -> Membership:
    """Give ``user`` ``role`` in ``project`` (a member already there changes role instead)."""
    _known_role(role)
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if membership is not None:
        return change_role(membership=membership, role=role, actor=actor)
    membership = Membership.objects.create(project=project, user=user, role=role)
    record_event(
        actor=actor,
        verb="project.member_added",
        target=project,
        details={"user": user.get_username(), "role": role},
    )
    return membership


@transaction.atomic
def change_role(*, membership: Membership, role: str, actor=None) -> Membership:
    _known_role(role)
    before = membership.role
    if before == role:
        return membership
    _keep_an_owner(membership, leaving=before == Role.OWNER)
    membership.role = role
    membership.save(update_fields=["role"])
    record_event(
        actor=actor,
        verb="project.role_changed",
        target=membership.project,
        details={"user": membership.user.get_username(), "from": before, "to": role},
    )
    return membership


@transaction.atomic
def remove_member(*, project: Project, user, actor=None) -> None:
    """Take ``user`` out of ``project``: from the next request on (pages, API tokens, downloads) they see none of
    it."""
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if membership is None:
        raise ProjectError(f"{user.get_username()} is not a member of {project.name}")
    _keep_an_owner(membership, leaving=membership.role == Role.OWNER)
    membership.delete()
    record_event(
        actor=actor,
        verb="project.member_removed",
        target=project,
        details={"user": user.get_username(), "role": membership.role},
    )


def _keep_an_owner(membership: Membership, *, leaving: bool) -> None:
    if not leaving:
        return
    others = Membership.objects.filter(project=membership.project, role=Role.OWNER).exclude(pk=membership.pk)
    if not others.exists() and Membership.objects.filter(project=membership.project).count() > 1:
        raise ProjectError(f"{membership.project.name} would have no owner left: name another owner first")
