"""The reader's pages: the DOM contract, identical and truth-free item pages, the pixel payload and its
headers, the order readers move in, leaving and resuming, the end, languages."""

import json
import re

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from studies.models import Answer
from studies.selectors import item_at
from studies.services import do_close_survey
from tests.projects.factories import make_member
from tests.studies.conftest import answer_body
from tests.studies.test_answers import post_answer

# The reader page's interactive elements (docs/reader_page.md); browser tests rely on every one of them.
ITEM_PAGE_TEST_IDS = [
    "slice-canvas",
    "viewer",
    "viewer-message",
    "window-width",
    "window-level",
    "zoom-level",
    "progress",
    "preset-soft-tissue",
    "preset-liver",
    "preset-lung",
    "preset-bone",
    "preset-mediastinum",
    "zoom-in",
    "zoom-out",
    "drag-mode",
    "reset-view",
    "invert",
    "answer-real",
    "answer-synthetic",
    "answer-indeterminable",
    "reason",
    "submit-answer",
    "save-status",
    "language-en",
    "language-it",
    "logout",
]


@pytest.fixture
def reading(make_survey, join):
    survey = make_survey(open_it=True)
    assignment = join(survey)
    client = Client()
    client.force_login(assignment.reader)
    return survey, assignment, client


def config_of(response) -> dict:
    match = re.search(
        r'<script id="reader-config" type="application/json">(.*?)</script>', response.content.decode()
    )
    return json.loads(match.group(1))


def test_the_item_page_carries_every_element_of_the_dom_contract(reading):
    survey, assignment, client = reading
    html = client.get(reverse("studies:item", args=[assignment.key, 1])).content.decode()
    for test_id in ITEM_PAGE_TEST_IDS:
        assert f'data-testid="{test_id}"' in html, test_id
    assert 'data-testid="progress">1 of 20<' in html
    assert "/static/studies/reader.js" in html and "/static/studies/reader.css" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # no CDN


def test_the_page_configuration_has_the_documented_keys_and_no_truth(reading):
    survey, assignment, client = reading
    config = config_of(client.get(reverse("studies:item", args=[assignment.key, 1])))
    assert set(config) == {
        "itemId", "position", "total", "matrix", "dtype", "huRange", "defaultWindow", "presets", "pixelsUrl",
        "answerUrl", "previousUrl", "reviewUrl", "allowGoingBack", "storageKey", "answer", "rating", "practice", "round", "stack",
        "exposure",
    }  # fmt: skip
    assert config["stack"] == {"slices": 1, "k": 0}
    assert config["exposure"] == {"mode": "off", "requestedMs": None, "maskSeed": None}
    assert config["rating"] == {
        "scale": "none", "min": None, "max": None, "asksChoice": True, "confirmContradictions": False
    }  # fmt: skip
    assert config["itemId"] == item_at(assignment, 1).public_id
    assert config["matrix"] == 64 and config["dtype"] == "int16le" and config["total"] == 20
    assert [(p["key"], p["width"], p["level"]) for p in config["presets"]] == [
        ("1", 400, 40), ("2", 150, 90), ("3", 1500, -600), ("4", 2500, 480), ("5", 350, 50),
    ]  # fmt: skip


def test_item_pages_never_name_the_truth_datasets_or_sources(reading):
    survey, assignment, client = reading
    for position in range(1, assignment.total + 1):
        item = item_at(assignment, position)
        html = client.get(reverse("studies:item", args=[assignment.key, position])).content.decode().lower()
        for secret in [
            survey.name, survey.model_alias, survey.model_dataset.name, survey.real_dataset.name,
            str(item.slice.volume.uid), item.slice.volume.series_key, item.slice.pixels, item.payload,
            '"truth"', "synthetic_ct", "real_ct",
        ]:  # fmt: skip
            assert secret.lower() not in html, secret
        post_answer(client, assignment, item, answer_body())


def test_pixels_are_raw_int16_of_fixed_size_with_identical_anonymous_headers(reading):
    survey, assignment, client = reading
    seen = []
    for position in range(1, assignment.total + 1):
        item = item_at(assignment, position)
        response = client.get(reverse("studies:pixels", args=[assignment.key, item.public_id]))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Cache-Control"] == "no-store"
        for header in ("ETag", "Last-Modified", "Content-Disposition"):
            assert header not in response
        assert len(response.content) == 64 * 64 * 2
        pixels = np.frombuffer(response.content, dtype="<i2")
        assert pixels.min() >= survey.display_policy.hu_min and pixels.max() <= survey.display_policy.hu_max
        seen.append(tuple(sorted((k, v) for k, v in response.headers.items() if k != "Date")))
        post_answer(client, assignment, item, answer_body())
    assert len(set(seen)) == 1


