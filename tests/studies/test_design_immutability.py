"""The study-design tables keep their history in PostgreSQL too (studies migrations 0005 and 0010): a rating or
the invert flag of an answer changes only through a new revision; practice and repeat answers are never updated or
deleted; a reading round keeps its order and wash-out and its end is confirmed once. Raw SQL, as the
application's database user, is refused and changes nothing."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from studies.design import StudyDesign
from studies.models import PracticeItem, ReadingRound
from studies.selectors import item_at, round_item_at
from studies.services import (
    do_complete_assignment,
    do_complete_round,
    do_submit_answer,
    do_submit_practice_answer,
    do_submit_repeat_answer,
    parse_answer_input,
)
from tests.studies.conftest import answer_body
from tests.studies.test_immutability import insert_revision_sql, on_postgres, refused, row

DESIGN = StudyDesign(rating="five_point", practice_items=2, repeat="all")


def data(**fields):
    return parse_answer_input(answer_body(**{"rating": 2, **fields}), DESIGN)


@pytest.fixture
def designed(make_survey, join):
    """A survey with a 5-point rating, two practice items and a second reading: one reader practised, read every
    item (rating 2, the first item inverted), confirmed the end and read the first item of the second round."""
    survey = make_survey(open_it=True, per_side=2, design=DESIGN, allow_going_back=True)
    assignment = join(survey)
    for pk in assignment.practice_order:
        do_submit_practice_answer(
            assignment=assignment, practice_item=PracticeItem.objects.get(pk=pk), data=data()
        )
    for position in range(1, assignment.total + 1):
        do_submit_answer(
            assignment=assignment, item=item_at(assignment, position), data=data(invert_used=position == 1)
        )
    do_complete_assignment(assignment=assignment)
    reading_round = ReadingRound.objects.get(assignment=assignment)
    repeat = do_submit_repeat_answer(
        reading_round=reading_round,
        item=round_item_at(reading_round, 1),
        data=data(rating=4, contradiction_confirmed=True),
    ).answer
    answer = assignment.answers.get(item=item_at(assignment, 1))
    return answer, assignment.practice_answers.first(), reading_round, repeat


@on_postgres
def test_a_rating_or_the_invert_flag_changed_without_a_revision_is_refused(designed):
    answer = designed[0]
    before = row("studies_answer", answer.pk)
    refused(
        "UPDATE studies_answer SET rating = 5 WHERE id = %s", [answer.pk], says="a change is one new revision"
    )
    refused(
        "UPDATE studies_answer SET invert_used = false WHERE id = %s",
        [answer.pk],
        says="a change is one new revision",
    )
    refused(
        "UPDATE studies_answer SET rating = 5, revision_count = 2 WHERE id = %s",
        [answer.pk],
        says="changed without its revision 2 written in the same transaction",
    )
    assert row("studies_answer", answer.pk) == before


@on_postgres
def test_a_rating_differing_from_its_new_revision_is_refused(designed):
    answer = designed[0]
    before = row("studies_answer", answer.pk)
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(*insert_revision_sql(answer, revision=2, rating=4))
        cursor.execute("UPDATE studies_answer SET rating = 5, revision_count = 2 WHERE id = %s", [answer.pk])
    assert "its new values differ from its revision 2" in str(caught.value)
    assert row("studies_answer", answer.pk) == before and answer.revisions.count() == 1


@on_postgres
def test_a_rating_changes_through_a_new_revision_in_the_same_transaction(designed):
    answer = designed[0]
    key = uuid.uuid4()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(*insert_revision_sql(answer, revision=2, rating=5, client_key=key))
        cursor.execute(
            "UPDATE studies_answer SET rating = 5, revision_count = 2, client_key = %s WHERE id = %s",
            [key, answer.pk],
        )
    answer.refresh_from_db()
    assert (answer.rating, answer.invert_used, answer.revision_count) == (5, True, 2)
    assert list(answer.revisions.values_list("rating", flat=True)) == [2, 5]


@on_postgres
def test_the_revision_service_changes_a_rating_and_the_invert_flag(designed):
    answer = designed[0]
    assignment = answer.assignment
    assignment.__class__.objects.filter(pk=assignment.pk).update(completed_at=None)
    result = do_submit_answer(
        assignment=assignment, item=answer.item, data=data(rating=1, invert_used=False, base_revision=1)
    )
    answer.refresh_from_db()
    assert not result.duplicate and (answer.rating, answer.invert_used, answer.revision_count) == (
        1,
        False,
        2,
    )
    assert list(answer.revisions.values_list("rating", "invert_used")) == [(2, True), (1, False)]


@on_postgres
@pytest.mark.parametrize(
    ("table", "index", "change"),
    [
        ("studies_practiceanswer", 1, "choice = 'synthetic', rating = 5"),
        ("studies_practiceanswer", 1, "practice_item_id = practice_item_id"),
        ("studies_repeatanswer", 3, "choice = 'real', rating = 1"),
        ("studies_repeatanswer", 3, "invert_used = NOT invert_used"),
    ],
)
def test_practice_and_repeat_answers_are_never_updated_or_deleted(designed, table, index, change):
    target = designed[index]
    before = row(table, target.pk)
    refused(
        f"UPDATE {table} SET {change} WHERE id = %s",  # noqa: S608 (our own table and columns)
        [target.pk],
        says=f"{table} rows are append-only: UPDATE refused",
    )
    refused(
        f"DELETE FROM {table} WHERE id = %s",  # noqa: S608
        [target.pk],
        says=f"{table} rows are append-only: DELETE refused",
    )
    assert row(table, target.pk) == before


@on_postgres
@pytest.mark.parametrize(
    "change",
    [
        "opens_at = opens_at - interval '14 days'",
        "item_order = '[]'::jsonb",
        "number = 3",
        "assignment_id = assignment_id + 1",
        "created_at = now() - interval '1 day'",
    ],
)
def test_a_reading_round_keeps_its_order_and_wash_out(designed, change):
    reading_round = designed[2]
    before = row("studies_readinground", reading_round.pk)
    refused(
        f"UPDATE studies_readinground SET {change} WHERE id = %s",  # noqa: S608
        [reading_round.pk],
        says="its reader, number, item order, opening time and creation time never change",
    )
    assert row("studies_readinground", reading_round.pk) == before


@on_postgres
def test_a_reading_round_is_never_deleted_and_its_end_is_confirmed_once(designed):
    reading_round = designed[2]
    refused(
        "DELETE FROM studies_readinground WHERE id = %s",
        [reading_round.pk],
        says="studies_readinground rows are never deleted",
    )
    # The legal path: the service confirms the end (every item answered) once.
    for position in range(2, reading_round.total + 1):
        do_submit_repeat_answer(
            reading_round=reading_round, item=round_item_at(reading_round, position), data=data()
        )
    do_complete_round(reading_round=reading_round)
    reading_round.refresh_from_db()
    assert reading_round.completed_at is not None
    before = row("studies_readinground", reading_round.pk)
    refused(
        "UPDATE studies_readinground SET completed_at = NULL WHERE id = %s",
        [reading_round.pk],
        says="its end is confirmed once and never changed",
    )
    refused(
        "UPDATE studies_readinground SET completed_at = now() WHERE id = %s",
        [reading_round.pk],
        says="its end is confirmed once and never changed",
    )
    assert row("studies_readinground", reading_round.pk) == before
