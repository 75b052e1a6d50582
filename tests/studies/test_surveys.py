"""Survey life cycle: created as a draft with its items rendered, opened only through the blinding audit,
closed; settings frozen once open; every status change with its audit row; constraints in the database."""

import hashlib
import uuid

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from studies.models import Answer, AnswerRevision, BlindingAudit, Item, Survey
from studies.selectors import rendering_fingerprint
from studies.services import (
    StudyError,
    do_audit_and_open,
    do_audit_survey,
    do_change_survey_settings,
    do_close_survey,
    do_open_survey,
    parse_answer_input,
)
from tests.studies.conftest import answer_body


def test_a_new_survey_is_a_draft_with_every_item_rendered_at_the_payload_size(make_survey):
    survey = make_survey(per_side=10, matrix_size=64)
    assert survey.status == Survey.Status.DRAFT
    assert survey.items.count() == 20
    for item in survey.items.all():
        with default_storage.open(item.payload, "rb") as handle:
            data = handle.read()
        assert len(data) == 64 * 64 * 2
        assert hashlib.sha256(data).hexdigest() == item.payload_sha256
    assert AuditEvent.objects.filter(verb="survey.created", object_id=str(survey.pk)).count() == 1


def test_item_ids_are_opaque_random_strings_not_primary_keys(make_survey):
    survey = make_survey()
    ids = list(survey.items.values_list("public_id", flat=True))
    assert len(set(ids)) == 20
    assert all(len(i) == 22 and not i.isdigit() for i in ids)


def test_opening_needs_a_passing_audit_of_the_current_items_and_records_both(make_survey):
    survey = make_survey()
    with pytest.raises(StudyError, match="run the blinding audit of its current items first"):
        do_open_survey(survey=survey, actor=None)
    report = do_audit_survey(survey=survey, actor=None)
    assert report.passed
    survey.refresh_from_db()
    assert survey.status == Survey.Status.DRAFT  # auditing changes nothing
    audit = BlindingAudit.objects.get(survey=survey)
    assert (audit.status, audit.passed, audit.fingerprint) == ("done", True, rendering_fingerprint(survey))
    do_open_survey(survey=survey, actor=None)
    survey.refresh_from_db()
    assert survey.status == Survey.Status.OPEN
    assert survey.opened_at is not None
    assert survey.last_audit_passed is True
    assert "PASSED" in survey.last_audit_report
    verbs = set(AuditEvent.objects.filter(object_id=str(survey.pk)).values_list("verb", flat=True))
    assert {"survey.audit_passed", "survey.opened"} <= verbs


def test_a_survey_that_fails_the_audit_stays_a_draft(make_survey):
    survey = make_survey()
    item = survey.items.filter(truth="synthetic").first()
    default_storage.delete(item.payload)
    default_storage.save(item.payload, __import__("io").BytesIO(b"\0" * 100))
    with pytest.raises(StudyError, match="stays a draft: the blinding audit found [1-9]\\d* leak"):
        do_audit_and_open(survey=survey, actor=None)
    survey.refresh_from_db()
    assert survey.status == Survey.Status.DRAFT
    assert survey.last_audit_passed is False
    assert AuditEvent.objects.filter(verb="survey.audit_failed", object_id=str(survey.pk)).exists()


def test_only_a_draft_opens_and_only_an_open_survey_closes(make_survey):
    survey = make_survey(open_it="audited")
    with pytest.raises(StudyError, match="not a draft"):
        do_open_survey(survey=survey, actor=None)
    do_close_survey(survey=survey, actor=None)
    survey.refresh_from_db()
    assert survey.status == Survey.Status.CLOSED and survey.closed_at is not None
    with pytest.raises(StudyError, match="only an open survey can be closed"):
        do_close_survey(survey=survey, actor=None)
    assert AuditEvent.objects.filter(verb="survey.closed", object_id=str(survey.pk)).count() == 1


