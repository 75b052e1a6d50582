"""Reads of projects and memberships, and the one filter every app applies to its rows: ``visible_to``."""

from django.db.models import QuerySet

from projects.access import roles_at_least
from projects.models import Membership, Project, Role


def is_site_superuser(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def projects_of_user(user, *, at_least: str = Role.READER) -> QuerySet[Project]:
    """The projects in which ``user`` holds ``at_least`` that role (every project for a site superuser)."""
    if is_site_superuser(user):
        return Project.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user, memberships__role__in=roles_at_least(at_least))


def visible_to(
    queryset: QuerySet, user, *, at_least: str = Role.RESEARCHER, through: str = "project"
) -> QuerySet:
    """The rows of ``queryset`` whose project (``through``: a relation to Project, ``projects`` for shared rows,
    ``survey__project`` for a survey's rows) is one where ``user`` holds ``at_least`` that role. A site superuser
    sees every row; anyone else sees none of another project's."""
    if is_site_superuser(user):
        return queryset
    mine = projects_of_user(user, at_least=at_least).values("pk")
    rows = queryset.model._default_manager.filter(**{f"{through}__in": mine}).values("pk")
    return queryset.filter(pk__in=rows)


def role_of(user, project: Project) -> str | None:
    membership = Membership.objects.filter(user=user, project=project).first()
    return membership.role if membership is not None else None


def memberships_of_user(user) -> QuerySet[Membership]:
    """The projects ``user`` is a member of, with the role in each, by project name."""
    return Membership.objects.filter(user=user).select_related("project").order_by("project__name")


def memberships_of(project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("user__username")


def project_named(name: str) -> Project | None:
    return Project.objects.filter(name=name).first()
