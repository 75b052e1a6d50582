"""Catch trials and reader quality control (studies.catch, studies.quality).

- studies_item.catch: a catch item (a synthetic slice with a drawn artefact), never part of a statistic; a catch
  item is synthetic.
- The existing surveys' designs gain the new options at their defaults (no catch items, no exclusion rule), so a
  stored design names every rule it is judged by.
- PostgreSQL refuses to change the study design of a survey that is no longer a draft: an UPDATE whose new design
  does not contain every option of the old one with its value (options a later version adds may be written, so
  a full save of a survey stored before them still works) is refused. The exclusion rules of reader quality
  control are frozen when the survey opens, at the database as in the services.
"""

import json

from django.db import migrations, models

from audit.database import postgres_only

NEW_OPTIONS = {"catch_items": 0, "qc_min_catch_percent": 0, "qc_min_median_seconds": 0.0, "qc_max_run": 0}


def designs_name_the_new_options(apps, schema_editor):
    # Raw rows: the model field would read each design back as a StudyDesign, defaults already filled in.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, design FROM studies_survey")
        rows = cursor.fetchall()
        for pk, design in rows:
            design = json.loads(design) if isinstance(design, str | bytes) else design
            if isinstance(design, dict) and any(name not in design for name in NEW_OPTIONS):
                cursor.execute(
                    "UPDATE studies_survey SET design = %s WHERE id = %s",
                    [json.dumps({**NEW_OPTIONS, **design}), pk],
                )


FORWARD = r"""
CREATE OR REPLACE FUNCTION blindread_survey_design_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'draft' AND NOT (NEW.design @> OLD.design) THEN
        RAISE EXCEPTION 'survey %: its study design is frozen once opened (it is %)', OLD.id, OLD.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER studies_survey_design_frozen_once_opened BEFORE UPDATE OF design ON studies_survey
    FOR EACH ROW EXECUTE FUNCTION blindread_survey_design_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS studies_survey_design_frozen_once_opened ON studies_survey;
DROP FUNCTION IF EXISTS blindread_survey_design_guard();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0018_slab_items"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="catch",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="A catch item: a synthetic slice with a drawn artefact, for reader quality control only.",
            ),
        ),
        migrations.AddConstraint(
            model_name="item",
            constraint=models.CheckConstraint(
                condition=models.Q(("catch", False), ("truth", "synthetic"), _connector="OR"),
                name="item_catch_is_synthetic",
            ),
        ),
        migrations.RunPython(designs_name_the_new_options, migrations.RunPython.noop),
        postgres_only(FORWARD, BACKWARD, what="the study design of an opened survey is frozen"),
    ]
