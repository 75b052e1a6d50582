"""What the database itself enforces about the audit trail and other append-only tables.

PostgreSQL triggers (installed by migrations through :func:`postgres_only`) refuse UPDATE and DELETE on rows that
are never changed: audit events, answer revisions, download logs. On SQLite (the laptop demo) nothing is installed
and a notice is logged (INFO): there the rule rests on the code alone.
"""

import logging

from django.db import migrations

logger = logging.getLogger(__name__)

# The one PostgreSQL function every append-only table's trigger calls (created by audit's migration 0002).
REFUSE_CHANGE_FUNCTION = "blindread_refuse_change"

REFUSE_CHANGE_SQL = f"""
CREATE OR REPLACE FUNCTION {REFUSE_CHANGE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def append_only_sql(table: str) -> tuple[str, str]:
    """(forward, backward) SQL of the trigger that refuses UPDATE and DELETE on every row of `table`."""
    trigger = f"{table}_append_only"
    forward = (
        f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {REFUSE_CHANGE_FUNCTION}();"
    )
    return forward, f"DROP TRIGGER IF EXISTS {trigger} ON {table};"


def postgres_only(forward_sql: str, backward_sql: str, *, what: str) -> migrations.RunPython:
    """A migration operation that runs `forward_sql` (and `backward_sql` when unapplied) on PostgreSQL only; on any
    other database it logs that `what` is not enforced there."""

    def run(sql):
        def operation(apps, schema_editor):
            if schema_editor.connection.vendor != "postgresql":
                # Expected on the laptop default: `make run` says it once in plain words.
                logger.info(
                    "%s: not enforced on %s (PostgreSQL triggers only)", what, schema_editor.connection.vendor
                )
                return
            schema_editor.execute(sql, params=None)  # no placeholders: PL/pgSQL uses % itself

        return operation

    return migrations.RunPython(run(forward_sql), run(backward_sql), hints={"what": what})
