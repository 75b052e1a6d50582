from django.db import migrations

from audit.database import append_only_sql, postgres_only

TRIGGER_SQL, DROP_TRIGGER_SQL = append_only_sql("metrics_downloadlog")


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0005_api_downloads"),
        ("audit", "0002_audit_events_append_only"),
    ]

    operations = [
        postgres_only(TRIGGER_SQL, DROP_TRIGGER_SQL, what="download logs are append-only"),
    ]
