"""The archive format covers every field: each field of every model whose rows go into a study archive is either
archived (written, and for studies' tables restored, from one declaration per model) or listed as deliberately left
out with its reason; every model of the studies app is archived or said not to be. Adding a field to Answer without
deciding fails here. What the declarations call archived is really in an exported archive, and comes back
unchanged when the archive is imported into an empty database."""

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from archives.export import build_archive
from archives.format import read_archive
from audit import archive as audit_archive
from generation import archive as generation_archive
from imaging import archive as imaging_archive
from reports.selectors import ARCHIVED_READER_PREFIX, reader_pseudonyms
from studies import archive as studies_archive
from studies.models import Answer, ReaderProfile, Survey
from studies.services import do_update_reader_profile
from tests.archives.test_archive_design import designed_and_closed
from tests.conftest import stored_files

DECLARATIONS = [
    *studies_archive.ARCHIVED,
    *imaging_archive.ARCHIVED,
    *generation_archive.ARCHIVED,
    *audit_archive.ARCHIVED,
]


def model_fields(model) -> set[str]:
    return {f.name for f in model._meta.concrete_fields} | {f.name for f in model._meta.many_to_many}


def coverage_problems(declaration) -> list[str]:
    """What a declaration leaves undecided, decides twice, or names that the model does not have."""
    label = declaration.model._meta.label
    fields = model_fields(declaration.model)
    archived, left_out = declaration.archived, set(declaration.left_out)
    problems = [
        f"{label}.{name} is neither archived nor left out" for name in sorted(fields - archived - left_out)
    ]
    problems += [f"{label}.{name} is both archived and left out" for name in sorted(archived & left_out)]
    problems += [f"{label}.{name} is not a field" for name in sorted((archived | left_out) - fields)]
    problems += [
        f"{label}.{name} is left out without a reason"
        for name, why in declaration.left_out.items()
        if not why
    ]
    return problems


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.model._meta.label)
def test_every_field_of_an_archived_model_is_archived_or_left_out_with_a_reason(declaration):
    assert coverage_problems(declaration) == []


def test_a_field_added_to_answers_without_a_decision_fails_the_coverage_check():
    copied = tuple(name for name in studies_archive.ANSWERS.copied if name != "rating")
    undecided = dataclasses.replace(studies_archive.ANSWERS, copied=copied)
    assert coverage_problems(undecided) == ["studies.Answer.rating is neither archived nor left out"]
    misspelt = dataclasses.replace(studies_archive.ANSWERS, left_out={"id": "x", "ratting": "typo"})
    assert "studies.Answer.ratting is not a field" in coverage_problems(misspelt)


def test_every_model_of_the_studies_app_is_archived_or_said_not_to_be():
    archived = {declaration.model for declaration in studies_archive.ARCHIVED}
    for model in apps.get_app_config("studies").get_models():
        assert model in archived or studies_archive.NOT_ARCHIVED.get(model), model._meta.label


def rows_by_table(survey) -> dict[str, list[str]]:
    """Every studies row of `survey` as its declaration dumps it, comparable across databases."""
    tables = studies_archive
    querysets = [
        (tables.SURVEYS, Survey.objects.filter(pk=survey.pk)),
        (tables.ITEMS, survey.items.all()),
        (tables.PRACTICE_ITEMS, survey.practice_items.all()),
        (tables.ASSIGNMENTS, survey.assignments.filter(is_audit=False)),
        (tables.INVITATIONS, survey.invitations.all()),
        (tables.ANSWERS, Answer.objects.filter(item__survey=survey)),
        (tables.REVISIONS, tables.REVISIONS.model.objects.filter(answer__item__survey=survey)),
        (tables.PRACTICE_ANSWERS, tables.PRACTICE_ANSWERS.model.objects.filter(practice_item__survey=survey)),
        (tables.ROUNDS, tables.ROUNDS.model.objects.filter(assignment__survey=survey)),
        (tables.REPEAT_ANSWERS, tables.REPEAT_ANSWERS.model.objects.filter(item__survey=survey)),
    ]
    return {
        table.table: sorted(json.dumps(table.dump(row), sort_keys=True, default=str) for row in rows)
        for table, rows in querysets
    }


@pytest.mark.django_db(transaction=True)
def test_what_the_declarations_archive_is_in_the_archive_and_comes_back_unchanged(
    make_survey, join, tmp_path, media_root
):
    survey = designed_and_closed(make_survey, join, per_side=2)
    reader = survey.assignments.order_by("id").first().reader
    do_update_reader_profile(user=reader, specialty="radiology", years_of_experience=12)
    pseudonym = reader_pseudonyms([reader.pk])[reader.pk]
    before = rows_by_table(survey)
    assert all(before.values())  # every table has rows, so every declared key is looked for
    content = build_archive([survey])
    archive = read_archive(content)
    for table in studies_archive.ARCHIVED:
        if table.table.endswith(".json") and table.table != studies_archive.SURVEYS.table:
            rows = archive.json(f"surveys/01/{table.table}")
            for row in rows:
                missing = table.archive_keys - set(row)
                assert not missing, (table.model._meta.label, missing)
    survey_row = archive.json("surveys/01/survey.json")
    assert studies_archive.SURVEYS.archive_keys <= set(survey_row)
    path = tmp_path / "study.zip"
    path.write_bytes(content)

    call_command("flush", interactive=False)
    shutil.rmtree(media_root)
    media_root.mkdir()
    assert not stored_files(media_root)
    call_command("import_study", str(path))
    restored = Survey.objects.get(name=survey.name)
    assert rows_by_table(restored) == before
    profile = ReaderProfile.objects.get(user__username=f"{ARCHIVED_READER_PREFIX}{pseudonym}")
    assert (profile.specialty, profile.years_of_experience) == ("radiology", 12)


def test_rows_are_inserted_raw_only_by_the_studies_service_that_owns_them():
    """Restoring keeps archived times by inserting rows raw; only studies.archive.restore may do that."""
    root = Path(__file__).resolve().parents[2]
    sources = [
        path
        for path in root.glob("*/**/*.py")
        if path.parts[len(root.parts)] not in ("tests", "benchmarks", ".venv", "var")
    ]
    raw = sorted(
        str(path.relative_to(root))
        for path in sources
        if re.search(r"save_base\(\s*raw\s*=\s*True|raw\s*=\s*True\)|_raw_insert", path.read_text())
    )
    assert raw == ["studies/archive/restore.py"]
