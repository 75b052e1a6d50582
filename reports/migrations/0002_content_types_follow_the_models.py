"""The content types of report jobs and download logs follow the models from metrics to reports, so that the
permissions groups and users hold on them (researchers view report jobs: the job progress page checks
`reports.view_reportjob`) and the admin's log entries stay attached. A database that already has the new content
types (a migrate stopped between the two apps) keeps them: the old ones' groups, users and log entries move over
and the old ones go."""

from django.conf import settings
from django.db import migrations

MODELS = ("reportjob", "downloadlog")


def _move(apps, old_app: str, new_app: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    for model in MODELS:
        old = ContentType.objects.filter(app_label=old_app, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.filter(app_label=new_app, model=model).first()
        if new is None:
            old.app_label = new_app
            old.save(update_fields=["app_label"])
            continue
        for permission in Permission.objects.filter(content_type=old):
            twin = Permission.objects.filter(content_type=new, codename=permission.codename).first()
            if twin is None:
                permission.content_type = new
                permission.save(update_fields=["content_type"])
                continue
            twin.group_set.add(*permission.group_set.all())
            twin.user_set.add(*permission.user_set.all())
        LogEntry.objects.filter(content_type=old).update(content_type=new)
        old.delete()


def forwards(apps, schema_editor):
    _move(apps, "metrics", "reports")


def backwards(apps, schema_editor):
    _move(apps, "reports", "metrics")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
