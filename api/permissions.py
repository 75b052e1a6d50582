"""Who may do what through the API: the roles of studies.roles, exactly as the admin and report pages apply them.

- anonymous: 401 everywhere (but the schema and its documentation page);
- readers (and anyone without a study role): 403 on collections, 404 on any object (existence is not revealed);
- researchers: read what their projects hold; a write is 403;
- study admins (admin group or superuser): read and write, a change to one object only as a study admin (or
  owner) of its project;
- another project's object is not found (404): every view reads through a selector that takes the user.
Results (answers, statistics, PDF, metrics) follow the report pages' rule (reports.selectors.can_read_reports).
"""

from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from projects.access import RUN_SURVEYS
from reports.selectors import can_read_reports
from studies import roles


def _refuse_outsider(view):
    if view.kwargs.get("pk") is not None:
        raise NotFound("not found")
    raise PermissionDenied("this account has no researcher or study admin role")


class IsResearcher(BasePermission):
    """Reads for researchers and study admins; writes (unsafe methods) for study admins only."""

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            raise NotAuthenticated()
        if not roles.is_researcher(user):
            _refuse_outsider(view)
        # A change to one object is checked once it is found (has_object_permission): another project's is 404.
        if (
            request.method not in SAFE_METHODS
            and view.kwargs.get("pk") is None
            and not roles.is_study_admin(user)
        ):
            raise PermissionDenied("only study admins may change anything")
        return True

    def has_object_permission(self, request, view, obj):
        """Objects come only from the viewer's projects (the views' selectors); a change needs the study admin
        (or owner) role in the object's own project."""
        if request.method not in SAFE_METHODS and not request.user.has_perm(RUN_SURVEYS, obj):
            raise PermissionDenied("only a study admin of this project may change it")
        return True


class CanReadReports(BasePermission):
    """The report pages' rule: researchers, study admins and staff; never readers."""

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            raise NotAuthenticated()
        if not can_read_reports(user):
            raise PermissionDenied("results are for researchers; this account is not one")
        return True


class IsSignedIn(BasePermission):
    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()
        return True
