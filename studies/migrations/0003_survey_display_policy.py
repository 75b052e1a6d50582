"""The survey's display policy becomes one value object stored as JSON (studies.policy.DisplayPolicy).

Existing surveys keep exactly how their items were rendered: a survey without a field of view kept each slice's
own, so it is marked as such (new surveys get one field of view for the whole survey by default).
"""

from django.db import migrations, models

import studies.models

POLICY_COLUMNS = (
    "matrix_size",
    "hu_min",
    "hu_max",
    "interpolation",
    "mask",
    "field_of_view_mm",
    "default_window_width",
    "default_window_level",
)


def columns_to_policy(apps, schema_editor):
    Survey = apps.get_model("studies", "Survey")
    for survey in Survey.objects.all():
        policy = {name: getattr(survey, name) for name in POLICY_COLUMNS}
        policy["field_of_view"] = "survey" if policy["field_of_view_mm"] is not None else "per_slice"
        Survey.objects.filter(pk=survey.pk).update(display_policy=policy)


def policy_to_columns(apps, schema_editor):
    Survey = apps.get_model("studies", "Survey")
    for survey in Survey.objects.all():
        policy = survey.display_policy.to_dict()
        Survey.objects.filter(pk=survey.pk).update(**{name: policy[name] for name in POLICY_COLUMNS})


class Migration(migrations.Migration):
    dependencies = [("studies", "0002_study_groups")]

    operations = [
        migrations.AddField(
            model_name="survey",
            name="display_policy",
            field=studies.models.DisplayPolicyField(
                null=True,
                help_text="How every item is rendered and first shown (studies.policy.DisplayPolicy).",
            ),
        ),
        migrations.RunPython(columns_to_policy, policy_to_columns),
        migrations.RemoveConstraint(model_name="survey", name="survey_hu_range_ordered"),
        migrations.RemoveConstraint(model_name="survey", name="survey_matrix_16_to_2048"),
        migrations.RemoveConstraint(model_name="survey", name="survey_window_width_positive"),
        migrations.RemoveConstraint(model_name="survey", name="survey_field_of_view_positive"),
        *[migrations.RemoveField(model_name="survey", name=name) for name in POLICY_COLUMNS],
        migrations.AlterField(
            model_name="survey",
            name="display_policy",
            field=studies.models.DisplayPolicyField(
                help_text="How every item is rendered and first shown (studies.policy.DisplayPolicy)."
            ),
        ),
    ]
