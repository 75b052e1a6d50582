"""Answers are never lost or doubled: one row per (assignment, item), the same client key stores once, a stale
tab cannot overwrite, changes are kept as revisions, and garbage gets a clear one-line error."""

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from studies.models import Answer, AnswerRevision
from studies.selectors import item_at
from studies.services import AnswerRejected, do_close_survey, do_submit_answer, parse_answer_input
from tests.studies.conftest import answer_body


def post_answer(client, assignment, item, body, **extra):
    return client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        data=json.dumps(body) if not isinstance(body, str | bytes) else body,
        content_type=extra.pop("content_type", "application/json"),
        **extra,
    )


@pytest.fixture
def reading(make_survey, join):
    """An open survey, a reader who joined it, and their signed-in browser."""
    survey = make_survey(open_it=True)
    assignment = join(survey)
    client = Client()
    client.force_login(assignment.reader)
    return survey, assignment, client


def test_an_answer_is_stored_with_its_viewing_details_and_an_audit_row(reading):
    survey, assignment, client = reading
    item = item_at(assignment, 1)
    body = answer_body(
        choice="synthetic",
        reason="too smooth",
        seconds_on_slice=12.5,
        window_width=1500,
        window_level=-600,
        zoom=2.0,
        window_changed=True,
    )
    response = post_answer(client, assignment, item, body)
    assert response.status_code == 200
    assert response.json() == {
        "saved": True,
        "duplicate": False,
        "next_url": reverse("studies:item", args=[assignment.key, 2]),
    }
    answer = Answer.objects.get(assignment=assignment, item=item)
    assert (answer.choice, answer.reason, answer.seconds_on_slice) == ("synthetic", "too smooth", 12.5)
    assert (answer.window_width, answer.window_level, answer.zoom, answer.window_changed) == (
        1500,
        -600,
        2.0,
        True,
    )
    assert answer.revisions.count() == 1
    assert AuditEvent.objects.filter(verb="answer.submitted", object_id=str(answer.pk)).count() == 1


@pytest.mark.smoke
def test_a_double_click_or_a_retry_with_the_same_key_stores_one_answer(reading):
    survey, assignment, client = reading
    item = item_at(assignment, 1)
    body = answer_body()
    first = post_answer(client, assignment, item, body)
    retry = post_answer(client, assignment, item, body)
    again = post_answer(client, assignment, item, body)
    assert first.status_code == retry.status_code == again.status_code == 200
    assert retry.json()["duplicate"] is True
    assert Answer.objects.filter(assignment=assignment).count() == 1
    assert AnswerRevision.objects.filter(assignment=assignment).count() == 1
    assert AuditEvent.objects.filter(verb="answer.submitted").count() == 1


def test_a_retry_is_recognised_even_after_the_survey_closed(reading):
    survey, assignment, client = reading
    item = item_at(assignment, 1)
    body = answer_body()
    post_answer(client, assignment, item, body)
    do_close_survey(survey=survey, actor=None)
    assert post_answer(client, assignment, item, body).json()["duplicate"] is True
    assert post_answer(client, assignment, item, answer_body()).status_code == 409


def test_a_second_tab_answering_the_same_slice_gets_a_conflict_not_a_second_answer(reading):
    survey, assignment, client = reading
    item = item_at(assignment, 1)
    assert post_answer(client, assignment, item, answer_body(choice="real")).status_code == 200
    other_tab = post_answer(client, assignment, item, answer_body(choice="synthetic"))
    assert other_tab.status_code == 409
    assert other_tab.json()["next_url"] == reverse("studies:item", args=[assignment.key, 2])
    assert Answer.objects.get(assignment=assignment, item=item).choice == "real"


def test_a_key_reused_for_another_item_is_refused(reading):
    survey, assignment, client = reading
    body = answer_body()
    post_answer(client, assignment, item_at(assignment, 1), body)
    response = post_answer(client, assignment, item_at(assignment, 2), body)
    assert response.status_code == 409
    assert "already used for another item" in response.json()["error"]


def test_skipping_ahead_is_refused(reading):
    survey, assignment, client = reading
    response = post_answer(client, assignment, item_at(assignment, 3), answer_body())
    assert response.status_code == 409
    assert not Answer.objects.exists()


def test_changes_are_kept_as_revisions_when_going_back_is_allowed(make_survey, join):
    survey = make_survey(open_it=True, allow_going_back=True)
    assignment = join(survey)
    client = Client()
    client.force_login(assignment.reader)
    item = item_at(assignment, 1)
    post_answer(client, assignment, item, answer_body(choice="real", reason="looks real"))
    changed = post_answer(
        client, assignment, item, answer_body(choice="synthetic", reason="on second look", base_revision=1)
    )
    assert changed.status_code == 200
    answer = Answer.objects.get(assignment=assignment, item=item)
    assert (answer.choice, answer.revision_count) == ("synthetic", 2)
    history = list(answer.revisions.order_by("revision").values_list("revision", "choice", "reason"))
    assert history == [(1, "real", "looks real"), (2, "synthetic", "on second look")]
    assert AuditEvent.objects.filter(verb="answer.revised").count() == 1