def test_pixels_of_an_unknown_item_or_a_closed_survey_are_not_found(reading):
    survey, assignment, client = reading
    assert client.get(reverse("studies:pixels", args=[assignment.key, "A" * 22])).status_code == 404
    item = item_at(assignment, 1)
    do_close_survey(survey=survey, actor=None)
    assert client.get(reverse("studies:pixels", args=[assignment.key, item.public_id])).status_code == 404


def test_a_reader_moves_forward_only_when_going_back_is_not_allowed(reading):
    survey, assignment, client = reading
    ahead = client.get(reverse("studies:item", args=[assignment.key, 3]))
    assert ahead.status_code == 302 and ahead.url == reverse("studies:item", args=[assignment.key, 1])
    post_answer(client, assignment, item_at(assignment, 1), answer_body())
    back = client.get(reverse("studies:item", args=[assignment.key, 1]))
    assert back.url == reverse("studies:item", args=[assignment.key, 2])
    assert 'data-testid="previous"' not in client.get(back.url).content.decode()


def test_going_back_shows_the_earlier_answer_to_change(make_survey, join):
    survey = make_survey(open_it=True, allow_going_back=True)
    assignment = join(survey)
    client = Client()
    client.force_login(assignment.reader)
    post_answer(client, assignment, item_at(assignment, 1), answer_body(choice="synthetic", reason="smooth"))
    page = client.get(reverse("studies:item", args=[assignment.key, 1]))
    assert page.status_code == 200
    config = config_of(page)
    assert config["answer"] == {"choice": "synthetic", "reason": "smooth", "rating": None, "revision": 1}
    second = config_of(client.get(reverse("studies:item", args=[assignment.key, 2])))
    assert second["previousUrl"] == reverse("studies:item", args=[assignment.key, 1])
    assert client.get(reverse("studies:item", args=[assignment.key, 5])).status_code == 302


def test_a_reader_can_leave_and_resume_where_they_stopped(reading):
    survey, assignment, client = reading
    for position in (1, 2, 3):
        post_answer(client, assignment, item_at(assignment, position), answer_body())
    later = Client()
    assert later.login(username=assignment.reader.username, password="pw-reader-123")
    start = later.get(reverse("studies:start", args=[assignment.key]))
    assert start.context["continue_url"] == reverse("studies:item", args=[assignment.key, 4])
    assert "3 of 20 answered" in start.content.decode()
    assert later.get(reverse("studies:item", args=[assignment.key, 4])).status_code == 200


@pytest.mark.smoke
def test_the_end_asks_for_confirmation_then_thanks_without_a_score(reading):
    survey, assignment, client = reading
    assert client.get(reverse("studies:review", args=[assignment.key])).status_code == 302
    for position in range(1, assignment.total + 1):
        response = post_answer(client, assignment, item_at(assignment, position), answer_body())
    assert response.json()["next_url"] == reverse("studies:review", args=[assignment.key])
    review = client.get(reverse("studies:review", args=[assignment.key]))
    assert 'data-testid="confirm-finish"' in review.content.decode()
    finished = client.post(reverse("studies:review", args=[assignment.key]))
    assert finished.url == reverse("studies:thanks", args=[assignment.key])
    thanks = client.get(finished.url).content.decode()
    assert 'data-testid="thank-you"' in thanks
    assert 'data-next="done"' in thanks and "nothing more to do" in thanks
    assert "second reading" not in thanks.lower()
    for word in ("correct", "score", "accuracy", "%"):
        assert word not in thanks.lower()
    assert client.get(reverse("studies:item", args=[assignment.key, 1])).url == finished.url
    assignment.refresh_from_db()
    assert assignment.completed_at is not None


def test_a_draft_or_closed_survey_shows_its_state_instead_of_items(make_survey, join):
    survey = make_survey()
    assignment = join(survey)
    client = Client()
    client.force_login(assignment.reader)
    assert (
        'data-testid="survey-not-open"'
        in client.get(reverse("studies:item", args=[assignment.key, 1])).content.decode()
    )
    survey.status, survey.opened_at = "open", survey.created_at
    survey.save()
    do_close_survey(survey=survey, actor=None)
    assert (
        'data-testid="survey-closed"'
        in client.get(reverse("studies:item", args=[assignment.key, 1])).content.decode()
    )


def test_the_reader_pages_are_in_italian_for_an_italian_browser(reading):
    survey, assignment, client = reading
    html = client.get(
        reverse("studies:item", args=[assignment.key, 1]), HTTP_ACCEPT_LANGUAGE="it"
    ).content.decode()
    assert 'data-testid="progress">1 di 20<' in html
    assert "Reale" in html and "Sintetica" in html and "Indeterminabile" in html
    assert '<html lang="it">' in html


def test_the_language_can_be_switched(reading):
    survey, assignment, client = reading
    response = client.post(reverse("studies:set_language"), {"language": "it"}, HTTP_REFERER="/")
    assert response.status_code == 302
    html = client.get(reverse("studies:item", args=[assignment.key, 1])).content.decode()
    assert "Salva e continua" in html


