"""Practice items: chosen from slices that are not test items, rendered through the same pipeline, read first
with feedback, stored apart from the test answers and exported in their own file; readers are told when practice is
over."""

import csv
import io
import uuid

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from reports.content.exports import data_dictionary_csv
from reports.downloads import make_download
from reports.selectors import answer_rows, practice_rows
from studies.design import StudyDesign
from studies.models import VIEWER_STATE_FIELDS, Answer, PracticeAnswer, PracticeItem
from studies.selectors import item_at, practice_item_at
from studies.services import StudyError, do_change_survey_settings
from tests.studies.conftest import answer_body
from tests.studies.test_answers import post_answer
from tests.studies.test_reader_pages import config_of

PRACTICE = StudyDesign(practice_items=3, rating="five_point")


@pytest.fixture
def practising(make_survey, join):
    survey = make_survey(open_it=True, design=PRACTICE)
    assignment = join(survey)
    client = Client()
    client.force_login(assignment.reader)
    return survey, assignment, client


def test_practice_items_are_slices_that_are_not_test_items_rendered_alike(practising):
    survey, assignment, _ = practising
    practice = list(PracticeItem.objects.filter(survey=survey))
    assert len(practice) == 3 and len(assignment.practice_order) == 3
    assert sorted(p.pk for p in practice) == sorted(assignment.practice_order)
    assert {p.truth for p in practice} == {"real", "synthetic"}
    assert not {p.slice_id for p in practice} & set(survey.items.values_list("slice_id", flat=True))
    assert all(p.payload and len(p.payload_sha256) == 64 for p in practice)
    assert not {p.public_id for p in practice} & set(survey.items.values_list("public_id", flat=True))


def test_more_practice_items_than_unused_slices_is_refused_in_one_line(make_survey):
    with pytest.raises(StudyError) as error:
        make_survey(per_side=38, design=StudyDesign(practice_items=10))
    assert str(error.value) == (
        "cannot select practice items: 10 practice item(s) need 5 real slice(s) not used as test items; "
        "only 2 are left"
    )


def test_the_number_of_practice_items_is_fixed_at_creation(make_survey):
    survey = make_survey(design=PRACTICE)
    with pytest.raises(StudyError, match="chosen when the survey is created"):
        do_change_survey_settings(survey=survey, actor=None, design=PRACTICE.replace(practice_items=2))


def test_readers_practise_first_with_feedback_and_are_told_when_practice_is_over(practising):
    survey, assignment, client = practising
    start = client.get(reverse("studies:start", args=[assignment.key]))
    assert reverse("studies:practice", args=[assignment.key, 1]) in start.content.decode()
    assert "3 practice slices, each followed by feedback" in start.content.decode()
    # Test items wait until practice is over, on the page and on the server.
    item_page = client.get(reverse("studies:item", args=[assignment.key, 1]))
    assert item_page.status_code == 302 and item_page.url == reverse(
        "studies:practice", args=[assignment.key, 1]
    )
    refused = post_answer(client, assignment, item_at(assignment, 1), answer_body(rating=3))
    assert refused.status_code == 409 and refused.json()["error"] == "Finish the practice items first."
    for position in (1, 2, 3):
        page = client.get(reverse("studies:practice", args=[assignment.key, position]))
        html = page.content.decode()
        assert page.status_code == 200 and f"Practice {position} of 3" in html
        assert 'data-testid="practice-feedback"' in html
        practice_item = practice_item_at(assignment, position)
        config = config_of(page)
        assert config["practice"] is True and config["itemId"] == practice_item.public_id
        pixels = client.get(config["pixelsUrl"])
        assert pixels.status_code == 200 and len(pixels.content) == survey.payload_bytes
        response = post_answer(client, assignment, practice_item, answer_body(choice="real", rating=2))
        assert response.status_code == 200
        assert response.json()["feedback"] == practice_item.truth
    assert response.json()["next_url"] == reverse("studies:practice_over", args=[assignment.key])
    over = client.get(reverse("studies:practice_over", args=[assignment.key]))
    assert 'data-testid="practice-over"' in over.content.decode()
    assert reverse("studies:item", args=[assignment.key, 1]) in over.content.decode()
    test_page = client.get(reverse("studies:item", args=[assignment.key, 1]))
    assert test_page.status_code == 200 and config_of(test_page)["practice"] is False
    assert 'data-testid="practice-feedback"' not in test_page.content.decode()
    answered = post_answer(client, assignment, item_at(assignment, 1), answer_body(rating=3))
    assert answered.status_code == 200 and "feedback" not in answered.json()
    # Practice pages cannot be read twice.
    again = client.get(reverse("studies:practice", args=[assignment.key, 1]))
    assert again.status_code == 302


