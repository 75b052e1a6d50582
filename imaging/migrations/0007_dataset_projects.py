"""Datasets are used by projects (several may share one); the existing ones by the default project."""

from django.db import migrations, models

DEFAULT_PROJECT = "Default project"


def datasets_to_the_default_project(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    Dataset = apps.get_model("imaging", "Dataset")
    if not Dataset.objects.exists():
        return
    project, _ = Project.objects.get_or_create(name=DEFAULT_PROJECT)
    project.datasets.add(*Dataset.objects.all())


class Migration(migrations.Migration):

    dependencies = [
        ('imaging', '0006_importjob_from_pacs'),
        ('projects', '0002_default_project'),
    ]

    operations = [
        migrations.AddField(
            model_name='dataset',
            name='projects',
            field=models.ManyToManyField(blank=True, help_text='The projects that use the dataset; only their members see it.', related_name='datasets', to='projects.project'),
        ),
        migrations.RunPython(datasets_to_the_default_project, migrations.RunPython.noop),
    ]
