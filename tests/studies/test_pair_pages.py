"""The 2AFC reader pages: the start page leads to the pairs, each pair page shows both images through the opaque item
pixel URLs in the plan's left-right order, its markup is the same whatever side is real, and answers go through
the pair answer endpoint to the end."""

import json
import re

import pytest
from django.urls import reverse

from studies.design import StudyDesign
from studies.models import ItemPair, PairAnswer
from tests.studies.conftest import answer_body

CONFIG = re.compile(r'<script id="pair-config" type="application/json">(.*?)</script>', re.DOTALL)


@pytest.fixture
def reading(make_survey, join, client):
    survey = make_survey(per_side=4, design=StudyDesign(task="2afc", rating="five_point"), open_it=True)
    assignment = join(survey)
    client.force_login(assignment.reader)
    return survey, assignment


def page(client, assignment, position):
    response = client.get(reverse("studies:pair", args=[assignment.key, position]))
    html = response.content.decode()
    return response, html, json.loads(CONFIG.search(html).group(1))


def markup(html, config):
    html = CONFIG.sub("", html)
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'data-testid="progress">[^<]*<', "", html)


@pytest.mark.django_db
def test_a_reader_answers_every_pair_and_finishes(reading, client):
    survey, assignment = reading
    start = client.get(reverse("studies:start", args=[assignment.key])).content.decode()
    assert reverse("studies:pair", args=[assignment.key, 1]) in start
    # the single-item pages lead to the pairs, and single answers are refused
    assert 'data-testid="two-afc-intro"' in start
    item_page = client.get(reverse("studies:item", args=[assignment.key, 1]))
    assert item_page.status_code == 302 and item_page.url == reverse("studies:pair", args=[assignment.key, 1])
    item = survey.items.get(pk=assignment.item_order[0])
    single = client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        json.dumps(answer_body(rating=3)),
        content_type="application/json",
    )
    assert single.status_code == 409 and single.json()["error"] == "This survey is answered pair by pair."
    pages = []
    for position in range(1, 5):
        response, html, config = page(client, assignment, position)
        assert response.status_code == 200 and response.headers["Content-Security-Policy"]
        pair_id, real_side = assignment.pair_plan[position - 1]
        pair = ItemPair.objects.get(pk=pair_id)
        by_side = {image["side"]: image["itemId"] for image in config["images"]}
        assert [image["side"] for image in config["images"]] == ["left", "right"]
        assert by_side[real_side] == pair.real_item.public_id
        for image in config["images"]:
            pixels = client.get(image["pixelsUrl"])
            assert pixels.status_code == 200 and len(pixels.content) == survey.payload_bytes
        pages.append(markup(html, config))
        answer = client.post(
            config["answerUrl"],
            json.dumps({"side": "left", "seconds": 2.0, "confidence": 3}),
            content_type="application/json",
        )
        assert answer.status_code == 200, answer.content
    assert len(set(pages)) == 1  # the markup is the same for every pair, real left or right
    assert PairAnswer.objects.filter(assignment=assignment).count() == 4
    assert sum(a.correct for a in PairAnswer.objects.filter(assignment=assignment)) == 2  # balanced sides
    review = client.get(reverse("studies:review", args=[assignment.key]))
    assert review.status_code == 200
    assert client.post(reverse("studies:review", args=[assignment.key])).status_code == 302
    assignment.refresh_from_db()
    assert assignment.completed_at is not None


@pytest.mark.django_db
def test_pair_answers_are_refused_with_one_line_json(reading, client):
    survey, assignment = reading
    _, _, config = page(client, assignment, 1)
    bad = client.post(
        config["answerUrl"], json.dumps({"side": "up", "seconds": 1}), content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["error"] == "side must be left or right"
    assert client.post(config["answerUrl"], "x", content_type="application/json").status_code == 400
    late = client.get(reverse("studies:pair", args=[assignment.key, 3]))
    assert late.status_code == 302 and late.url.endswith("/pair/1/")
    review = client.get(reverse("studies:review", args=[assignment.key]))
    assert review.status_code == 302 and review.url.endswith("/pair/1/")


@pytest.mark.django_db
def test_a_single_slice_survey_sends_pair_pages_to_its_items_and_refuses_pair_answers(
    make_survey, join, client
):
    assignment = join(make_survey(per_side=2, open_it=True))
    client.force_login(assignment.reader)
    shown = client.get(reverse("studies:pair", args=[assignment.key, 1]))
    assert shown.status_code == 302 and shown["Location"] == reverse("studies:item", args=[assignment.key, 1])
    refused = client.post(
        reverse("studies:pair_answer", args=[assignment.key, "x"]), data="{}", content_type="application/json"
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "this survey is answered slice by slice, not in pairs"
    assert not PairAnswer.objects.exists()
