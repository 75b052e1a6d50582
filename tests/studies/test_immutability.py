"""PostgreSQL itself keeps the history: raw SQL, as the application's database user, cannot rewrite or delete
answer revisions, audit events or download logs, nor change what an answer says except through a new revision
written in the same transaction (studies migration 0005, audit 0002, metrics 0005)."""

import logging
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from audit.database import postgres_only
from audit.models import AuditEvent
from reports.models import DownloadLog
from studies.models import Answer, AnswerRevision, Item, Survey
from studies.selectors import item_at
from studies.services import do_submit_answer, parse_answer_input
from tests.studies.conftest import answer_body

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers exist on PostgreSQL only"
)


def raw(sql: str, params=()):
    """One statement through the application's own connection (its database user), in a savepoint."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def refused(sql: str, params=(), *, says: str):
    with pytest.raises(IntegrityError) as caught:
        raw(sql, params)
    assert says in str(caught.value)


def submit(assignment, item, **fields):
    body = answer_body(**fields)
    return do_submit_answer(assignment=assignment, item=item, data=parse_answer_input(body))


def row(table: str, pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608 (table names are ours)
        return cursor.fetchone()


@pytest.fixture
def answered(make_survey, join):
    """An open survey that lets readers go back, and one answer with two revisions (real, then synthetic)."""
    survey = make_survey(open_it=True, allow_going_back=True, per_side=2)
    assignment = join(survey)
    item = item_at(assignment, 1)
    submit(assignment, item, choice="real", reason="looks real")
    result = submit(assignment, item, choice="synthetic", reason="too smooth", base_revision=1)
    return result.answer


@on_postgres
def test_the_revision_service_still_changes_an_answer_and_keeps_every_revision(answered):
    answered.refresh_from_db()
    assert (answered.choice, answered.reason, answered.revision_count) == ("synthetic", "too smooth", 2)
    assert list(answered.revisions.values_list("revision", "choice")) == [(1, "real"), (2, "synthetic")]


@on_postgres
def test_an_update_of_a_revision_is_refused_and_changes_nothing(answered):
    revision = answered.revisions.get(revision=1)
    before = row("studies_answerrevision", revision.pk)
    refused(
        "UPDATE studies_answerrevision SET choice = 'synthetic' WHERE id = %s",
        [revision.pk],
        says="studies_answerrevision rows are append-only: UPDATE refused",
    )
    assert row("studies_answerrevision", revision.pk) == before


@on_postgres
def test_a_delete_of_a_revision_is_refused(answered):
    refused(
        "DELETE FROM studies_answerrevision WHERE answer_id = %s",
        [answered.pk],
        says="studies_answerrevision rows are append-only: DELETE refused",
    )
    assert answered.revisions.count() == 2


@on_postgres
def test_an_answer_changed_without_a_revision_is_refused_and_keeps_its_values(answered):
    before = row("studies_answer", answered.pk)
    refused(
        "UPDATE studies_answer SET choice = 'real' WHERE id = %s",
        [answered.pk],
        says="a change is one new revision",
    )
    refused(
        "UPDATE studies_answer SET choice = 'real', revision_count = 3 WHERE id = %s",
        [answered.pk],
        says="changed without its revision 3 written in the same transaction",
    )
    refused(
        "UPDATE studies_answer SET reason = 'edited', revision_count = 3 WHERE id = %s",
        [answered.pk],
        says="changed without its revision 3",
    )
    assert row("studies_answer", answered.pk) == before


@on_postgres
def test_an_answer_cannot_be_set_back_to_an_old_revision(answered):
    refused(
        "UPDATE studies_answer SET choice = 'real', reason = 'looks real', revision_count = 1 WHERE id = %s",
        [answered.pk],
        says="a change is one new revision (revision_count 2 to 1 refused)",
    )
    answered.refresh_from_db()
    assert answered.choice == "synthetic"


def insert_revision_sql(
    answer: Answer, *, revision: int, choice: str | None = None, rating=None, client_key=None
) -> tuple[str, list]:
    """A revision copying the answer's current values, with `choice` and `rating` replaced when given."""
    return (
        """INSERT INTO studies_answerrevision (answer_id, assignment_id, revision, choice, reason,
               seconds_on_slice, window_width, window_level, zoom, window_changed, client_key, rating,
               invert_used, created_at)
           SELECT id, assignment_id, %s, coalesce(%s, choice), reason, seconds_on_slice, window_width,
               window_level, zoom, window_changed, %s, coalesce(%s, rating), invert_used, now()
           FROM studies_answer WHERE id = %s""",
        [revision, choice, client_key or uuid.uuid4(), rating, answer.pk],
    )


@on_postgres
def test_an_answer_whose_values_differ_from_its_new_revision_is_refused(answered):
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(*insert_revision_sql(answered, revision=3, choice="indeterminable"))
        cursor.execute(
            "UPDATE studies_answer SET choice = 'real', revision_count = 3 WHERE id = %s", [answered.pk]
        )
    assert "its new values differ from its revision 3" in str(caught.value)
    answered.refresh_from_db()
    assert (answered.choice, answered.revision_count, answered.revisions.count()) == ("synthetic", 2, 2)


