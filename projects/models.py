"""Projects (a study programme of one research group) and who belongs to them, with one role each."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The project every object made before projects existed belongs to (data migration), and the one an object made
# without naming a project joins.
DEFAULT_PROJECT = "Default project"


class Role(models.TextChoices):
    """A member's role in one project, from the most to the least trusted."""

    OWNER = "owner", _("Owner")
    STUDY_ADMIN = "study_admin", _("Study admin")
    RESEARCHER = "researcher", _("Researcher")
    READER = "reader", _("Reader")


class Project(models.Model):
    """A study programme: it owns its surveys (with their items, readers, answers, invitations, reports and
    archives) and uses datasets and checkpoints, which several projects may share."""

    name = models.CharField(max_length=128, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """One person in one project, with one role. Written only by projects.services (each change audited)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_one_role_per_project"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_known_role"),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}) in {self.project}"
