"""Before projects, three global groups said who saw what, and everyone of a group saw everything. Their members
become members of one default project (admin -> study admin, researcher -> researcher, reader -> reader), which
the next migrations of studies, imaging and generation make the owner of every existing object."""

from django.db import migrations

DEFAULT_PROJECT = "Default project"
GROUP_ROLES = {"admin": "study_admin", "researcher": "researcher", "reader": "reader"}


def default_project_from_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Project = apps.get_model("projects", "Project")
    Membership = apps.get_model("projects", "Membership")
    project, _ = Project.objects.get_or_create(name=DEFAULT_PROJECT)
    # The most trusted group wins for someone in several.
    for group_name in ("admin", "researcher", "reader"):
        group = Group.objects.filter(name=group_name).first()
        if group is None:
            continue
        for user in group.user_set.all():
            Membership.objects.get_or_create(
                project=project, user=user, defaults={"role": GROUP_ROLES[group_name]}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("studies", "0002_study_groups"),
    ]

    operations = [migrations.RunPython(default_project_from_groups, migrations.RunPython.noop)]