def test_practice_answers_are_in_their_own_export_never_in_the_test_answers(practising):
    survey, assignment, client = practising
    for position in (1, 2, 3):
        post_answer(
            client,
            assignment,
            practice_item_at(assignment, position),
            answer_body(rating=4, contradiction_confirmed=True),
        )
    post_answer(client, assignment, item_at(assignment, 1), answer_body(rating=1))
    assert PracticeAnswer.objects.count() == 3 and Answer.objects.count() == 1
    assert [row.item for row in answer_rows([survey])] == [item_at(assignment, 1).public_id]
    rows = practice_rows([survey])
    assert sorted(r.practice_item for r in rows) == sorted(
        practice_item_at(assignment, n).public_id for n in (1, 2, 3)
    )
    assert {(r.answer, r.rating) for r in rows} == {("real", 4)}
    download = make_download("practice_csv", [survey], user=None)
    lines = download.content.decode().splitlines()
    assert lines[0] == (
        "survey,reader,practice_item,truth,answer,rating,seconds_on_slice,answered_at,window_width,window_level,"
        "window_changed,zoom,invert_used,stack_slices,slices_visited,seconds_per_slice"
    )
    assert len(lines) == 4 and download.filename.endswith("practice.csv")
    assert "practice.csv,practice_item,text" in data_dictionary_csv().decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rating": 9}, "rating must be between 1 and 5"),
        ({"choice": "perhaps"}, "choice must be one of"),
        ({"seconds_on_slice": -1}, "seconds_on_slice must be between"),
        ({"client_key": "x"}, "client_key must be a UUID"),
        ({"window_width": "wide"}, "window_width must be a number"),
        ({"window_level": 1e9}, "window_level must be between"),
        ({"zoom": 0}, "zoom must be between"),
        ({"window_changed": "yes"}, "window_changed must be true or false"),
        ({"invert_used": 1}, "invert_used must be true or false"),
        ({"slices_visited": [0, 1]}, "this survey shows one slice"),
    ],
)
def test_a_garbage_practice_answer_is_a_one_line_400_and_nothing_is_stored(practising, overrides, message):
    survey, assignment, client = practising
    response = post_answer(
        client, assignment, practice_item_at(assignment, 1), answer_body(**{"rating": 3, **overrides})
    )
    assert response.status_code == 400 and response.json()["error"].startswith(message)
    assert not PracticeAnswer.objects.exists()


def test_the_same_practice_answer_sent_twice_is_stored_once(practising):
    survey, assignment, client = practising
    body = answer_body(rating=3)
    first = post_answer(client, assignment, practice_item_at(assignment, 1), body)
    retry = post_answer(client, assignment, practice_item_at(assignment, 1), body)
    assert first.status_code == retry.status_code == 200 and retry.json()["duplicate"] is True
    assert PracticeAnswer.objects.count() == 1
    second = post_answer(client, assignment, practice_item_at(assignment, 1), answer_body(rating=2))
    assert second.status_code == 409


