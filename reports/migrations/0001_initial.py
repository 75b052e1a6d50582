"""Report jobs and the download log, moved here from metrics with their rows: metrics 0010 renamed their tables to
reports_*; this migration takes the models into this app's state without touching the tables, and on PostgreSQL
renames what still carries the old app's name: the report job's check constraints (named after their app) and the
download log's append-only trigger (audit.database), which the table rename kept working."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from audit.database import postgres_only

CONSTRAINTS = ("status_valid", "done_le_total", "finished_has_finished_at")


def _renames(old: str, new: str) -> str:
    statements = [
        f"ALTER TABLE reports_reportjob RENAME CONSTRAINT {old}_reportjob_{name} TO {new}_reportjob_{name};"
        for name in CONSTRAINTS
    ]
    statements.append(
        f"ALTER TRIGGER {old}_downloadlog_append_only ON reports_downloadlog "
        f"RENAME TO {new}_downloadlog_append_only;"
    )
    return "\n".join(statements)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("metrics", "0010_report_models_move_to_reports"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DownloadLog',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('what', models.CharField(choices=[('answers_csv', 'Answers (CSV)'), ('data_dictionary', 'Data dictionary (CSV)'), ('stats_json', 'Statistics (JSON)'), ('metrics_csv', 'Image-distribution metrics (CSV)'), ('pdf', 'Report (PDF)'), ('answers_json', 'Answers (JSON)'), ('metrics_json', 'Image-distribution metrics (JSON)'), ('practice_csv', 'Practice answers (CSV)')], max_length=32)),
                        ('via', models.CharField(choices=[('web', 'Browser'), ('command', 'Command line'), ('api', 'REST API')], max_length=16)),
                        ('surveys', models.JSONField(blank=True, default=list, help_text='Survey names in the download.')),
                        ('models_compared', models.JSONField(blank=True, default=list, help_text='Model names in the download.')),
                        ('byte_size', models.PositiveBigIntegerField(default=0)),
                        ('sha256', models.CharField(blank=True, max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-created_at', '-id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('what__in', ['answers_csv', 'data_dictionary', 'stats_json', 'metrics_csv', 'pdf', 'answers_json', 'metrics_json', 'practice_csv'])), name='download_log_what_valid'), models.CheckConstraint(condition=models.Q(('via__in', ['web', 'command', 'api'])), name='download_log_via_valid')],
                    },
                ),
                migrations.CreateModel(
                    name='ReportJob',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, help_text='When the first run started.', null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, help_text="The running worker's last sign of life.", null=True)),
                        ('run_started_at', models.DateTimeField(blank=True, null=True)),
                        ('run_started_done', models.PositiveBigIntegerField(default=0)),
                        ('done', models.PositiveBigIntegerField(default=0)),
                        ('total', models.PositiveBigIntegerField(default=0)),
                        ('message', models.TextField(blank=True, help_text='What the job is doing, or what it did.')),
                        ('error', models.TextField(blank=True, help_text='Why the job failed (one line).')),
                        ('result', models.JSONField(blank=True, default=dict, help_text='A summary of what the job made.')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, help_text='Runs started, retries included.')),
                        ('task_id', models.CharField(blank=True, help_text='The Celery task of the current run.', max_length=64)),
                        ('sent_at', models.DateTimeField(blank=True, help_text='When the job was last sent to its queue (empty: no worker is expected to take it).', null=True)),
                        ('send_failed', models.BooleanField(default=False, help_text='The last send found the broker unreachable; the next sweep sends it again.')),
                        ('survey_ids', models.JSONField(help_text='The surveys of the report, in the order shown.')),
                        ('selection_key', models.CharField(db_index=True, help_text='sha256 of the survey ids.', max_length=64)),
                        ('title', models.CharField(blank=True, max_length=300)),
                        ('answer_count', models.PositiveIntegerField(default=0)),
                        ('revision_count', models.PositiveIntegerField(default=0)),
                        ('last_answer_at', models.DateTimeField(blank=True, null=True)),
                        ('stats_json', models.CharField(blank=True, help_text='Storage name of the statistics JSON.', max_length=255)),
                        ('stats_sha256', models.CharField(blank=True, max_length=64)),
                        ('pdf', models.CharField(blank=True, help_text='Storage name of the PDF.', max_length=255)),
                        ('pdf_sha256', models.CharField(blank=True, max_length=64)),
                        ('page_html', models.CharField(blank=True, help_text="Storage name of the report page's body.", max_length=255)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-created_at', '-id'],
                        'abstract': False,
                        'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed'])), name='reports_reportjob_status_valid'), models.CheckConstraint(condition=models.Q(('done__lte', models.F('total'))), name='reports_reportjob_done_le_total'), models.CheckConstraint(condition=models.Q(models.Q(('status__in', ('done', 'failed')), _negated=True), ('finished_at__isnull', False), _connector='OR'), name='reports_reportjob_finished_has_finished_at')],
                    },
                ),
            ],
            database_operations=[
                postgres_only(
                    _renames("metrics", "reports"),
                    _renames("reports", "metrics"),
                    what="download logs are append-only",
                ),
            ],
        ),
    ]
