"""The data migration: the members of the three global groups become members of one default project (the most
trusted group wins), and that project owns every survey and uses every dataset and checkpoint made before."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("projects", "0001_initial"),
    ("studies", "0014_items_frozen_once_opened"),
    ("imaging", "0006_importjob_from_pacs"),
    ("generation", "0004_synthetic_slices_ordered_by_output"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_group_members_and_existing_objects_join_the_default_project():
    old = migrate(BEFORE)
    User, Group = old.get_model("auth", "User"), old.get_model("auth", "Group")
    Dataset = old.get_model("imaging", "Dataset")
    Survey = old.get_model("studies", "Survey")
    people = {}
    for name, groups in {"ada": ["admin", "researcher"], "rob": ["researcher"], "rea": ["reader"]}.items():
        people[name] = User.objects.create(username=name)
        for group in groups:
            people[name].groups.add(Group.objects.get_or_create(name=group)[0])
    User.objects.create(username="nobody")
    real = Dataset.objects.create(name="Real", kind="real_ct", contrast_enhanced=False)
    model = Dataset.objects.create(name="Model", kind="synthetic_ct", contrast_enhanced=False)
    Survey.objects.create(
        name="Old survey",
        model_dataset=model,
        model_alias="m",
        real_dataset=real,
        real_count=1,
        synthetic_count=1,
        seed=1,
        display_policy={},
    )

    new = migrate(
        [
            ("projects", "0002_default_project"),
            ("studies", "0016_survey_project"),
            ("imaging", "0008_importjob_project"),
            ("generation", "0005_checkpoint_projects"),
        ]
    )
    Project = new.get_model("projects", "Project")
    project = Project.objects.get()
    assert project.name == "Default project"
    roles = dict(project.memberships.values_list("user__username", "role"))
    assert roles == {"ada": "study_admin", "rob": "researcher", "rea": "reader"}
    assert new.get_model("studies", "Survey").objects.get().project_id == project.pk
    assert set(project.datasets.values_list("name", flat=True)) == {"Real", "Model"}
    migrate(executor_leaf())


def executor_leaf():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
