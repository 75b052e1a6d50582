"""Who may do what to which object: the one place the project roles become permissions (django-rules).

Checks ask Django, e.g. ``user.has_perm(RUN_SURVEYS, survey)``; rows are filtered by ``projects.selectors``, which
use the same ranks. An object names its project through ``project`` (a survey), ``projects`` (a dataset or a
checkpoint shared by several), or is a Project itself. A site superuser holds every permission (Django's rule).

- owner: everything below, and manages the project's members;
- study admin: creates, opens and closes the project's surveys, invites its readers, runs its jobs;
- researcher: reads the project's surveys, progress, answers, reports, metrics and archives;
- reader: answers the surveys they were invited to; sees nothing of the project's results.
"""

import rules

from projects.models import Membership, Project, Role

# Higher ranks hold every permission of the lower ones.
RANKS = {Role.READER: 1, Role.RESEARCHER: 2, Role.STUDY_ADMIN: 3, Role.OWNER: 4}

VIEW_PROJECT = "projects.view_project"
MANAGE_MEMBERS = "projects.manage_members"
RUN_SURVEYS = "projects.run_surveys"
READ_RESULTS = "projects.read_results"


def roles_at_least(role: str) -> list[str]:
    """The roles that rank at or above ``role``."""
    return [name for name, rank in RANKS.items() if rank >= RANKS[role]]


def projects_of(obj) -> list[Project]:
    """The projects an object belongs to (one for a survey and the rows of a survey, any number for a shared
    dataset or checkpoint)."""
    if isinstance(obj, Project):
        return [obj]
    if hasattr(obj, "project"):
        return [obj.project] if obj.project is not None else []
    if hasattr(obj, "projects"):
        return list(obj.projects.all())
    if hasattr(obj, "survey"):  # an invitation, an assignment, a blinding audit: its survey's project
        return projects_of(obj.survey)
    return []


def _holds(role: str):
    wanted = roles_at_least(role)

    @rules.predicate(name=f"is at least {role}")
    def holds(user, obj) -> bool:
        if obj is None or not user.is_authenticated or not user.is_active:
            return False
        projects = [project.pk for project in projects_of(obj)]
        return Membership.objects.filter(user=user, project__in=projects, role__in=wanted).exists()

    return holds


is_owner = _holds(Role.OWNER)
is_study_admin = _holds(Role.STUDY_ADMIN)
is_researcher = _holds(Role.RESEARCHER)
is_member = _holds(Role.READER)

rules.add_perm(VIEW_PROJECT, rules.is_superuser | is_member)
rules.add_perm(MANAGE_MEMBERS, rules.is_superuser | is_owner)
rules.add_perm(RUN_SURVEYS, rules.is_superuser | is_study_admin)
rules.add_perm(READ_RESULTS, rules.is_superuser | is_researcher)
