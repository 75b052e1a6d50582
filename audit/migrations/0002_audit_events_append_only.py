from django.db import migrations

from audit.database import REFUSE_CHANGE_FUNCTION, REFUSE_CHANGE_SQL, append_only_sql, postgres_only

TRIGGER_SQL, DROP_TRIGGER_SQL = append_only_sql("audit_auditevent")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        postgres_only(
            REFUSE_CHANGE_SQL + TRIGGER_SQL,
            DROP_TRIGGER_SQL + f"DROP FUNCTION IF EXISTS {REFUSE_CHANGE_FUNCTION}();",
            what="audit events are append-only",
        ),
    ]
