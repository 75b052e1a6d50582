"""Migration 0017 (catch trials): the designs stored before it gain the new options at their defaults, and on
PostgreSQL an opened survey's design is frozen from then on."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from studies.models import Survey
from tests.studies.test_immutability import on_postgres, refused

NEW_OPTIONS = ("catch_items", "qc_min_catch_percent", "qc_min_median_seconds", "qc_max_run")


def stored_design(pk: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT design FROM studies_survey WHERE id = %s", [pk])
        value = cursor.fetchone()[0]
    return value if isinstance(value, dict) else json.loads(value)


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_stored_designs_gain_the_new_options_and_an_opened_one_is_frozen(make_survey):
    survey = make_survey(per_side=2, open_it=True)
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        MigrationExecutor(connection).migrate([("studies", "0018_slab_items")])
        with connection.cursor() as cursor:  # a design as stored before the options existed
            cursor.execute(
                "UPDATE studies_survey SET design = design - %s - %s - %s - %s WHERE id = %s",
                [*NEW_OPTIONS, survey.pk],
            )
        assert not set(NEW_OPTIONS) & set(stored_design(survey.pk))
    finally:
        MigrationExecutor(connection).migrate(latest)
    design = stored_design(survey.pk)
    assert {name: design[name] for name in NEW_OPTIONS} == dict.fromkeys(NEW_OPTIONS, 0)
    assert Survey.objects.get(pk=survey.pk).design.quality_rules.any is False
    refused(
        "UPDATE studies_survey SET design = design || '{\"qc_max_run\": 3}'::jsonb WHERE id = %s",
        [survey.pk],
        says="its study design is frozen once opened",
    )
