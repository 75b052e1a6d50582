"""Checkpoints are used by projects (several may share one); the existing ones by the default project."""

from django.db import migrations, models

DEFAULT_PROJECT = "Default project"


def checkpoints_to_the_default_project(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    Checkpoint = apps.get_model("generation", "Checkpoint")
    if not Checkpoint.objects.exists():
        return
    project, _ = Project.objects.get_or_create(name=DEFAULT_PROJECT)
    project.checkpoints.add(*Checkpoint.objects.all())


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0004_synthetic_slices_ordered_by_output'),
        ('projects', '0002_default_project'),
    ]

    operations = [
        migrations.AddField(
            model_name='checkpoint',
            name='projects',
            field=models.ManyToManyField(blank=True, help_text='The projects that use the checkpoint; only their members see it.', related_name='checkpoints', to='projects.project'),
        ),
        migrations.RunPython(checkpoints_to_the_default_project, migrations.RunPython.noop),
    ]
