"""What a reader gets when the server fails: a 503 page that loads itself again while the database cannot be
reached, a 500 page otherwise, JSON for the answer path and the API; the same bytes whichever item was shown."""

import json

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse

import studies.views.answers
import studies.views.reading
from config.errors import RETRY_AFTER_S, server_error
from studies.models import Answer
from studies.selectors import item_at
from tests.studies.conftest import answer_body
from tests.studies.test_answers import post_answer

UNREACHABLE = 'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'


@pytest.fixture
def reading(make_survey, join):
    survey = make_survey(open_it=True)
    assignment = join(survey)
    client = Client(raise_request_exception=False)
    client.force_login(assignment.reader)
    return survey, assignment, client


def failing(error):
    """studies.views.reading.item_at that finds the item, then fails as the database or a bug would."""

    def item_at_then_fail(assignment, position):
        item_at(assignment, position)
        raise error

    return item_at_then_fail


def test_a_database_that_cannot_be_reached_gives_a_page_that_tries_again_by_itself(reading, monkeypatch):
    survey, assignment, client = reading
    monkeypatch.setattr(studies.views.reading, "item_at", failing(OperationalError(UNREACHABLE)))
    response = client.get(reverse("studies:item", args=[assignment.key, 1]))
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_S)
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert f'<meta http-equiv="refresh" content="{RETRY_AFTER_S}">' in html
    assert "Briefly unavailable" in html and "Every answer you have saved is kept." in html
    assert 'data-testid="reloads-itself"' in html and 'data-testid="try-again"' in html
    assert "5432" not in html and "Connection refused" not in html


def test_the_error_page_speaks_the_readers_language(reading, monkeypatch):
    survey, assignment, client = reading
    monkeypatch.setattr(studies.views.reading, "item_at", failing(OperationalError(UNREACHABLE)))
    client.cookies["django_language"] = "it"
    html = client.get(reverse("studies:item", args=[assignment.key, 1])).content.decode()
    assert '<html lang="it">' in html
    assert "Momentaneamente non disponibile" in html
    assert "Tutte le risposte già salvate sono conservate." in html


def test_the_error_pages_are_the_same_bytes_for_real_and_synthetic_items(reading, monkeypatch):
    survey, assignment, client = reading
    seen = {}
    for position in range(1, assignment.total + 1):
        item = item_at(assignment, position)
        for error in (OperationalError(UNREACHABLE), RuntimeError(f"item {item.public_id} is {item.truth}")):
            with monkeypatch.context() as patch:
                patch.setattr(studies.views.reading, "item_at", failing(error))
                response = client.get(reverse("studies:item", args=[assignment.key, position]))
            headers = tuple(sorted((k, v) for k, v in response.headers.items() if k != "Date"))
            seen.setdefault((type(error).__name__, item.truth), set()).add(
                (response.status_code, headers, response.content)
            )
        assert post_answer(client, assignment, item, answer_body()).status_code == 200
    assert {truth for _, truth in seen} == {"real", "synthetic"}
    for kind in ("OperationalError", "RuntimeError"):
        shown = seen[(kind, "real")] | seen[(kind, "synthetic")]
        assert len(shown) == 1, f"{kind}: the error page differs between items"


def test_any_other_failure_gives_a_500_page_that_names_nothing_of_the_error(reading, monkeypatch):
    survey, assignment, client = reading
    monkeypatch.setattr(studies.views.reading, "item_at", failing(RuntimeError("secret detail of the bug")))
    response = client.get(reverse("studies:item", args=[assignment.key, 1]))
    assert response.status_code == 500
    assert "Retry-After" not in response
    html = response.content.decode()
    assert "Server error" in html and "secret detail" not in html and "Traceback" not in html
    assert "http-equiv" not in html and 'data-testid="reloads-itself"' not in html
    assert f'href="{reverse("studies:home")}"' in html


def test_an_answer_the_database_cannot_take_gets_a_503_line_of_json_and_nothing_is_stored(
    reading, monkeypatch
):
    survey, assignment, client = reading
    item = item_at(assignment, 1)

    def unreachable(**kwargs):
        raise OperationalError(UNREACHABLE)

    monkeypatch.setattr(studies.views.answers, "assignment_for_reader", unreachable)
    response = client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        json.dumps(answer_body()),
        content_type="application/json",
    )
    assert response.status_code == 503 and response["Retry-After"] == str(RETRY_AFTER_S)
    message = response.json()["error"]
    assert message == "The server cannot reach its database for a moment. Try again in a few seconds."
    assert "\n" not in message
    assert Answer.objects.filter(assignment=assignment).count() == 0


def handled(error, request):
    """server_error as Django calls it: while the exception is being handled."""
    try:
        raise error
    except Exception:
        return server_error(request)


def test_the_api_gets_json_in_its_own_shape():
    factory = RequestFactory()
    response = handled(OperationalError(UNREACHABLE), factory.get("/api/v1/surveys/"))
    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "detail": "The server cannot reach its database for a moment. Try again in a few seconds."
    }
    response = handled(ValueError("x"), factory.get("/api/v1/surveys/"))
    assert response.status_code == 500 and set(json.loads(response.content)) == {"detail"}


def test_a_form_that_could_not_be_sent_is_not_sent_again_by_the_page():
    response = handled(OperationalError(UNREACHABLE), RequestFactory().post("/login/", {"username": "a"}))
    assert response.status_code == 503
    html = response.content.decode()
    assert "http-equiv" not in html and 'data-testid="reloads-itself"' not in html
