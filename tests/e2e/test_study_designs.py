"""A survey with a 5-point confidence rating and three practice items, read end to end in the browser by keyboard
and by mouse: practice with feedback, the practice-over page, every test item rated, invert, the end. The pictures
in docs/screenshots/ (rated-practice-*, rated-*) are taken here."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from scripts.screenshots import capture_reader_page
from studies.models import Answer, Assignment, PracticeAnswer, Survey
from tests.e2e.conftest import (
    INVITATION_LINE,
    MATRIX,
    MODEL_DATASET,
    PER_SIDE,
    REAL_DATASET,
    import_phantom_datasets,
)
from tests.e2e.reader import ReaderPage, join_with_new_account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRACTICE = 3
TOTAL = 2 * PER_SIDE


@pytest.fixture
def rated_survey(transactional_db, live_server, settings, phantom_folders):
    """An open survey (audited) with a 5-point rating and three practice items, and one invitation link."""
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(phantom_folders)
    out = io.StringIO()
    call_command(
        "create_survey",
        "--name", "Rated survey", "--model", MODEL_DATASET, "--real-dataset", REAL_DATASET,
        "--real", str(PER_SIDE), "--synthetic", str(PER_SIDE), "--seed", "7", "--matrix", str(MATRIX),
        "--rating", "five_point", "--practice-items", str(PRACTICE), "--open", "--readers", "1",
        stdout=out,
    )  # fmt: skip
    survey = Survey.objects.get(name="Rated survey")
    assert survey.is_open and survey.practice_items.count() == PRACTICE
    return survey, INVITATION_LINE.findall(out.getvalue())


def confirm_contradiction(reader: ReaderPage, *, keyboard: bool) -> None:
    """The rating leans against the answer: the page asks first, and the reader saves it anyway."""
    expect(reader.test_id("contradiction")).to_be_visible()
    expect(reader.test_id("contradiction-message")).to_contain_text("leans the other way from your answer")
    expect(reader.test_id("confirm-contradiction")).to_be_focused()
    if keyboard:
        reader.page.keyboard.press("Enter")
    else:
        reader.test_id("confirm-contradiction").click()


def expect_feedback_then_continue(reader: ReaderPage, *, keyboard: bool, answered: str) -> str:
    feedback = reader.test_id("practice-feedback")
    expect(feedback).to_be_visible()
    truth = feedback.get_attribute("data-slice")
    outcome = "undecided" if answered == "indeterminable" else "right" if answered == truth else "wrong"
    expect(feedback).to_have_attribute("data-outcome", outcome)
    expect(reader.test_id("practice-slice")).to_have_text(f"Practice: this was a {truth} slice.")
    words = {"right": "✓ Right", "wrong": "✗ Wrong", "undecided": "– Indeterminable: neither right nor wrong"}
    expect(reader.test_id("practice-outcome")).to_have_text(words[outcome])
    expect(reader.test_id("submit-answer")).to_contain_text("Continue")
    if keyboard:
        reader.page.keyboard.press("Enter")
    else:
        reader.test_id("submit-answer").click()
    return truth


def test_a_rated_survey_with_practice_items_read_end_to_end_by_keyboard_and_mouse(
    rated_survey, browser, new_context, screenshot_folder
):
    survey, links = rated_survey
    context = new_context()
    page = context.new_page()
    key = join_with_new_account(page, links[0], "reader-rated")
    assignment = Assignment.objects.get(key=key)
    practice = ReaderPage(page, PRACTICE)
    expect(practice.test_id("progress")).to_have_text(f"Practice 1 of {PRACTICE}")
    practice.wait_for_slice()
    expect(practice.test_id("rating-1")).to_have_attribute("aria-pressed", "false")
    expect(practice.test_id("submit-answer")).to_be_disabled()
    capture_reader_page(
        browser,
        url=page.url,
        storage_state=context.storage_state(),
        outdir=screenshot_folder,
        name="rated-practice",
    )

    # Practice 1 by keyboard: + zooms, Shift+4 rates, R chooses, Enter saves; feedback; Enter goes on.
    page.keyboard.press("+")
    expect(practice.test_id("zoom-level")).to_have_text("125")
    page.keyboard.press("Shift+Digit4")
    expect(practice.test_id("rating-4")).to_have_attribute("aria-pressed", "true")
    practice.answer_with_keyboard("real")
    confirm_contradiction(practice, keyboard=True)
    truths = [expect_feedback_then_continue(practice, keyboard=True, answered="real")]

    # Practice 2 by mouse, with the lung preset.
    expect(practice.test_id("progress")).to_have_text(f"Practice 2 of {PRACTICE}")
    practice.wait_for_slice()
    practice.test_id("preset-lung").click()
    practice.expect_window(1500, -600)
    practice.test_id("rating-2").click()
    practice.choose("synthetic")
    practice.submit_with_mouse()
    confirm_contradiction(practice, keyboard=False)
    truths.append(expect_feedback_then_continue(practice, keyboard=False, answered="synthetic"))

    # Practice 3: Shift+arrows from unset start at the midpoint, then step; V inverts.
    expect(practice.test_id("progress")).to_have_text(f"Practice 3 of {PRACTICE}")
    practice.wait_for_slice()
    page.keyboard.press("Shift+ArrowRight")
    expect(practice.test_id("rating-3")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Shift+ArrowRight")
    expect(practice.test_id("rating-4")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("v")
    expect(practice.test_id("slice-canvas")).to_have_attribute("data-inverted", "true")
    practice.answer_with_keyboard("indeterminable")
    confirm_contradiction(practice, keyboard=True)
    truths.append(expect_feedback_then_continue(practice, keyboard=True, answered="indeterminable"))

    expect(page.get_by_test_id("practice-over")).to_contain_text("Practice is over")
    page.get_by_test_id("start-test").click()

    reader = ReaderPage(page, TOTAL)
    reader.expect_position(1)
    assert page.get_by_test_id("practice-feedback").count() == 0
    capture_reader_page(
        browser, url=page.url, storage_state=context.storage_state(), outdir=screenshot_folder, name="rated"
    )
    for position in range(1, TOTAL + 1):
        reader.expect_position(position)
        if position % 2:
            if position == 1:
                page.keyboard.press("v")
                expect(reader.test_id("invert")).to_have_attribute("aria-pressed", "true")
            page.keyboard.press("Shift+Digit5")
            expect(reader.test_id("rating-5")).to_have_attribute("aria-pressed", "true")
            reader.answer_with_keyboard("synthetic")
        else:
            if position == 2:
                reader.test_id("invert").click()
                expect(reader.test_id("slice-canvas")).to_have_attribute("data-inverted", "true")
            reader.test_id("rating-1").click()
            reader.choose("real")
            reader.submit_with_mouse()
    expect(page.get_by_test_id("review-summary")).to_be_visible()
    page.get_by_test_id("confirm-finish").click()
    expect(page.get_by_test_id("thank-you")).to_be_visible()

    practice_answers = list(
        PracticeAnswer.objects.filter(assignment=assignment)
        .order_by("created_at")
        .values_list("choice", "rating")
    )
    assert practice_answers == [("real", 4), ("synthetic", 2), ("indeterminable", 4)]
    # Each practice answer keeps what the viewer showed, as a test answer does.
    viewer_states = list(
        PracticeAnswer.objects.filter(assignment=assignment)
        .order_by("created_at")
        .values_list(
            "window_width", "window_level", "window_changed", "zoom", "invert_used", "slices_visited"
        )
    )
    assert viewer_states == [
        (400, 40, False, 1.25, False, []),
        (1500, -600, True, 1, False, []),
        (400, 40, False, 1, True, []),
    ]
    order = {pk: position for position, pk in enumerate(assignment.item_order, start=1)}
    answers = sorted(Answer.objects.filter(assignment=assignment), key=lambda a: order[a.item_id])
    assert [(a.choice, a.rating) for a in answers] == [
        ("synthetic", 5) if position % 2 else ("real", 1) for position in range(1, TOTAL + 1)
    ]
    assert [a.invert_used for a in answers] == [True, True] + [False] * (TOTAL - 2)
    shown = [survey.practice_items.get(pk=pk).truth for pk in assignment.practice_order]
    assert truths == shown


@pytest.fixture
def repeat_survey(transactional_db, live_server, settings, phantom_folders):
    """An open survey with a second reading of 4 items right after the first (no wash-out)."""
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(phantom_folders)
    out = io.StringIO()
    call_command(
        "create_survey",
        "--name", "Repeat survey", "--model", MODEL_DATASET, "--real-dataset", REAL_DATASET,
        "--real", str(PER_SIDE), "--synthetic", str(PER_SIDE), "--seed", "8", "--matrix", str(MATRIX),
        "--repeat-subset", "4", "--open", "--readers", "1",
        stdout=out,
    )  # fmt: skip
    return Survey.objects.get(name="Repeat survey"), INVITATION_LINE.findall(out.getvalue())


def test_a_repeat_round_is_read_after_the_first_in_a_new_order(repeat_survey, new_context):
    from studies.models import ReadingRound, RepeatAnswer

    survey, links = repeat_survey
    page = new_context().new_page()
    key = join_with_new_account(page, links[0], "reader-repeat")
    assignment = Assignment.objects.get(key=key)
    reader = ReaderPage(page, TOTAL)
    for position in range(1, TOTAL + 1):
        reader.expect_position(position)
        reader.answer_with_keyboard("real")
    page.get_by_test_id("confirm-finish").click()
    expect(page.get_by_test_id("thank-you")).to_be_visible()
    page.get_by_test_id("start-repeat").click()
    reading_round = ReadingRound.objects.get(assignment=assignment)
    second = ReaderPage(page, 4)
    for position in range(1, 5):
        expect(second.test_id("progress")).to_have_text(f"Second reading {position} of 4")
        second.wait_for_slice()
        second.choose("synthetic")
        second.submit_with_mouse()
    expect(page.get_by_test_id("review-summary")).to_contain_text("of the second reading")
    page.get_by_test_id("confirm-finish").click()
    expect(page.get_by_test_id("thank-you")).to_be_visible()
    expect(page.get_by_test_id("start-repeat")).to_have_count(0)
    answers = RepeatAnswer.objects.filter(reading_round=reading_round).order_by("created_at")
    assert [a.item_id for a in answers] == reading_round.item_order
    assert {a.choice for a in answers} == {"synthetic"}
    assert set(Answer.objects.filter(assignment=assignment).values_list("choice", flat=True)) == {"real"}
