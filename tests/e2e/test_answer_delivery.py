"""Every answer arrives exactly once: a double click sends one request, and a dropped connection (before the server
saw the answer, or after it stored it) is retried by the page with the same key and the reader's text intact."""

import json

import pytest
from playwright.sync_api import expect

from studies.models import Answer, AnswerRevision, Assignment
from studies.selectors import item_at
from tests.e2e.conftest import PER_SIDE
from tests.e2e.reader import ReaderPage, join_with_new_account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_double_click_on_save_sends_one_answer(reading_survey, page):
    posts = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    key = join_with_new_account(page, reading_survey.invitation_urls[0], "reader-double-click")
    reader = ReaderPage(page, 2 * PER_SIDE)
    reader.expect_position(1)
    posts.clear()
    reader.choose("real")
    reader.test_id("submit-answer").dblclick()
    reader.expect_position(2)

    answer_posts = [p for p in posts if p.url.endswith("/answer/")]
    assert len(answer_posts) == 1
    assignment = Assignment.objects.get(key=key)
    assert Answer.objects.filter(assignment=assignment).count() == 1
    assert AnswerRevision.objects.filter(assignment=assignment).count() == 1
    assert Answer.objects.get(assignment=assignment).item == item_at(assignment, 1)


def test_answers_sent_into_a_dropped_connection_are_sent_again_and_stored_once_with_the_reason_kept(
    reading_survey, page
):
    attempts, replies = [], []

    def drop_the_first_attempt_at_each_answer(route):
        """Slice 1: the connection drops before the server sees the answer. Slice 2: after it stored it."""
        body = json.loads(route.request.post_data)
        attempts.append(body)
        if len(attempts) == 1:
            route.abort("internetdisconnected")
            return
        reply = route.fetch()
        replies.append(reply.json())
        if len(attempts) == 3:
            route.abort("connectionreset")
        else:
            route.fulfill(response=reply)

    key = join_with_new_account(page, reading_survey.invitation_urls[0], "reader-offline")
    reader = ReaderPage(page, 2 * PER_SIDE)
    page.route("**/answer/", drop_the_first_attempt_at_each_answer)
    for position, choice, reason in (
        (1, "synthetic", "noise texture looks painted"),
        (2, "real", "scanner-like"),
    ):
        reader.expect_position(position)
        reader.choose(choice)
        reader.test_id("reason").fill(reason)
        reader.submit_with_mouse()
        expect(reader.test_id("save-status")).to_have_attribute("data-state", "retrying")
        expect(reader.test_id("reason")).to_have_value(reason)
    reader.expect_position(3)

    assert len(attempts) == 4
    assert attempts[0] == attempts[1] and attempts[2] == attempts[3], (
        "a retry carries the same answer and key"
    )
    assert [reply["duplicate"] for reply in replies] == [False, False, True]
    assignment = Assignment.objects.get(key=key)
    stored = [
        (a.item, a.choice, a.reason, a.revisions.count())
        for a in Answer.objects.filter(assignment=assignment).order_by("created_at")
    ]
    assert stored == [
        (item_at(assignment, 1), "synthetic", "noise texture looks painted", 1),
        (item_at(assignment, 2), "real", "scanner-like", 1),
    ]
