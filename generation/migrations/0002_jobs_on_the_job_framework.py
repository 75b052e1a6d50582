"""GenerationJob and TrainingRun become jobs of the one job framework (jobs.models.Job); existing rows keep their data."""

from django.conf import settings
from django.db import migrations, models


def jobs_keep_their_history(apps, schema_editor):
    """Failed jobs kept their error in `message`; finished jobs without a finish time get their creation time."""
    for name in ("GenerationJob", "TrainingRun"):
        model = apps.get_model("generation", name)
        for job in model.objects.filter(status="failed", error=""):
            model.objects.filter(pk=job.pk).update(error=job.message[:500])
        model.objects.filter(status__in=["done", "failed"], finished_at__isnull=True).update(
            finished_at=models.F("created_at")
        )


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0001_initial'),
        ('imaging', '0002_importjob_on_the_job_framework'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='generationjob',
            options={'ordering': ['-created_at', '-id']},
        ),
        migrations.AlterModelOptions(
            name='trainingrun',
            options={'ordering': ['-created_at', '-id']},
        ),
        migrations.AddField(
            model_name='generationjob',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text='Runs started, retries included.'),
        ),
        migrations.RenameField(model_name='generationjob', old_name='slices_done', new_name='done'),
        migrations.AlterField(
            model_name='generationjob',
            name='done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='generationjob',
            name='error',
            field=models.TextField(blank=True, help_text='Why the job failed (one line).'),
        ),
        migrations.AddField(
            model_name='generationjob',
            name='result',
            field=models.JSONField(blank=True, default=dict, help_text='A summary of what the job made.'),
        ),
        migrations.RenameField(model_name='generationjob', old_name='slices_total', new_name='total'),
        migrations.AlterField(
            model_name='generationjob',
            name='total',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='trainingrun',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text='Runs started, retries included.'),
        ),
        migrations.RenameField(model_name='trainingrun', old_name='iteration', new_name='done'),
        migrations.AlterField(
            model_name='trainingrun',
            name='done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='trainingrun',
            name='error',
            field=models.TextField(blank=True, help_text='Why the job failed (one line).'),
        ),
        migrations.AddField(
            model_name='trainingrun',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text="The running worker's last sign of life.", null=True),
        ),
        migrations.AddField(
            model_name='trainingrun',
            name='result',
            field=models.JSONField(blank=True, default=dict, help_text='A summary of what the job made.'),
        ),
        migrations.AddField(
            model_name='trainingrun',
            name='run_started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='trainingrun',
            name='run_started_done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='trainingrun',
            name='started_at',
            field=models.DateTimeField(blank=True, help_text='When the first run started.', null=True),
        ),
        migrations.RenameField(model_name='trainingrun', old_name='iterations_total', new_name='total'),
        migrations.AlterField(
            model_name='trainingrun',
            name='total',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='generationjob',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text="The running worker's last sign of life.", null=True),
        ),
        migrations.AlterField(
            model_name='generationjob',
            name='message',
            field=models.TextField(blank=True, help_text='What the job is doing, or what it did.'),
        ),
        migrations.AlterField(
            model_name='generationjob',
            name='run_started_done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='generationjob',
            name='started_at',
            field=models.DateTimeField(blank=True, help_text='When the first run started.', null=True),
        ),
        migrations.AlterField(
            model_name='generationjob',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16),
        ),
        migrations.AlterField(
            model_name='generationjob',
            name='task_id',
            field=models.CharField(blank=True, help_text='The Celery task of the current run.', max_length=64),
        ),
        migrations.AlterField(
            model_name='trainingrun',
            name='message',
            field=models.TextField(blank=True, help_text='What the job is doing, or what it did.'),
        ),
        migrations.AlterField(
            model_name='trainingrun',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16),
        ),
        migrations.AlterField(
            model_name='trainingrun',
            name='task_id',
            field=models.CharField(blank=True, help_text='The Celery task of the current run.', max_length=64),
        ),
        migrations.RunPython(jobs_keep_their_history, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='generationjob',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed'])), name='generation_generationjob_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='generationjob',
            constraint=models.CheckConstraint(condition=models.Q(('done__lte', models.F('total'))), name='generation_generationjob_done_le_total'),
        ),
        migrations.AddConstraint(
            model_name='generationjob',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ('done', 'failed')), _negated=True), ('finished_at__isnull', False), _connector='OR'), name='generation_generationjob_finished_has_finished_at'),
        ),
        migrations.AddConstraint(
            model_name='trainingrun',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed'])), name='generation_trainingrun_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='trainingrun',
            constraint=models.CheckConstraint(condition=models.Q(('done__lte', models.F('total'))), name='generation_trainingrun_done_le_total'),
        ),
        migrations.AddConstraint(
            model_name='trainingrun',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ('done', 'failed')), _negated=True), ('finished_at__isnull', False), _connector='OR'), name='generation_trainingrun_finished_has_finished_at'),
        ),
    ]