def test_a_practice_answer_keeps_the_viewer_state_as_a_test_answer_does_and_exports_it(practising):
    survey, assignment, client = practising
    practice_item = practice_item_at(assignment, 1)
    body = answer_body(
        rating=2, window_width=1500, window_level=-600, zoom=2.5, window_changed=True, invert_used=True
    )
    assert post_answer(client, assignment, practice_item, body).status_code == 200
    stored = PracticeAnswer.objects.get()
    assert (stored.window_width, stored.window_level, stored.zoom) == (1500, -600, 2.5)
    assert stored.window_changed is True and stored.invert_used is True
    assert stored.slices_visited == [] and stored.seconds_per_slice == []
    (row,) = csv.DictReader(io.StringIO(make_download("practice_csv", [survey], user=None).content.decode()))
    assert (row["window_width"], row["window_level"], row["zoom"]) == ("1500.0", "-600.0", "2.5")
    assert (row["window_changed"], row["invert_used"], row["stack_slices"]) == ("1", "1", "1")
    assert row["slices_visited"] == row["seconds_per_slice"] == ""
    assert "practice.csv,invert_used,integer" in data_dictionary_csv().decode()
    assert not Answer.objects.exists() and answer_rows([survey]) == []


@pytest.fixture
def practising_a_stack(make_survey, join):
    survey = make_survey(open_it=True, design=StudyDesign(practice_items=2, stack_k=1))
    assignment = join(survey)
    client = Client()
    client.force_login(assignment.reader)
    return survey, assignment, client


def test_a_practice_stack_answer_keeps_the_slices_visited_and_the_seconds_on_each(practising_a_stack):
    survey, assignment, client = practising_a_stack
    body = answer_body(seconds_on_slice=6.0, slices_visited=[0, -1, 1], seconds_per_slice=[1.5, 3.0, 1.5])
    assert post_answer(client, assignment, practice_item_at(assignment, 1), body).status_code == 200
    stored = PracticeAnswer.objects.get()
    assert stored.slices_visited == [0, -1, 1] and stored.seconds_per_slice == [1.5, 3.0, 1.5]
    (row,) = csv.DictReader(io.StringIO(make_download("practice_csv", [survey], user=None).content.decode()))
    assert (row["stack_slices"], row["slices_visited"], row["seconds_per_slice"]) == (
        "3",
        "0 -1 1",
        "1.5 3.0 1.5",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slices_visited": [1, 0]}, "slices_visited must start at the centre slice (offset 0)"),
        ({"slices_visited": [0, 0]}, "slices_visited must name each offset once"),
        ({"slices_visited": [0, 2]}, "slices_visited must be a list of offsets -1..1"),
        ({"seconds_per_slice": [1, 2]}, "seconds_per_slice must be a list of 3 numbers"),
        ({"seconds_per_slice": [1, -2, 3]}, "seconds_per_slice must be between 0 and"),
        ({"slices_visited": None}, "slices_visited must be a list of offsets -1..1"),
    ],
)
def test_a_garbage_practice_stack_answer_is_a_one_line_400_and_nothing_is_stored(
    practising_a_stack, overrides, message
):
    survey, assignment, client = practising_a_stack
    body = answer_body(**{"slices_visited": [0], "seconds_per_slice": [0, 3.5, 0], **overrides})
    response = post_answer(client, assignment, practice_item_at(assignment, 1), body)
    assert response.status_code == 400 and response.json()["error"].startswith(message)
    assert "\n" not in response.json()["error"]
    assert not PracticeAnswer.objects.exists()


def test_the_database_refuses_a_practice_answer_with_only_part_of_the_viewer_state(practising):
    survey, assignment, _ = practising
    practice_item = practice_item_at(assignment, 1)
    fields = dict(assignment=assignment, practice_item=practice_item, choice="real", seconds_on_slice=1.0)
    with pytest.raises(IntegrityError, match="practice_viewer_state_all_or_none"), transaction.atomic():
        PracticeAnswer.objects.create(**fields, client_key=uuid.uuid4(), window_width=400, window_level=40)
    # Every field empty: a practice answer stored before the viewer state was recorded, exported with empty cells.
    PracticeAnswer.objects.create(**fields, client_key=uuid.uuid4())
    (row,) = csv.DictReader(io.StringIO(make_download("practice_csv", [survey], user=None).content.decode()))
    assert [row[name] for name in VIEWER_STATE_FIELDS] == [""] * len(VIEWER_STATE_FIELDS)
