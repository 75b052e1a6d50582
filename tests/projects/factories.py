"""Accounts for tests: a global group (which pages the account may open) and the matching role in a project
(which objects it sees there), the default project unless another is named."""

from django.contrib.auth.models import Group

from projects.models import Role
from projects.services import add_member, ensure_default_project

GROUP_ROLES = {"admin": Role.STUDY_ADMIN, "researcher": Role.RESEARCHER, "reader": Role.READER}


def make_member(user, group: str, project=None):
    """Put ``user`` in ``group`` and give them its role in ``project`` (the default project)."""
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    add_member(project=project or ensure_default_project(), user=user, role=GROUP_ROLES[group])
    return user
