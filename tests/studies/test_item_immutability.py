"""What a survey shows readers is frozen once it is opened, in PostgreSQL too (studies migration 0014): raw SQL,
as the application's database user, cannot change or delete an item or practice item of an open or closed
survey, nor move one into it, nor set the survey back to draft (which would unfreeze them) or delete it. A draft's
items still change (rendered again) and a draft survey is still deleted with its items."""

import pytest
from django.db import connection

from studies.design import StudyDesign
from studies.models import Item, PracticeItem, Survey
from studies.services import do_close_survey
from tests.studies.test_immutability import on_postgres, raw, refused, row

pytestmark = on_postgres

DESIGN = StudyDesign(practice_items=2)
CHANGES = {
    "payload": "UPDATE {table} SET payload = 'survey-items/other.i16' WHERE id = %s",
    "truth": "UPDATE {table} SET truth = CASE truth WHEN 'real' THEN 'synthetic' ELSE 'real' END WHERE id = %s",
    "no-op": "UPDATE {table} SET slice_id = slice_id WHERE id = %s",  # even a write that changes nothing
    "delete": "DELETE FROM {table} WHERE id = %s",
}


@pytest.fixture(params=["open", "closed"])
def frozen(request, make_survey):
    survey = make_survey(open_it=True, per_side=2, design=DESIGN)
    if request.param == "closed":
        survey = do_close_survey(survey=survey, actor=None)
    return survey


@pytest.mark.parametrize("model", [Item, PracticeItem], ids=["item", "practice item"])
@pytest.mark.parametrize("change", CHANGES)
def test_an_item_of_an_opened_survey_is_never_changed_or_deleted(frozen, model, change):
    table = model._meta.db_table
    item = model.objects.filter(survey=frozen).first()
    before = row(table, item.pk)
    sql = CHANGES[change].format(table=table)
    operation = sql.split()[0]
    says = (
        f"{operation} of item {item.pk} refused: survey {frozen.pk} is {frozen.status}, its items are frozen"
    )
    refused(sql, [item.pk], says=says)
    assert row(table, item.pk) == before


@pytest.mark.parametrize("model", [Item, PracticeItem], ids=["item", "practice item"])
def test_no_item_moves_into_an_opened_survey(make_survey, model):
    opened = make_survey(open_it=True, per_side=2, design=DESIGN)
    draft = make_survey(per_side=2, design=DESIGN, seed=8)
    table = model._meta.db_table
    item = model.objects.filter(survey=draft).first()
    refused(
        f"UPDATE {table} SET survey_id = %s WHERE id = %s",
        [opened.pk, item.pk],
        says="cannot move into survey",
    )  # noqa: S608
    assert model.objects.get(pk=item.pk).survey_id == draft.pk


def test_a_survey_is_never_set_back_to_draft_nor_reopened(make_survey):
    survey = make_survey(open_it=True, per_side=2)
    refused(
        "UPDATE studies_survey SET status = 'draft' WHERE id = %s", [survey.pk], says="only moves forward"
    )
    do_close_survey(survey=survey, actor=None)
    for status in ("draft", "open"):
        refused(
            f"UPDATE studies_survey SET status = '{status}' WHERE id = %s",  # noqa: S608
            [survey.pk],
            says="only moves forward (closed to",
        )
    assert Survey.objects.get(pk=survey.pk).status == "closed"
    raw("UPDATE studies_survey SET name = 'Renamed' WHERE id = %s", [survey.pk])  # renaming stays allowed


def test_an_opened_survey_is_never_deleted(make_survey):
    survey = make_survey(open_it=True, per_side=2, design=DESIGN)
    refused("DELETE FROM studies_survey WHERE id = %s", [survey.pk], says="only a draft survey is deleted")
    items = Item.objects.filter(survey=survey).count()
    assert items == 4 and PracticeItem.objects.filter(survey=survey).count() == 2


def test_a_draft_survey_s_items_still_change_and_it_is_deleted_with_them(make_survey):
    survey = make_survey(per_side=2, design=DESIGN)
    item = Item.objects.filter(survey=survey).first()
    raw("UPDATE studies_item SET payload_sha256 = '' WHERE id = %s", [item.pk])
    assert Item.objects.get(pk=item.pk).payload_sha256 == ""
    raw("UPDATE studies_survey SET status = 'open', opened_at = now() WHERE id = %s", [survey.pk])  # forward
    raw("UPDATE studies_survey SET status = 'closed', closed_at = now() WHERE id = %s", [survey.pk])
    draft = make_survey(per_side=2, design=DESIGN, seed=9)
    draft.delete()
    assert not Item.objects.filter(survey_id=draft.pk).exists()
    assert not PracticeItem.objects.filter(survey_id=draft.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM studies_survey WHERE id = %s", [draft.pk])
        assert cursor.fetchone() == (0,)
