"""Study designs: the value object validates itself, a survey stores it, and readers' ratings are validated by
the survey's scale, stored per answer and per revision, and exported; garbage gets a one-line 400 and nothing is
stored."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from reports.content.exports import ANSWER_COLUMNS, answers_csv, data_dictionary_csv
from reports.selectors import answer_rows
from studies.design import (
    RATING_FIVE_POINT,
    RATING_SLIDER,
    DesignError,
    StudyDesign,
    check_rating,
    derive_choice,
    rating_contradicts,
)
from studies.models import Answer, AnswerRevision, Survey
from studies.selectors import item_at, rendering_fingerprint
from studies.services import StudyError, do_change_survey_settings
from tests.studies.conftest import answer_body
from tests.studies.test_answers import post_answer
from tests.studies.test_reader_pages import config_of

FIVE = StudyDesign(rating=RATING_FIVE_POINT)
SLIDER = StudyDesign(rating=RATING_SLIDER)
DERIVED = StudyDesign(rating=RATING_FIVE_POINT, choice_from_rating=True)


@pytest.fixture
def rated(make_survey, join):
    def make(design, **options):
        survey = make_survey(open_it=True, design=design, **options)
        assignment = join(survey)
        client = Client()
        client.force_login(assignment.reader)
        return survey, assignment, client

    return make


# --- the value object -----------------------------------------------------------------------------------------


def test_the_default_design_has_no_rating_the_five_ct_presets_and_no_practice():
    design = StudyDesign()
    assert design.rating == "none" and not design.has_rating and design.asks_choice
    assert [(p.name, p.width, p.level) for p in design.window_presets] == [
        ("soft-tissue", 400, 40),
        ("liver", 150, 90),
        ("lung", 1500, -600),
        ("bone", 2500, 480),
        ("mediastinum", 350, 50),
    ]
    assert design.practice_items == 0


def test_a_design_survives_its_json_unchanged():
    design = StudyDesign(
        rating=RATING_SLIDER,
        choice_from_rating=True,
        window_presets=[{"name": "brain", "width": 80, "level": 40}],
        practice_items=3,
    )
    assert StudyDesign.from_dict(json.loads(json.dumps(design.to_dict()))) == design


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rating": "seven_point"}, "unknown confidence rating 'seven_point'"),
        ({"choice_from_rating": True}, "derived from the rating only when there is a rating"),
        ({"rating": "slider", "choice_from_rating": "yes"}, "choice_from_rating must be true or false"),
        ({"practice_items": 11}, "practice items must be 0..10, not 11"),
        ({"practice_items": -1}, "practice items must be 0..10"),
        ({"practice_items": 2.5}, "practice_items must be a whole number"),
        ({"window_presets": []}, "1..9 window presets, not 0"),
        ({"window_presets": "lung"}, "window presets must be a list"),
        ({"window_presets": [{"name": "a", "width": 0, "level": 0}]}, "width of preset 'a' must be 1..5000"),
        ({"window_presets": [{"name": "a", "width": 10, "level": 9000}]}, "level of preset 'a' must be"),
        ({"window_presets": [{"name": "", "width": 10, "level": 0}]}, "a name of 1..32 characters"),
        ({"window_presets": [{"name": "<b>", "width": 10, "level": 0}]}, "characters that are not allowed"),
        ({"window_presets": [{"name": "a", "width": "1", "level": 0}]}, "must be a whole number"),
        ({"window_presets": [["a", 10, 0], ["A", 20, 0]]}, "window preset names must differ"),
        ({"window_presets": [{"name": "a", "width": 10}]}, "a name, a width and a level"),
        ({"stack": 3}, "unknown study design option(s): stack"),
    ],
)
def test_a_design_that_cannot_be_used_is_refused_in_one_line(data, message):
    with pytest.raises(DesignError) as error:
        StudyDesign.from_dict(data)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_ratings_are_checked_against_the_survey_scale():
    assert check_rating(StudyDesign(), None) is None
    assert check_rating(FIVE, 1) == 1 and check_rating(FIVE, 5) == 5
    assert check_rating(SLIDER, 0) == 0 and check_rating(SLIDER, 100) == 100
    for design, value in ((FIVE, 0), (FIVE, 6), (SLIDER, 101), (SLIDER, -1)):
        with pytest.raises(DesignError, match="between"):
            check_rating(design, value)
    for value in (3.5, "3", True, [3]):
        with pytest.raises(DesignError, match="whole number"):
            check_rating(FIVE, value)
    with pytest.raises(DesignError, match="rating is required"):
        check_rating(FIVE, None)
    with pytest.raises(DesignError, match="asks for no rating"):
        check_rating(StudyDesign(), 3)


def test_the_derived_choice_splits_each_scale_at_its_midpoint():
    assert [derive_choice(FIVE, r) for r in range(1, 6)] == [
        "real",
        "real",
        "indeterminable",
        "synthetic",
        "synthetic",
    ]
    assert [derive_choice(SLIDER, r) for r in (0, 49, 50, 51, 100)] == [
        "real",
        "real",
        "indeterminable",
        "synthetic",
        "synthetic",
    ]


# --- surveys and answers --------------------------------------------------------------------------------------


def test_a_survey_stores_its_design_and_its_fingerprint_changes_with_it(make_survey):
    survey = make_survey(design=FIVE)
    survey = Survey.objects.get(pk=survey.pk)
    assert survey.design == FIVE
    before = rendering_fingerprint(survey)
    do_change_survey_settings(survey=survey, actor=None, design=SLIDER)
    survey.refresh_from_db()
    assert survey.design == SLIDER and rendering_fingerprint(survey) != before


def test_the_design_of_an_open_survey_is_frozen(make_survey):
    survey = make_survey(design=FIVE, open_it=True)
    with pytest.raises(StudyError, match="its settings are frozen"):
        do_change_survey_settings(survey=survey, actor=None, design=SLIDER)
    survey.refresh_from_db()
    assert survey.design == FIVE


def test_a_five_point_rating_is_stored_with_the_answer_and_each_revision(rated):
    survey, assignment, client = rated(FIVE, allow_going_back=True)
    item = item_at(assignment, 1)
    assert post_answer(client, assignment, item, answer_body(choice="synthetic", rating=4)).status_code == 200
    changed = answer_body(choice="real", rating=2, base_revision=1)
    assert post_answer(client, assignment, item, changed).status_code == 200
    answer = Answer.objects.get(assignment=assignment, item=item)
    assert (answer.choice, answer.rating) == ("real", 2)
    assert list(answer.revisions.values_list("revision", "choice", "rating")) == [
        (1, "synthetic", 4),
        (2, "real", 2),
    ]


def test_a_derived_choice_is_computed_on_the_server_from_the_rating(rated):
    survey, assignment, client = rated(DERIVED)
    item = item_at(assignment, 1)
    assert post_answer(client, assignment, item, answer_body(choice=None, rating=5)).status_code == 200
    assert Answer.objects.get(item=item).choice == "synthetic"
    second = item_at(assignment, 2)
    response = post_answer(client, assignment, second, answer_body(choice="real", rating=4))
    assert response.status_code == 400
    assert (
        response.json()["error"] == "choice is derived from the rating in this survey (synthetic); send none"
    )


@pytest.mark.parametrize(
    ("design", "overrides", "message"),
    [
        (FIVE, {"rating": 6}, "rating must be between 1 and 5"),
        (FIVE, {"rating": 0}, "rating must be between 1 and 5"),
        (FIVE, {"rating": 2.5}, "rating must be a whole number 1..5"),
        (FIVE, {"rating": "4"}, "rating must be a whole number 1..5"),
        (FIVE, {"rating": True}, "rating must be a whole number 1..5"),
        (FIVE, {"rating": None}, "rating is required (1..5)"),
        (SLIDER, {"rating": 101}, "rating must be between 0 and 100"),
        (SLIDER, {"rating": -5}, "rating must be between 0 and 100"),
        (SLIDER, {"rating": {"value": 50}}, "rating must be a whole number 0..100"),
        (StudyDesign(), {"rating": 3}, "this survey asks for no rating"),
        (DERIVED, {"choice": None, "rating": None}, "rating is required (1..5)"),
        (DERIVED, {"choice": "maybe", "rating": 3}, "choice is derived from the rating"),
    ],
)
def test_a_garbage_rating_is_a_one_line_400_and_nothing_is_stored(rated, design, overrides, message):
    survey, assignment, client = rated(design)
    response = post_answer(client, assignment, item_at(assignment, 1), answer_body(**overrides))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith(message) and "\n" not in error
    assert not Answer.objects.exists() and not AnswerRevision.objects.exists()


def test_the_page_shows_the_survey_scale_unset_and_hides_the_choice_when_it_is_derived(rated):
    survey, assignment, client = rated(DERIVED)
    page = client.get(f"/survey/{assignment.key}/1/")
    html = page.content.decode()
    assert config_of(page)["rating"] == {
        "scale": "five_point", "min": 1, "max": 5, "asksChoice": False, "confirmContradictions": False
    }  # fmt: skip
    assert all(f'data-testid="rating-{n}"' in html for n in range(1, 6))
    assert 'aria-pressed="true"' not in html.split('data-testid="rating"')[1].split("</fieldset>")[0]
    assert 'data-testid="answer-real"' not in html
    assert "Shift+1–5" in html  # the keyboard help names the rating keys
    survey, assignment, client = rated(SLIDER, name="Slider survey")
    html = client.get(f"/survey/{assignment.key}/1/").content.decode()
    assert 'data-testid="rating-slider" data-set="false"' in html
    assert 'data-testid="answer-real"' in html


def test_the_rating_is_in_the_answers_csv_and_the_data_dictionary(rated):
    survey, assignment, client = rated(FIVE)
    post_answer(client, assignment, item_at(assignment, 1), answer_body(choice="synthetic", rating=5))
    rows = answer_rows([survey])
    assert [(r.rating_scale, r.rating, r.choice_derived) for r in rows] == [("five_point", 5, False)]
    lines = answers_csv(rows).decode().splitlines()
    header = lines[0].split(",")
    record = dict(zip(header, lines[1].split(","), strict=True))
    assert (record["rating_scale"], record["rating"], record["choice_derived"]) == ("five_point", "5", "0")
    dictionary = data_dictionary_csv().decode()
    names = {c.name for c in ANSWER_COLUMNS}
    assert {"rating", "rating_scale", "choice_derived"} <= names
    assert "answers.csv,rating,integer,1..5 | 0..100" in dictionary


# --- viewer: invert and the survey's window presets ----------------------------------------------------------


def test_invert_used_is_stored_with_the_answer_and_exported(rated):
    survey, assignment, client = rated(StudyDesign())
    item = item_at(assignment, 1)
    assert post_answer(client, assignment, item, answer_body(invert_used=True)).status_code == 200
    second = item_at(assignment, 2)
    assert post_answer(client, assignment, second, answer_body()).status_code == 200
    stored = dict(Answer.objects.values_list("item_id", "invert_used"))
    assert stored == {item.pk: True, second.pk: False}
    assert AnswerRevision.objects.get(answer__item=item).invert_used is True
    by_item = {row.item: row.invert_used for row in answer_rows([survey])}
    assert by_item == {item.public_id: True, second.public_id: False}
    assert "answers.csv,invert_used,integer,0 | 1" in data_dictionary_csv().decode()


@pytest.mark.parametrize("value", ["yes", 1, None, [True]])
def test_a_garbage_invert_flag_is_a_one_line_400_and_nothing_is_stored(rated, value):
    survey, assignment, client = rated(StudyDesign())
    response = post_answer(client, assignment, item_at(assignment, 1), answer_body(invert_used=value))
    assert response.status_code == 400
    assert response.json()["error"] == "invert_used must be true or false"
    assert not Answer.objects.exists()


def test_the_page_offers_invert_and_the_survey_own_window_presets(rated):
    presets = [{"name": "brain", "width": 80, "level": 40}, {"name": "subdural", "width": 200, "level": 75}]
    survey, assignment, client = rated(StudyDesign(window_presets=presets))
    page = client.get(f"/survey/{assignment.key}/1/")
    html = page.content.decode()
    assert config_of(page)["presets"] == [
        {"key": "1", "name": "brain", "width": 80, "level": 40},
        {"key": "2", "name": "subdural", "width": 200, "level": 75},
    ]
    assert 'data-testid="preset-brain"' in html and 'data-testid="preset-subdural"' in html
    assert 'data-testid="preset-liver"' not in html
    assert 'data-testid="invert"' in html and "V: invert the grey scale" in html
    assert "1–2: window presets" in html


# --- a rating that contradicts the chosen answer ----------------------------------------------------------------


def test_a_rating_contradicts_the_choice_only_when_it_leans_the_other_way():
    assert rating_contradicts(FIVE, "indeterminable", 4) and rating_contradicts(FIVE, "real", 4)
    assert rating_contradicts(FIVE, "synthetic", 2) and rating_contradicts(FIVE, "indeterminable", 1)
    assert not rating_contradicts(FIVE, "synthetic", 4) and not rating_contradicts(FIVE, "real", 1)
    assert not rating_contradicts(FIVE, "real", 3) and not rating_contradicts(FIVE, "synthetic", 3)
    assert rating_contradicts(SLIDER, "real", 51) and not rating_contradicts(SLIDER, "real", 50)
    assert not rating_contradicts(StudyDesign(), "real", None)
    assert FIVE.checks_contradictions and not DERIVED.checks_contradictions
    assert not FIVE.replace(confirm_contradictions=False).checks_contradictions
    assert not StudyDesign().checks_contradictions


def test_a_contradicting_answer_is_stored_only_once_the_reader_confirmed_it(rated):
    survey, assignment, client = rated(FIVE)
    item = item_at(assignment, 1)
    refused = post_answer(client, assignment, item, answer_body(choice="indeterminable", rating=4))
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "the rating 4 leans against the answer 'indeterminable': confirm it (contradiction_confirmed)"
    )
    assert not Answer.objects.filter(assignment=assignment).exists()
    garbage = answer_body(choice="real", rating=4, contradiction_confirmed="yes")
    assert post_answer(client, assignment, item, garbage).json()["error"] == (
        "contradiction_confirmed must be true or false"
    )
    confirmed = answer_body(choice="indeterminable", rating=4, contradiction_confirmed=True)
    assert post_answer(client, assignment, item, confirmed).status_code == 200
    assert Answer.objects.get(assignment=assignment).rating == 4
    config = config_of(client.get(reverse("studies:item", args=[assignment.key, 2])))
    assert config["rating"]["confirmContradictions"] is True


def test_a_survey_without_the_confirmation_takes_a_contradicting_answer_as_it_comes(rated):
    survey, assignment, client = rated(FIVE.replace(confirm_contradictions=False))
    response = post_answer(client, assignment, item_at(assignment, 1), answer_body(choice="real", rating=5))
    assert response.status_code == 200
    page = client.get(reverse("studies:item", args=[assignment.key, 2]))
    assert config_of(page)["rating"]["confirmContradictions"] is False
    assert 'data-testid="contradiction"' not in page.content.decode()
