"""ImportJob becomes a job of the one job framework (jobs.models.Job); existing rows keep their data."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def done_with_errors_is_done(apps, schema_editor):
    """One status enum for every job: an import that rejected files is done, its rejections kept in `errors`."""
    ImportJob = apps.get_model("imaging", "ImportJob")
    ImportJob.objects.filter(status="done_with_errors").update(status="done")
    ImportJob.objects.filter(status__in=["done", "failed"], finished_at__isnull=True).update(
        finished_at=models.F("created_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('imaging', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='importjob',
            options={'ordering': ['-created_at', '-id']},
        ),
        migrations.AddField(
            model_name='importjob',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text='Runs started, retries included.'),
        ),
        migrations.RenameField(model_name='importjob', old_name='files_done', new_name='done'),
        migrations.AlterField(
            model_name='importjob',
            name='done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='importjob',
            name='error',
            field=models.TextField(blank=True, help_text='Why the job failed (one line).'),
        ),
        migrations.AddField(
            model_name='importjob',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text="The running worker's last sign of life.", null=True),
        ),
        migrations.AddField(
            model_name='importjob',
            name='result',
            field=models.JSONField(blank=True, default=dict, help_text='A summary of what the job made.'),
        ),
        migrations.AddField(
            model_name='importjob',
            name='run_started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='importjob',
            name='run_started_done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='importjob',
            name='started_at',
            field=models.DateTimeField(blank=True, help_text='When the first run started.', null=True),
        ),
        migrations.AddField(
            model_name='importjob',
            name='task_id',
            field=models.CharField(blank=True, help_text='The Celery task of the current run.', max_length=64),
        ),
        migrations.RenameField(model_name='importjob', old_name='files_total', new_name='total'),
        migrations.AlterField(
            model_name='importjob',
            name='total',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='importjob',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='importjob',
            name='message',
            field=models.TextField(blank=True, help_text='What the job is doing, or what it did.'),
        ),
        migrations.RunPython(done_with_errors_is_done, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='importjob',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='importjob',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed'])), name='imaging_importjob_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='importjob',
            constraint=models.CheckConstraint(condition=models.Q(('done__lte', models.F('total'))), name='imaging_importjob_done_le_total'),
        ),
        migrations.AddConstraint(
            model_name='importjob',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ('done', 'failed')), _negated=True), ('finished_at__isnull', False), _connector='OR'), name='imaging_importjob_finished_has_finished_at'),
        ),
    ]
