"""MetricsJob becomes a job of the one job framework (jobs.models.Job); existing rows keep their data."""

from django.conf import settings
from django.db import migrations, models


def failed_jobs_keep_their_error(apps, schema_editor):
    MetricsJob = apps.get_model("metrics", "MetricsJob")
    for job in MetricsJob.objects.filter(status="failed", error=""):
        MetricsJob.objects.filter(pk=job.pk).update(error=job.message[:500])
    MetricsJob.objects.filter(status__in=["done", "failed"], finished_at__isnull=True).update(
        finished_at=models.F("created_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('imaging', '0002_importjob_on_the_job_framework'),
        ('metrics', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='metricsjob',
            name='metrics_job_status_valid',
        ),
        migrations.RemoveConstraint(
            model_name='metricsjob',
            name='metrics_job_done_le_total',
        ),
        migrations.AddField(
            model_name='metricsjob',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text='Runs started, retries included.'),
        ),
        migrations.AddField(
            model_name='metricsjob',
            name='error',
            field=models.TextField(blank=True, help_text='Why the job failed (one line).'),
        ),
        migrations.AddField(
            model_name='metricsjob',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text="The running worker's last sign of life.", null=True),
        ),
        migrations.AddField(
            model_name='metricsjob',
            name='result',
            field=models.JSONField(blank=True, default=dict, help_text='A summary of what the job made.'),
        ),
        migrations.AddField(
            model_name='metricsjob',
            name='run_started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='metricsjob',
            name='run_started_done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='metricsjob',
            name='task_id',
            field=models.CharField(blank=True, help_text='The Celery task of the current run.', max_length=64),
        ),
        migrations.AlterField(
            model_name='metricsjob',
            name='done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='metricsjob',
            name='message',
            field=models.TextField(blank=True, help_text='What the job is doing, or what it did.'),
        ),
        migrations.AlterField(
            model_name='metricsjob',
            name='started_at',
            field=models.DateTimeField(blank=True, help_text='When the first run started.', null=True),
        ),
        migrations.AlterField(
            model_name='metricsjob',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16),
        ),
        migrations.AlterField(
            model_name='metricsjob',
            name='total',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(failed_jobs_keep_their_error, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='metricsjob',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed'])), name='metrics_metricsjob_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='metricsjob',
            constraint=models.CheckConstraint(condition=models.Q(('done__lte', models.F('total'))), name='metrics_metricsjob_done_le_total'),
        ),
        migrations.AddConstraint(
            model_name='metricsjob',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ('done', 'failed')), _negated=True), ('finished_at__isnull', False), _connector='OR'), name='metrics_metricsjob_finished_has_finished_at'),
        ),
    ]
