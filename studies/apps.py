from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _grant_group_permissions(sender, **kwargs):
    """Permissions exist only after every app has migrated; give the study groups theirs then."""
    from studies.services import ensure_study_groups

    ensure_study_groups()


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Reader studies"

    def ready(self):
        from studies import auth, checks  # noqa: F401  (signal receivers and system checks)

        post_migrate.connect(_grant_group_permissions, dispatch_uid="studies.grant_group_permissions")