def test_reader_pages_send_a_content_security_policy_without_third_parties(reading):
    survey, assignment, client = reading
    response = client.get(reverse("studies:item", args=[assignment.key, 1]))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "http" not in policy


def test_home_lists_the_readers_surveys_and_sends_staff_to_the_admin(reading, admin_user):
    survey, assignment, client = reading
    home = client.get(reverse("studies:home"))
    assert reverse("studies:start", args=[assignment.key]) in home.content.decode()
    staff = Client()
    staff.force_login(admin_user)
    assert staff.get(reverse("studies:home")).url == reverse("admin:index")
    assert Client().get(reverse("studies:home")).url == reverse("studies:login")


def test_the_profile_is_optional_and_validated(reading):
    survey, assignment, client = reading
    start = reverse("studies:start", args=[assignment.key])
    ok = client.post(
        reverse("studies:profile"), {"specialty": "radiology", "years_of_experience": "12", "next": start}
    )
    assert ok.status_code == 302 and ok.url == start
    profile = assignment.reader.reader_profile
    profile.refresh_from_db()
    assert (profile.specialty, profile.years_of_experience) == ("radiology", 12)
    for garbage in (
        {"years_of_experience": "-5"},
        {"years_of_experience": "abc"},
        {"specialty": "astrology"},
    ):
        response = client.post(reverse("studies:profile"), garbage)
        assert response.status_code == 400, garbage
    evil = client.post(reverse("studies:profile"), {"specialty": "", "next": "https://evil.example.org/"})
    assert evil.url == reverse("studies:home")


def test_answers_on_the_page_record_what_the_reader_had_on_screen(reading):
    survey, assignment, client = reading
    post_answer(
        client,
        assignment,
        item_at(assignment, 1),
        answer_body(
            window_width=2500, window_level=480, zoom=3.0, window_changed=True, seconds_on_slice=8.25
        ),
    )
    answer = Answer.objects.get()
    assert (answer.window_width, answer.window_level, answer.zoom, answer.window_changed) == (
        2500,
        480,
        3.0,
        True,
    )
    assert answer.seconds_on_slice == 8.25


def test_home_sends_researchers_to_the_reports(django_user_model):

    researcher = django_user_model.objects.create_user("res", password="pw-research-1", is_staff=True)
    make_member(researcher, "researcher")
    client = Client()
    client.force_login(researcher)
    assert client.get(reverse("studies:home")).url == reverse("reports:index")


def test_each_survey_is_listed_and_shown_by_its_own_title_in_the_page_language(
    make_survey, join, make_reader
):
    reader = make_reader()
    chest = make_survey(
        open_it=True,
        reader_title="Abdomen study A",
        reader_title_it="Studio addome A",
        instructions="Look at the liver.",
        instructions_it="Guarda il fegato.",
    )
    pelvis = make_survey(open_it=True, reader_title="Abdomen study B", instructions="Look at the kidneys.")
    first, second = join(chest, reader), join(pelvis, reader)
    client = Client()
    client.force_login(reader)
    for position in (1, 2, 3):
        assert post_answer(client, first, item_at(first, position), answer_body()).status_code == 200
    english = client.get(reverse("studies:home")).content.decode()
    assert re.search(rf'href="/survey/{first.key}/"[^>]*>Abdomen study A<', english)
    assert re.search(rf'href="/survey/{second.key}/"[^>]*>Abdomen study B<', english)
    assert "Slices left: 17" in english and "Slices left: 20" in english
    italian = client.get(reverse("studies:home"), HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert ">Studio addome A<" in italian and ">Abdomen study B<" in italian  # no Italian title: the English
    assert "Reader study" not in english + italian
    page = client.get(
        reverse("studies:item", args=[first.key, 4]), HTTP_ACCEPT_LANGUAGE="it"
    ).content.decode()
    assert 'data-testid="survey-title">Studio addome A<' in page
    page = client.get(reverse("studies:item", args=[second.key, 1])).content.decode()
    assert 'data-testid="survey-title">Abdomen study B<' in page and "<title>Abdomen study B" in page
    start = client.get(reverse("studies:start", args=[first.key]), HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Guarda il fegato." in start and "Look at the liver." not in start
    start = client.get(
        reverse("studies:start", args=[second.key]), HTTP_ACCEPT_LANGUAGE="it"
    ).content.decode()
    assert "Look at the kidneys." in start


def test_the_item_page_has_an_hu_readout_and_no_practice_feedback_or_confirmation_by_default(reading):
    survey, assignment, client = reading
    html = client.get(reverse("studies:item", args=[assignment.key, 1])).content.decode()
    assert '<output data-testid="hu-value" aria-live="off">–</output>' in html
    assert 'data-testid="practice-feedback"' not in html and 'data-testid="contradiction"' not in html
