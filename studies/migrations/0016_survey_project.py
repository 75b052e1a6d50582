"""Every survey belongs to a project; the existing ones to the default project (projects 0002)."""

import django.db.models.deletion
from django.db import migrations, models

DEFAULT_PROJECT = "Default project"


def surveys_to_the_default_project(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    Survey = apps.get_model("studies", "Survey")
    if not Survey.objects.exists():
        return
    project, _ = Project.objects.get_or_create(name=DEFAULT_PROJECT)
    Survey.objects.filter(project__isnull=True).update(project=project)


class Migration(migrations.Migration):

    dependencies = [
        ('projects', '0002_default_project'),
        ('studies', '0015_survey_reader_text_in_italian'),
    ]

    operations = [
        migrations.AddField(
            model_name='survey',
            name='project',
            field=models.ForeignKey(null=True, help_text='The project that owns the survey; only its members see it.', on_delete=django.db.models.deletion.PROTECT, related_name='surveys', to='projects.project'),
        ),
        migrations.RunPython(surveys_to_the_default_project, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='survey',
            name='project',
            field=models.ForeignKey(help_text='The project that owns the survey; only its members see it.', on_delete=django.db.models.deletion.PROTECT, related_name='surveys', to='projects.project'),
        ),
    ]
