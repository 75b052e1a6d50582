"""The three groups of people: admin (runs surveys), researcher (reads results), reader (answers surveys).
Their permissions are granted after every migrate (see StudiesConfig), once all apps' permissions exist."""

from django.db import migrations

GROUPS = ("admin", "researcher", "reader")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=GROUPS, user__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
