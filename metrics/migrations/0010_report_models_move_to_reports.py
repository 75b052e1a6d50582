"""Report jobs and the download log move to the reports app: their tables are renamed to reports_* here and the
models leave this app's state; reports 0001 takes them into its state without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0009_jobs_sent_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="reportjob", table="reports_reportjob"),
                migrations.AlterModelTable(name="downloadlog", table="reports_downloadlog"),
            ],
            state_operations=[
                migrations.DeleteModel(name="ReportJob"),
                migrations.DeleteModel(name="DownloadLog"),
            ],
        ),
    ]
