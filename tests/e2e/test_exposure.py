"""A time-limited exposure survey read end to end in Chromium: a 1-up/1-down staircase between 250 ms and
1,000 ms, so the reader's items are requested at both. Every answered item's image was on screen (measured by the
page from requestAnimationFrame timestamps) within 20 ms of its requested exposure; the mask that follows is the
same on every item; window and zoom keys do nothing; the answers wait for the mask."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from studies.models import Answer, Assignment, Survey
from tests.e2e.conftest import INVITATION_LINE, MATRIX, MODEL_DATASET, REAL_DATASET, import_phantom_datasets
from tests.e2e.reader import ReaderPage, join_with_new_account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PER_SIDE = 3
TOTAL = 2 * PER_SIDE
SCREEN_TOLERANCE_MS = 20


@pytest.fixture
def exposure_survey(transactional_db, live_server, settings, phantom_folders):
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(phantom_folders)
    out = io.StringIO()
    call_command(
        "create_survey",
        "--name", "Exposure survey", "--model", MODEL_DATASET, "--real-dataset", REAL_DATASET,
        "--real", str(PER_SIDE), "--synthetic", str(PER_SIDE), "--seed", "7", "--matrix", str(MATRIX),
        "--exposure", "staircase", "--exposure-ms", "1000", "--exposure-min-ms", "250",
        "--exposure-max-ms", "1000", "--exposure-step-ms", "750", "--exposure-up", "1", "--exposure-down", "1",
        "--exposure-reversals", "2", "--open", "--readers", "1",
        stdout=out,
    )  # fmt: skip
    survey = Survey.objects.get(name="Exposure survey")
    assert survey.is_open and survey.design.exposure == "staircase"
    return survey, INVITATION_LINE.findall(out.getvalue())


def canvas_pixels(page) -> str:
    return page.evaluate("() => document.querySelector('[data-testid=\"slice-canvas\"]').toDataURL()")


def test_a_staircase_survey_shows_each_image_for_its_requested_exposure_then_the_mask(
    exposure_survey, new_context
):
    survey, links = exposure_survey
    page = new_context().new_page()
    key = join_with_new_account(page, links[0], "reader-exposure")
    assignment = Assignment.objects.get(key=key)
    reader = ReaderPage(page, TOTAL)
    masks = set()
    for position in range(1, TOTAL + 1):
        reader.expect_position(position)
        canvas = reader.test_id("slice-canvas")
        expect(canvas).to_have_attribute("data-exposure", "masked", timeout=10_000)
        masks.add(canvas_pixels(page))
        expect(reader.test_id("zoom-in")).to_be_disabled()
        page.keyboard.press("3")  # a window preset: off during an exposure survey
        page.keyboard.press("+")
        reader.expect_window(
            survey.display_policy.default_window_width, survey.display_policy.default_window_level
        )
        expect(reader.test_id("zoom-level")).to_have_text("100")
        # Right on odd positions, wrong on even ones: 1,000 ms, 250 ms, 1,000 ms, ... (1-up/1-down).
        item = assignment.survey.items.get(pk=assignment.item_order[position - 1])
        wrong = "real" if item.truth == "synthetic" else "synthetic"
        reader.answer_with_keyboard(item.truth if position % 2 else wrong)
        if position < TOTAL:
            reader.expect_position(position + 1)
    expect(page).to_have_url(re.compile(r"/review/$"))
    answers = list(Answer.objects.filter(assignment=assignment).order_by("created_at"))
    assert len(answers) == TOTAL
    assert [a.exposure_requested_ms for a in answers] == [1000, 250] * PER_SIDE
    for answer in answers:
        assert abs(answer.exposure_measured_ms - answer.exposure_requested_ms) <= SCREEN_TOLERANCE_MS, answer
        assert answer.exposure_rejected is False
    assert len(masks) == 1  # the same noise, size and grey level after every image
