"""What a survey shows readers is frozen once it is opened, enforced by PostgreSQL (as 0005 and 0010 do for answers).

- studies_item, studies_practiceitem: changed (a draft rendered again) or deleted (a draft deleted) only while
  their survey is a draft; UPDATE and DELETE of an item of an open or closed survey are refused, and no item moves
  into such a survey. Inserts are not guarded: a survey is created as a draft, and an archive import inserts the
  items of the closed survey it restores.
- studies_survey: its status only moves forward (draft, open, closed; never back, so the items guard cannot be
  side-stepped by setting a survey back to draft), and only a draft survey is deleted.
"""

from django.db import migrations

from audit.database import postgres_only

FORWARD = r"""
CREATE OR REPLACE FUNCTION blindread_survey_item_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was text;
    now_in text;
BEGIN
    SELECT s.status INTO was FROM studies_survey s WHERE s.id = OLD.survey_id;
    IF was IS DISTINCT FROM 'draft' AND was IS NOT NULL THEN
        RAISE EXCEPTION '%: % of item % refused: survey % is %, its items are frozen',
            TG_TABLE_NAME, TG_OP, OLD.id, OLD.survey_id, was USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.survey_id IS DISTINCT FROM OLD.survey_id THEN
        SELECT s.status INTO now_in FROM studies_survey s WHERE s.id = NEW.survey_id;
        IF now_in IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION '%: item % cannot move into survey %, which is %',
                TG_TABLE_NAME, OLD.id, NEW.survey_id, now_in USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION blindread_survey_status_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'survey %: only a draft survey is deleted (it is %)', OLD.id, OLD.status
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF (OLD.status = 'open' AND NEW.status = 'draft') OR (OLD.status = 'closed' AND NEW.status <> 'closed') THEN
        RAISE EXCEPTION 'survey %: its status only moves forward (% to % refused)', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER studies_item_frozen_once_opened BEFORE UPDATE OR DELETE ON studies_item
    FOR EACH ROW EXECUTE FUNCTION blindread_survey_item_guard();
CREATE TRIGGER studies_practiceitem_frozen_once_opened BEFORE UPDATE OR DELETE ON studies_practiceitem
    FOR EACH ROW EXECUTE FUNCTION blindread_survey_item_guard();
CREATE TRIGGER studies_survey_status_forward BEFORE UPDATE OR DELETE ON studies_survey
    FOR EACH ROW EXECUTE FUNCTION blindread_survey_status_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS studies_survey_status_forward ON studies_survey;
DROP TRIGGER IF EXISTS studies_practiceitem_frozen_once_opened ON studies_practiceitem;
DROP TRIGGER IF EXISTS studies_item_frozen_once_opened ON studies_item;
DROP FUNCTION IF EXISTS blindread_survey_status_guard();
DROP FUNCTION IF EXISTS blindread_survey_item_guard();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0013_blindingaudit_sent_at"),
        ("audit", "0002_audit_events_append_only"),
    ]

    operations = [
        postgres_only(
            FORWARD,
            BACKWARD,
            what="items of an opened survey are frozen; a survey's status only moves forward",
        ),
    ]
