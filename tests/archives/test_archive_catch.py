"""A survey with catch items and exclusion rules round-trips through a study archive: the catch flag of every item,
the frozen rules and the report's reader quality control come back unchanged."""

import shutil

import pytest
from django.core.management import call_command

from reports.selectors import report_for
from studies.design import StudyDesign
from studies.models import Survey
from studies.services import do_close_survey
from studies.simulation import simulate_readers
from tests.conftest import stored_files

DESIGN = StudyDesign(catch_items=2, qc_min_catch_percent=50, qc_min_median_seconds=1.0, qc_max_run=20)


def quality(survey):
    (section,) = report_for([survey]).reader_quality.surveys
    return (
        section.rules,
        section.catch_items,
        [reader.to_dict() for reader in section.readers],
        section.excluded,
    )


@pytest.mark.django_db(transaction=True)
def test_catch_items_and_the_rules_round_trip(make_survey, tmp_path, media_root):
    survey = make_survey(name="Catch study", per_side=3, open_it=True, design=DESIGN)
    simulate_readers(survey, 3, seed=2, skill=0.3, careless=1)
    survey = do_close_survey(survey=survey, actor=None)
    catch_before = sorted(survey.items.values_list("public_id", "catch", "payload_sha256"))
    quality_before = quality(survey)
    assert len(quality_before[3]) == 1 and sum(catch for _, catch, _ in catch_before) == 2
    archive_path = tmp_path / "catch.zip"
    call_command("export_study", survey.name, out=str(archive_path))

    call_command("flush", interactive=False)
    shutil.rmtree(media_root)
    media_root.mkdir()
    assert not Survey.objects.exists() and not stored_files(media_root)

    call_command("import_study", str(archive_path))
    restored = Survey.objects.get(name="Catch study")
    assert restored.design == DESIGN
    assert sorted(restored.items.values_list("public_id", "catch", "payload_sha256")) == catch_before
    assert quality(restored) == quality_before