def test_a_stale_tab_cannot_overwrite_a_newer_revision(make_survey, join):
    survey = make_survey(open_it=True, allow_going_back=True)
    assignment = join(survey)
    item = item_at(assignment, 1)
    do_submit_answer(assignment=assignment, item=item, data=parse_answer_input(answer_body(choice="real")))
    do_submit_answer(
        assignment=assignment,
        item=item,
        data=parse_answer_input(answer_body(choice="synthetic", base_revision=1)),
    )
    with pytest.raises(AnswerRejected, match="changed in another window"):
        do_submit_answer(
            assignment=assignment,
            item=item,
            data=parse_answer_input(answer_body(choice="indeterminable", base_revision=1)),
        )
    assert Answer.objects.get(item=item, assignment=assignment).choice == "synthetic"


def test_without_going_back_an_answer_cannot_be_changed(reading):
    survey, assignment, client = reading
    item = item_at(assignment, 1)
    post_answer(client, assignment, item, answer_body(choice="real"))
    response = post_answer(client, assignment, item, answer_body(choice="synthetic", base_revision=1))
    assert response.status_code == 409
    assert AnswerRevision.objects.count() == 1


def test_answers_are_frozen_after_the_reader_confirmed_the_end(reading):
    survey, assignment, client = reading
    for position in range(1, assignment.total + 1):
        assert (
            post_answer(client, assignment, item_at(assignment, position), answer_body()).status_code == 200
        )
    assert client.post(reverse("studies:review", args=[assignment.key])).status_code == 302
    response = post_answer(client, assignment, item_at(assignment, 1), answer_body(base_revision=1))
    assert response.status_code == 409
    assert response.json()["next_url"] == reverse("studies:thanks", args=[assignment.key])


def test_the_answer_endpoint_needs_the_csrf_token(reading):
    survey, assignment, _ = reading
    client = Client(enforce_csrf_checks=True)
    client.force_login(assignment.reader)
    page = client.get(reverse("studies:item", args=[assignment.key, 1]))
    token = page.context["csrf_token"]
    item = item_at(assignment, 1)
    refused = post_answer(client, assignment, item, answer_body())
    assert refused.status_code == 403
    assert not Answer.objects.exists()
    accepted = post_answer(client, assignment, item, answer_body(), HTTP_X_CSRFTOKEN=str(token))
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    "body, message",
    [
        ("not json at all", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (answer_body(choice="maybe"), "choice must be one of"),
        (answer_body(choice=None), "choice must be one of"),
        (answer_body(reason=42), "reason must be text"),
        (answer_body(reason="x" * 2001), "at most 2000"),
        (answer_body(seconds_on_slice="12"), "seconds_on_slice must be a number"),
        (answer_body(seconds_on_slice=-1), "seconds_on_slice must be between"),
        (answer_body(window_width=0), "window_width must be between"),
        (answer_body(window_level=True), "window_level must be a number"),
        (answer_body(zoom=1e9), "zoom must be between"),
        (answer_body(window_changed="yes"), "window_changed must be true or false"),
        (answer_body(client_key="abc"), "client_key must be a UUID"),
        (answer_body(base_revision=-1), "base_revision must be a non-negative integer"),
    ],
)
def test_garbage_gets_a_400_with_one_line_naming_the_problem(reading, body, message):
    survey, assignment, client = reading
    response = post_answer(client, assignment, item_at(assignment, 1), body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error and "\n" not in error
    assert not Answer.objects.exists()


def test_a_non_json_content_type_is_refused(reading):
    survey, assignment, client = reading
    response = post_answer(
        client,
        assignment,
        item_at(assignment, 1),
        "choice=real",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415


def test_nan_is_not_a_number_here():
    with pytest.raises(AnswerRejected, match="seconds_on_slice must be a number"):
        parse_answer_input({**answer_body(), "seconds_on_slice": float("nan")})


def test_an_item_of_another_survey_is_not_found(reading, make_survey):
    survey, assignment, client = reading
    other = make_survey().items.first()
    response = client.post(
        reverse("studies:answer", args=[assignment.key, other.public_id]),
        data=json.dumps(answer_body()),
        content_type="application/json",
    )
    assert response.status_code == 404
    with pytest.raises(AnswerRejected, match="not part of your survey"):
        do_submit_answer(assignment=assignment, item=other, data=parse_answer_input(answer_body()))


def test_the_signed_out_page_gets_a_403_it_can_act_on(reading):
    survey, assignment, _ = reading
    response = post_answer(Client(), assignment, item_at(assignment, 1), answer_body())
    assert response.status_code == 403
    assert "Sign in again" in response.json()["error"]


def test_client_keys_must_be_unique_per_assignment_in_the_database(reading):
    survey, assignment, client = reading
    key = str(uuid.uuid4())
    post_answer(client, assignment, item_at(assignment, 1), answer_body(client_key=key))
    assert AnswerRevision.objects.filter(assignment=assignment, client_key=key).count() == 1
