"""A 2AFC survey's pairs, readers' plans and pair answers go into a study archive (format 5) and come back unchanged
when it is imported into an empty database."""

import shutil

import pytest
from django.core.management import call_command
from django.utils import timezone

from archives.export import build_archive
from archives.format import read_archive
from studies import archive as studies_archive
from studies.design import StudyDesign
from studies.models import ItemPair, PairAnswer, Survey
from studies.services import do_answer_pair
from tests.conftest import stored_files


def pair_state(survey) -> dict:
    """The survey's pairs, plans and answers by public ids and pseudonym-free readers' order."""
    items = dict(survey.items.values_list("pk", "public_id"))
    pairs = {p.pk: p for p in ItemPair.objects.filter(survey=survey)}
    return {
        "pairs": sorted(
            (p.public_id, p.axial_layer, items[p.real_item_id], items[p.synthetic_item_id])
            for p in pairs.values()
        ),
        "plans": sorted(
            tuple((pairs[pk].public_id, side) for pk, side in a.pair_plan)
            for a in survey.assignments.filter(is_audit=False)
        ),
        "answers": sorted(
            (
                pairs[a.pair_id].public_id,
                a.side,
                a.real_side,
                a.correct,
                a.seconds,
                a.confidence,
                a.reason,
                a.answered_at.isoformat(),
            )
            for a in PairAnswer.objects.filter(pair__survey=survey)
        ),
    }


@pytest.mark.django_db(transaction=True)
def test_a_2afc_survey_survives_export_and_import(make_survey, join, tmp_path, media_root):
    survey = make_survey(
        name="Pairs study", per_side=3, design=StudyDesign(task="2afc", rating="five_point"), open_it=True
    )
    for confidence in (2, 5):
        assignment = join(survey)
        for pair_id, _side in assignment.pair_plan:
            pair = ItemPair.objects.get(pk=pair_id)
            do_answer_pair(
                assignment=assignment,
                pair_id=pair.public_id,
                values={"side": "left", "seconds": 1.5, "confidence": confidence, "reason": "edges"},
            )
    Survey.objects.filter(pk=survey.pk).update(status="closed", closed_at=timezone.now())
    survey.refresh_from_db()
    before = pair_state(survey)
    assert len(before["answers"]) == 6 and len(before["plans"]) == 2
    content = build_archive([survey])
    archive = read_archive(content)
    for table in (studies_archive.PAIRS, studies_archive.PAIR_ANSWERS):
        rows = archive.json(f"surveys/01/{table.table}")
        assert rows and all(table.archive_keys <= set(row) for row in rows)
    path = tmp_path / "pairs.zip"
    path.write_bytes(content)
    call_command("flush", interactive=False)
    shutil.rmtree(media_root)
    media_root.mkdir()
    assert not stored_files(media_root)
    call_command("import_study", str(path))
    restored = Survey.objects.get(name="Pairs study")
    assert restored.design.is_two_afc
    assert pair_state(restored) == before