@on_postgres
def test_the_one_legal_path_in_sql_is_a_new_revision_then_the_answer_in_one_transaction(answered):
    key = uuid.uuid4()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(*insert_revision_sql(answered, revision=3, choice="indeterminable", client_key=key))
        cursor.execute(
            "UPDATE studies_answer SET choice = 'indeterminable', revision_count = 3, client_key = %s WHERE id = %s",
            [key, answered.pk],
        )
    answered.refresh_from_db()
    assert (answered.choice, answered.revision_count) == ("indeterminable", 3)
    assert list(answered.revisions.values_list("choice", flat=True)) == [
        "real",
        "synthetic",
        "indeterminable",
    ]


@on_postgres
def test_an_update_that_leaves_what_the_answer_says_alone_is_allowed(answered):
    raw("UPDATE studies_answer SET updated_at = now() WHERE id = %s", [answered.pk])


@on_postgres
def test_an_answer_never_moves_to_another_item(answered):
    other = Item.objects.filter(survey=answered.item.survey).exclude(pk=answered.item_id).first()
    refused(
        "UPDATE studies_answer SET item_id = %s WHERE id = %s",
        [other.pk, answered.pk],
        says="its id, item and creation time never change",
    )


@on_postgres
def test_an_answer_is_never_deleted(answered):
    refused(
        "DELETE FROM studies_answer WHERE id = %s",
        [answered.pk],
        says="studies_answer rows are never deleted",
    )
    assert Answer.objects.filter(pk=answered.pk).exists()


@on_postgres
def test_an_audit_event_is_never_updated_or_deleted(answered):
    event = AuditEvent.objects.filter(verb="answer.revised").get()
    before = row("audit_auditevent", event.pk)
    refused(
        "UPDATE audit_auditevent SET verb = 'answer.submitted', actor_id = NULL WHERE id = %s",
        [event.pk],
        says="audit_auditevent rows are append-only: UPDATE refused",
    )
    refused(
        "DELETE FROM audit_auditevent WHERE id = %s",
        [event.pk],
        says="audit_auditevent rows are append-only: DELETE refused",
    )
    assert row("audit_auditevent", event.pk) == before


@on_postgres
def test_a_download_log_is_never_updated_or_deleted(db):
    log = DownloadLog.objects.create(what="pdf", via="web", surveys=["S"], byte_size=10, sha256="a" * 64)
    before = row("reports_downloadlog", log.pk)
    refused(
        "UPDATE reports_downloadlog SET sha256 = %s WHERE id = %s",
        ["b" * 64, log.pk],
        says="reports_downloadlog rows are append-only: UPDATE refused",
    )
    refused(
        "DELETE FROM reports_downloadlog",
        says="reports_downloadlog rows are append-only: DELETE refused",
    )
    assert row("reports_downloadlog", log.pk) == before


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_revision_written_in_an_earlier_transaction_does_not_license_a_change(make_survey, join):
    survey = make_survey(open_it=True, allow_going_back=True, per_side=1)
    assignment = join(survey)
    answer = submit(assignment, item_at(assignment, 1), choice="real").answer
    raw(*insert_revision_sql(answer, revision=2, choice="synthetic"))  # committed on its own
    refused(
        "UPDATE studies_answer SET choice = 'synthetic', revision_count = 2 WHERE id = %s",
        [answer.pk],
        says="changed without its revision 2 written in the same transaction",
    )
    answer.refresh_from_db()
    assert (answer.choice, answer.revision_count) == ("real", 1)


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_an_answer_inserted_without_its_revision_is_refused_at_commit(make_survey, join):
    survey = make_survey(open_it=True, per_side=1)
    assignment = join(survey)
    item = item_at(assignment, 1)
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO studies_answer (assignment_id, item_id, choice, reason, seconds_on_slice, window_width,
                   window_level, zoom, window_changed, invert_used, client_key, revision_count, created_at,
                   updated_at)
               VALUES (%s, %s, 'real', '', 1, 400, 40, 1, false, false, %s, 1, now(), now())""",
            [assignment.pk, item.pk, uuid.uuid4()],
        )
    assert "stored without its revision 1" in str(caught.value)
    assert not Answer.objects.exists()
    # The service's own path (answer, then its first revision, in one transaction) commits.
    submit(assignment, item, choice="synthetic")
    assert Answer.objects.get().revisions.get().choice == "synthetic"


def test_a_draft_survey_without_answers_may_be_deleted_with_its_items(make_survey):
    survey = make_survey(per_side=2)
    survey.delete()
    assert not Survey.objects.exists() and not Item.objects.exists()


def test_a_survey_with_answers_is_never_deleted(answered):
    with pytest.raises(ProtectedError):
        answered.item.survey.delete()
    assert AnswerRevision.objects.filter(answer=answered).count() == 2


def test_on_another_database_the_triggers_are_skipped_with_a_notice(caplog):
    class SchemaEditor:
        class connection:  # noqa: N801 (stands in for a connection)
            vendor = "sqlite"

        def execute(self, sql, params=None):
            raise AssertionError("no SQL runs on SQLite")

    operation = postgres_only("CREATE TRIGGER t", "DROP TRIGGER t", what="audit events are append-only")
    with caplog.at_level(logging.INFO, logger="audit.database"):
        operation.code(None, SchemaEditor())
    assert "audit events are append-only: not enforced on sqlite" in caplog.text
    assert caplog.records[-1].levelno == logging.INFO  # expected on the laptop default: no warning