def test_changing_the_display_policy_of_a_draft_renders_every_item_again(
    make_survey, django_capture_on_commit_callbacks
):
    survey = make_survey(matrix_size=64)
    old = dict(survey.items.values_list("pk", "payload"))
    with django_capture_on_commit_callbacks(execute=True):
        do_change_survey_settings(
            survey=survey, actor=None, policy=survey.display_policy.replace(matrix_size=32, mask="circle")
        )
    for item in Item.objects.filter(survey=survey):
        assert item.payload != old[item.pk]
        with default_storage.open(item.payload, "rb") as handle:
            assert len(handle.read()) == 32 * 32 * 2
    assert not any(default_storage.exists(name) for name in old.values())
    assert AuditEvent.objects.filter(verb="survey.settings_changed").exists()


def test_an_open_survey_keeps_its_display_policy(make_survey):
    survey = make_survey(open_it=True)
    with pytest.raises(StudyError, match="settings are frozen"):
        do_change_survey_settings(
            survey=survey, actor=None, policy=survey.display_policy.replace(matrix_size=32)
        )


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"seed": 3}, "cannot be changed"),
        ({"matrix_size": 32}, "cannot be changed: matrix_size"),
        ({"reader_title": " "}, "title"),
    ],
)
def test_bad_settings_are_refused_with_one_line(make_survey, changes, message):
    survey = make_survey()
    with pytest.raises(StudyError, match=message):
        do_change_survey_settings(survey=survey, actor=None, **changes)


def test_the_database_refuses_an_unbalanced_survey(make_survey):
    survey = make_survey()
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.filter(pk=survey.pk).update(real_count=3)


def test_the_database_refuses_an_open_survey_without_opened_at(make_survey):
    survey = make_survey()
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.filter(pk=survey.pk).update(status="open")


def test_the_database_refuses_a_second_answer_to_the_same_item(make_survey, join):
    survey = make_survey(open_it=True)
    assignment = join(survey)
    item = survey.items.first()
    fields = parse_answer_input(answer_body()).__dict__.copy()
    fields.pop("base_revision")
    answer = Answer.objects.create(assignment=assignment, item=item, **fields)
    # Its first revision too: PostgreSQL refuses, at commit, an answer without one (studies migration 0005).
    AnswerRevision.objects.create(answer=answer, assignment=assignment, revision=1, **fields)
    fields["client_key"] = uuid.uuid4()
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(assignment=assignment, item=item, **fields)


def test_the_database_refuses_an_unknown_truth(make_survey):
    survey = make_survey()
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.filter(pk=survey.items.first().pk).update(truth="maybe")


def test_a_passing_audit_goes_stale_when_what_readers_see_changes(make_survey):
    survey = make_survey()
    do_audit_survey(survey=survey, actor=None)
    do_change_survey_settings(survey=survey, actor=None, reader_title="Another title")
    with pytest.raises(StudyError, match="run the blinding audit of its current items first"):
        do_open_survey(survey=survey, actor=None)
    item = survey.items.first()
    Item.objects.filter(pk=item.pk).update(payload_sha256="0" * 64)
    do_audit_survey(survey=survey, actor=None)  # fails on the changed checksum, and says so
    survey.refresh_from_db()
    assert (
        survey.last_audit_fingerprint == rendering_fingerprint(survey) and survey.last_audit_passed is False
    )
    with pytest.raises(StudyError, match="the blinding audit found 1 leak"):
        do_open_survey(survey=survey, actor=None)


@pytest.mark.django_db(transaction=True)
def test_the_audit_holds_no_lock_on_the_survey_while_it_reads(make_survey, monkeypatch):
    """A status change of the survey from another connection is not blocked while the audit walks."""
    from django.db import connections

    from studies.blinding import walk as blinding_walk

    survey = make_survey()
    seen = []
    real_walk = blinding_walk.read_pages

    def walk_and_check(client, survey_, assignment, items, walk, progress):
        real_walk(client, survey_, assignment, items, walk, progress)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'") if other.vendor == "postgresql" else None
                cursor.execute(
                    "UPDATE studies_survey SET reader_title = reader_title WHERE id = %s", [survey.pk]
                )
                seen.append(cursor.rowcount)
        finally:
            other.close()

    monkeypatch.setattr(blinding_walk, "read_pages", walk_and_check)
    report = do_audit_survey(survey=survey, actor=None)
    assert report.passed and seen == [1]
