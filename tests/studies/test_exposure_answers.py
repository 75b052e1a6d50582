"""Time-limited exposure on the server: the exposure each item is requested at (fixed, or the reader's staircase
from their earlier answers), the measured exposure stored with the answer, refused beyond two frames and counted."""

import json

import pytest
from django.urls import reverse

from studies.design import StudyDesign
from studies.exposure_track import rejected_exposures, requested_exposure_ms, staircase_track
from studies.models import Answer
from studies.selectors import item_at
from studies.services import parse_answer_input
from studies.services.errors import AnswerRejected
from tests.studies.conftest import answer_body

STAIRCASE = StudyDesign(
    exposure="staircase",
    exposure_ms=500,
    exposure_step_ms=100,
    exposure_min_ms=100,
    exposure_max_ms=1000,
    exposure_up=1,
    exposure_down=3,
    exposure_reversals=4,
)
FIXED = StudyDesign(exposure="fixed", exposure_ms=250)


@pytest.fixture
def reading(make_survey, join, client):
    def start(design):
        survey = make_survey(open_it=True, per_side=4, design=design)
        assignment = join(survey)
        client.force_login(assignment.reader)
        return survey, assignment

    return start


def page_config(client, assignment, position) -> dict:
    html = client.get(reverse("studies:item", args=[assignment.key, position])).content.decode()
    return json.loads(html.split('id="reader-config" type="application/json">')[1].split("</script>")[0])


def post(client, assignment, item, **overrides):
    return client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        json.dumps(answer_body(**overrides)),
        content_type="application/json",
    )


def test_a_fixed_exposure_is_requested_for_every_item_with_the_survey_s_mask(reading, client):
    survey, assignment = reading(FIXED)
    first = page_config(client, assignment, 1)["exposure"]
    assert first["mode"] == "fixed" and first["requestedMs"] == 250 and isinstance(first["maskSeed"], int)
    item = item_at(assignment, 1)
    assert post(client, assignment, item, exposure_measured_ms=266.7).status_code == 200
    assert page_config(client, assignment, 2)["exposure"] == first


def test_the_measured_exposure_is_stored_and_one_off_by_more_than_two_frames_is_refused_and_counted(
    reading, client
):
    survey, assignment = reading(FIXED)
    assert post(client, assignment, item_at(assignment, 1), exposure_measured_ms=283.9).status_code == 200
    assert post(client, assignment, item_at(assignment, 2), exposure_measured_ms=284.1).status_code == 200
    kept, refused = Answer.objects.order_by("id")
    assert (kept.exposure_requested_ms, kept.exposure_measured_ms, kept.exposure_rejected) == (
        250,
        283.9,
        False,
    )
    assert (refused.exposure_requested_ms, refused.exposure_measured_ms, refused.exposure_rejected) == (
        250,
        284.1,
        True,
    )
    assert refused.revisions.get().exposure_rejected is True
    assert rejected_exposures(assignment) == 1


@pytest.mark.parametrize(
    "value, line",
    [
        (None, "exposure_measured_ms must be a number (the image's time on screen, ms)"),
        ("250", "exposure_measured_ms must be a number (the image's time on screen, ms)"),
        (True, "exposure_measured_ms must be a number (the image's time on screen, ms)"),
        (-1, "exposure_measured_ms must be between 0 and 60000"),
        (1e9, "exposure_measured_ms must be between 0 and 60000"),
    ],
)
def test_a_missing_or_garbage_measurement_gets_a_one_line_400_and_nothing_is_stored(
    reading, client, value, line
):
    survey, assignment = reading(FIXED)
    response = post(client, assignment, item_at(assignment, 1), exposure_measured_ms=value)
    assert response.status_code == 400 and response.json()["error"] == line
    assert not Answer.objects.exists()


def test_a_survey_without_exposure_refuses_a_measurement():
    with pytest.raises(AnswerRejected, match="this survey has no time-limited exposure"):
        parse_answer_input(answer_body(exposure_measured_ms=250), StudyDesign())
    assert parse_answer_input(answer_body(), StudyDesign()).exposure_measured_ms is None


def test_the_staircase_shortens_after_three_correct_answers_and_lengthens_after_a_wrong_one(reading, client):
    survey, assignment = reading(STAIRCASE)
    requested = []
    for position in range(1, 5):
        config = page_config(client, assignment, position)["exposure"]
        requested.append(config["requestedMs"])
        item = item_at(assignment, position)
        choice = item.truth if position < 4 else ("real" if item.truth == "synthetic" else "synthetic")
        assert (
            post(
                client, assignment, item, choice=choice, exposure_measured_ms=config["requestedMs"]
            ).status_code
            == 200
        )
    assert requested == [500, 500, 500, 400]
    assert requested_exposure_ms(assignment) == 500
    stored = list(Answer.objects.order_by("id").values_list("exposure_requested_ms", flat=True))
    assert stored == requested
    assert staircase_track(assignment).reversal_levels == (400,)


def test_a_refused_measurement_does_not_move_the_staircase(reading, client):
    survey, assignment = reading(STAIRCASE)
    for position in range(1, 4):
        item = item_at(assignment, position)
        measured = 500 if position != 2 else 900
        assert (
            post(client, assignment, item, choice=item.truth, exposure_measured_ms=measured).status_code
            == 200
        )
    assert requested_exposure_ms(assignment) == 500  # two accepted correct answers only
    assert rejected_exposures(assignment) == 1


def test_the_requested_exposure_does_not_depend_on_the_item_about_to_be_shown(reading, client):
    survey, assignment = reading(STAIRCASE)
    # Whatever the next item's truth, the page's exposure is the track's: the same for every unanswered item.
    before = requested_exposure_ms(assignment)
    truths = {item_at(assignment, p).truth for p in range(1, 9)}
    assert truths == {"real", "synthetic"}
    assert page_config(client, assignment, 1)["exposure"]["requestedMs"] == before


def test_a_draft_cannot_be_changed_to_go_back_with_an_exposure_nor_to_an_exposure_going_back(make_survey):
    from studies.services import StudyError, do_change_survey_settings

    timed = make_survey(per_side=2, design=FIXED)
    with pytest.raises(StudyError, match="allow_going_back must be false"):
        do_change_survey_settings(survey=timed, actor=None, allow_going_back=True)
    going_back = make_survey(per_side=2, allow_going_back=True)
    with pytest.raises(StudyError, match="allow_going_back must be false"):
        do_change_survey_settings(survey=going_back, actor=None, design=FIXED)
    timed.refresh_from_db()
    going_back.refresh_from_db()
    assert not timed.allow_going_back and not going_back.design.has_exposure
