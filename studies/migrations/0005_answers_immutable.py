"""Answers change only through a new revision, and revisions never change, enforced by PostgreSQL.

- studies_answerrevision: append-only (UPDATE and DELETE refused).
- studies_answer: never deleted; its id, item and creation time never change. What an answer says (every column it
  shares with its revisions: choice, reason, times, window, client key, and any field added to both later, such as
  a rating) changes only when, in the same transaction, the revision numbered revision_count + 1 holding exactly
  the new values was inserted. The revision's insert trigger notes its id in the transaction-local setting
  `blindread.revisions_written`; the answer's update trigger looks for it there. Every other path (an UPDATE from a
  shell, an old revision replayed, values differing from the revision) is refused.
- A new answer must have, by the end of its transaction, the revision numbered revision_count holding its values
  (a deferred constraint trigger).
"""

from django.db import migrations

from audit.database import append_only_sql, postgres_only

REVISIONS_APPEND_ONLY, DROP_REVISIONS_APPEND_ONLY = append_only_sql("studies_answerrevision")

FORWARD = r"""
CREATE OR REPLACE FUNCTION blindread_answer_content_keys() RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(r.attname::text ORDER BY r.attname), '{}')
    FROM pg_attribute r
    JOIN pg_attribute a
        ON a.attrelid = 'studies_answer'::regclass AND a.attname = r.attname AND a.attnum > 0 AND NOT a.attisdropped
    WHERE r.attrelid = 'studies_answerrevision'::regclass AND r.attnum > 0 AND NOT r.attisdropped
        AND r.attname NOT IN ('id', 'created_at')
$$;

CREATE OR REPLACE FUNCTION blindread_same_answer_content(one jsonb, other jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(bool_and(one -> k IS NOT DISTINCT FROM other -> k), true)
    FROM unnest(blindread_answer_content_keys()) AS k
$$;

CREATE OR REPLACE FUNCTION blindread_note_revision_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config(
        'blindread.revisions_written',
        concat_ws(',', nullif(current_setting('blindread.revisions_written', true), ''), NEW.id::text),
        true
    );
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION blindread_answer_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    revision_row jsonb;
    written text[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'studies_answer rows are never deleted: DELETE of answer % refused', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.item_id IS DISTINCT FROM OLD.item_id
            OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'answer %: its id, item and creation time never change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.revision_count = OLD.revision_count
            AND blindread_same_answer_content(to_jsonb(NEW), to_jsonb(OLD)) THEN
        RETURN NEW;  -- nothing the answer says changed
    END IF;
    IF NEW.revision_count IS DISTINCT FROM OLD.revision_count + 1 THEN
        RAISE EXCEPTION 'answer %: a change is one new revision (revision_count % to % refused)',
            OLD.id, OLD.revision_count, NEW.revision_count USING ERRCODE = 'restrict_violation';
    END IF;
    SELECT to_jsonb(r) INTO revision_row FROM studies_answerrevision r
        WHERE r.answer_id = NEW.id AND r.revision = NEW.revision_count;
    written := string_to_array(coalesce(current_setting('blindread.revisions_written', true), ''), ',');
    IF revision_row IS NULL OR NOT (revision_row ->> 'id') = ANY (written) THEN
        RAISE EXCEPTION 'answer %: changed without its revision % written in the same transaction',
            OLD.id, NEW.revision_count USING ERRCODE = 'restrict_violation';
    END IF;
    IF NOT blindread_same_answer_content(to_jsonb(NEW), revision_row) THEN
        RAISE EXCEPTION 'answer %: its new values differ from its revision %', OLD.id, NEW.revision_count
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION blindread_answer_has_its_revision() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    answer_row jsonb;
    revision_row jsonb;
BEGIN
    SELECT to_jsonb(a) INTO answer_row FROM studies_answer a WHERE a.id = NEW.id;
    IF answer_row IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT to_jsonb(r) INTO revision_row FROM studies_answerrevision r
        WHERE r.answer_id = NEW.id AND r.revision = (answer_row ->> 'revision_count')::integer;
    IF revision_row IS NULL OR NOT blindread_same_answer_content(answer_row, revision_row) THEN
        RAISE EXCEPTION 'answer %: stored without its revision % holding the same values',
            NEW.id, answer_row ->> 'revision_count' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER studies_answerrevision_noted AFTER INSERT ON studies_answerrevision
    FOR EACH ROW EXECUTE FUNCTION blindread_note_revision_written();
CREATE TRIGGER studies_answer_changes_by_revision BEFORE UPDATE OR DELETE ON studies_answer
    FOR EACH ROW EXECUTE FUNCTION blindread_answer_guard();
CREATE CONSTRAINT TRIGGER studies_answer_has_its_revision AFTER INSERT ON studies_answer
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION blindread_answer_has_its_revision();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS studies_answer_has_its_revision ON studies_answer;
DROP TRIGGER IF EXISTS studies_answer_changes_by_revision ON studies_answer;
DROP TRIGGER IF EXISTS studies_answerrevision_noted ON studies_answerrevision;
DROP FUNCTION IF EXISTS blindread_answer_has_its_revision();
DROP FUNCTION IF EXISTS blindread_answer_guard();
DROP FUNCTION IF EXISTS blindread_note_revision_written();
DROP FUNCTION IF EXISTS blindread_same_answer_content(jsonb, jsonb);
DROP FUNCTION IF EXISTS blindread_answer_content_keys();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0004_blinding_audit_jobs"),
        ("audit", "0002_audit_events_append_only"),
    ]

    operations = [
        postgres_only(
            REVISIONS_APPEND_ONLY + FORWARD,
            BACKWARD + DROP_REVISIONS_APPEND_ONLY,
            what="answers change only through a new revision; revisions are append-only",
        ),
    ]
