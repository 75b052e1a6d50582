"""The study-design tables keep their history too, enforced by PostgreSQL (as migration 0005 does for answers).

- studies_practiceanswer, studies_repeatanswer: written once by their services, never changed: append-only
  (UPDATE and DELETE refused).
- studies_readinground: never deleted; its reader, number, frozen item order, opening time (the wash-out) and
  creation time never change; `completed_at` is set once (the reader confirming the end) and never changed or
  cleared after.
The answer guard of migration 0005 already covers `rating` and `invert_used`: it compares every column an answer
shares with its revisions, read from the catalogue when the trigger runs.
"""

from django.db import migrations

from audit.database import append_only_sql, postgres_only

PRACTICE_APPEND_ONLY, DROP_PRACTICE_APPEND_ONLY = append_only_sql("studies_practiceanswer")
REPEAT_APPEND_ONLY, DROP_REPEAT_APPEND_ONLY = append_only_sql("studies_repeatanswer")

ROUND_GUARD = r"""
CREATE OR REPLACE FUNCTION blindread_round_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'studies_readinground rows are never deleted: DELETE of round % refused', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.assignment_id IS DISTINCT FROM OLD.assignment_id
            OR NEW.number IS DISTINCT FROM OLD.number OR NEW.item_order::jsonb IS DISTINCT FROM OLD.item_order::jsonb
            OR NEW.opens_at IS DISTINCT FROM OLD.opens_at OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'round %: its reader, number, item order, opening time and creation time never change',
            OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.completed_at IS NOT NULL AND NEW.completed_at IS DISTINCT FROM OLD.completed_at THEN
        RAISE EXCEPTION 'round %: its end is confirmed once and never changed', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER studies_readinground_guarded BEFORE UPDATE OR DELETE ON studies_readinground
    FOR EACH ROW EXECUTE FUNCTION blindread_round_guard();
"""

DROP_ROUND_GUARD = """
DROP TRIGGER IF EXISTS studies_readinground_guarded ON studies_readinground;
DROP FUNCTION IF EXISTS blindread_round_guard();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0009_repeat_reading"),
        ("audit", "0002_audit_events_append_only"),
    ]

    operations = [
        postgres_only(
            PRACTICE_APPEND_ONLY + REPEAT_APPEND_ONLY + ROUND_GUARD,
            DROP_ROUND_GUARD + DROP_REPEAT_APPEND_ONLY + DROP_PRACTICE_APPEND_ONLY,
            what="practice and repeat answers are append-only; reading rounds change only by their end",
        ),
    ]
