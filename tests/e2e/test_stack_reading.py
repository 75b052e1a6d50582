"""A stack survey (7 slices per item, 5-point rating) read end to end in the browser by keyboard and mouse: the
stack opens at the centre slice, the wheel, the arrow keys, Page Up / Page Down and the scroll bar move through
it, the window and invert stay on every slice, and the slices visited and seconds per slice are stored with the
answer. On a touch screen (touch events sent through Chromium's DevTools protocol, as a tablet sends them), two
fingers dragged together move through the stack and one finger changes the window. The pictures
docs/screenshots/stack-desktop.png and stack-tablet.png are taken here."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from scripts.screenshots import capture_reader_page
from studies.models import Answer, Assignment, Survey
from tests.e2e.conftest import (
    INVITATION_LINE,
    MATRIX,
    MODEL_DATASET,
    REAL_DATASET,
    TABLET,
    import_phantom_datasets,
)
from tests.e2e.reader import ReaderPage, join_with_new_account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PER_SIDE = 2
TOTAL = 2 * PER_SIDE
K = 3
SLICE_DRAG_PX = 24  # the page's SLICE_DRAG_PX: two fingers move one slice per this many CSS pixels


@pytest.fixture
def stack_survey(transactional_db, live_server, settings, phantom_folders):
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(phantom_folders)
    out = io.StringIO()
    call_command(
        "create_survey",
        "--name", "Stack survey", "--model", MODEL_DATASET, "--real-dataset", REAL_DATASET,
        "--real", str(PER_SIDE), "--synthetic", str(PER_SIDE), "--seed", "7", "--matrix", str(MATRIX),
        "--rating", "five_point", "--stack", str(K), "--open", "--readers", "1",
        stdout=out,
    )  # fmt: skip
    survey = Survey.objects.get(name="Stack survey")
    assert survey.is_open and survey.design.stack_slices == 2 * K + 1
    return survey, INVITATION_LINE.findall(out.getvalue())


def expect_slice(reader: ReaderPage, offset: int) -> None:
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-slice-offset", str(offset))
    expect(reader.test_id("slice-position")).to_have_text(f"Slice {offset + K + 1} of {2 * K + 1}")


def canvas_pixels(page) -> str:
    """A fingerprint of what the canvas shows now."""
    return page.evaluate(
        "() => { const c = document.querySelector('[data-testid=\"slice-canvas\"]'); return c.toDataURL(); }"
    )


def test_a_stack_survey_read_by_keyboard_and_mouse(stack_survey, browser, new_context, screenshot_folder):
    survey, links = stack_survey
    context = new_context()
    page = context.new_page()
    key = join_with_new_account(page, links[0], "reader-stack")
    assignment = Assignment.objects.get(key=key)
    reader = ReaderPage(page, TOTAL)
    reader.expect_position(1)
    expect_slice(reader, 0)
    expect(reader.test_id("stack-scroll")).to_have_value(str(K + 1))
    capture_reader_page(
        browser, url=page.url, storage_state=context.storage_state(), outdir=screenshot_folder, name="stack"
    )

    # Item 1 by keyboard: Down / Page Down forward, Up / Page Up back, stopping at the ends; the window and
    # invert stay while scrolling.
    page.keyboard.press("3")  # the lung preset
    reader.expect_window(1500, -600)
    page.keyboard.press("v")
    centre = canvas_pixels(page)
    page.keyboard.press("ArrowDown")
    expect_slice(reader, 1)
    assert canvas_pixels(page) != centre
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")  # past the end: stays on the last slice
    expect_slice(reader, K)
    page.keyboard.press("ArrowUp")
    expect_slice(reader, K - 1)
    for _ in range(3):
        page.keyboard.press("PageUp")
    expect_slice(reader, -1)
    reader.expect_window(1500, -600)
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-inverted", "true")
    page.keyboard.press("Shift+Digit4")
    reader.answer_with_keyboard("synthetic")

    # Item 2 by mouse: the wheel over the image, then the scroll bar.
    reader.expect_position(2)
    expect_slice(reader, 0)
    box = reader.test_id("slice-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -120)
    expect_slice(reader, -1)
    page.mouse.wheel(0, -120)
    expect_slice(reader, -2)
    reader.test_id("stack-scroll").fill(str(2 * K + 1))
    expect_slice(reader, K)
    reader.test_id("rating-2").click()
    reader.choose("real")
    reader.submit_with_mouse()

    for position in (3, 4):
        reader.expect_position(position)
        expect_slice(reader, 0)  # every stack opens at its centre
        page.keyboard.press("Shift+Digit3")
        reader.answer_with_keyboard("indeterminable")
    expect(page).to_have_url(re.compile(rf"/survey/{key}/review/$"))

    answers = {
        answer.item_id: answer
        for answer in Answer.objects.filter(assignment=assignment).select_related("item")
    }
    first, second, third = (answers[item_id] for item_id in assignment.item_order[:3])
    assert first.slices_visited == [0, 1, 2, 3, -1]
    assert second.slices_visited == [0, -1, -2, 3]
    assert third.slices_visited == [0]
    for answer in (first, second, third):
        assert len(answer.seconds_per_slice) == 2 * K + 1
        assert sum(answer.seconds_per_slice) == pytest.approx(answer.seconds_on_slice, abs=0.05)
    assert first.invert_used and first.rating == 4 and second.rating == 2
    assert all(
        seconds == 0
        for offset, seconds in zip(range(-K, K + 1), third.seconds_per_slice, strict=True)
        if offset
    )


def touch(cdp, kind: str, points: list[tuple[float, float]], *, first_id: int = 0) -> None:
    """One touch event through Chromium's input pipeline (as a touch screen sends it): finger first_id + i at
    points[i]. touchEnd lifts the fingers it names (all of them when it names none)."""
    touch_points = [{"x": x, "y": y, "id": first_id + i} for i, (x, y) in enumerate(points)]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})


def touch_drag(cdp, fingers: list[tuple[float, float]], dx: float, dy: float, *, steps: int = 12) -> None:
    """Put the fingers down, move them all together by (dx, dy) in `steps` moves, lift them."""
    touch(cdp, "touchStart", fingers)
    for step in range(1, steps + 1):
        touch(cdp, "touchMove", [(x + dx * step / steps, y + dy * step / steps) for x, y in fingers])
    touch(cdp, "touchEnd", [])


def test_two_fingers_dragged_together_scroll_the_stack_and_one_finger_changes_the_window(
    stack_survey, new_context
):
    _, links = stack_survey
    context = new_context(**TABLET)
    page = context.new_page()
    key = join_with_new_account(page, links[0], "reader-touch")
    reader = ReaderPage(page, TOTAL)
    reader.expect_position(1)
    expect_slice(reader, 0)
    cdp = context.new_cdp_session(page)
    box = reader.test_id("slice-canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    two_fingers = [(x - 60, y - 40), (x + 60, y - 40)]

    # Two fingers down by 2 x 24 px (and a little): two slices on (down: the next slice, as the wheel and ↓);
    # then up by 4 x 24 px: four back. Neither the window nor the zoom moves.
    touch_drag(cdp, two_fingers, 0, 2 * SLICE_DRAG_PX + 8)
    expect_slice(reader, 2)
    touch_drag(cdp, two_fingers, 0, -(4 * SLICE_DRAG_PX + 8))
    expect_slice(reader, -2)
    touch_drag(cdp, two_fingers, 0, -(10 * SLICE_DRAG_PX))  # past the first slice: stays on it
    expect_slice(reader, -K)
    touch_drag(cdp, two_fingers, 0, SLICE_DRAG_PX + 8)
    expect_slice(reader, -K + 1)
    # Fingers lifted one after the other: the one left on the glass does not drag the window.
    touch(cdp, "touchStart", two_fingers)
    touch(cdp, "touchEnd", two_fingers[:1])
    left_x, left_y = two_fingers[1]
    for step in range(1, 7):
        touch(cdp, "touchMove", [(left_x + 8 * step, left_y + 5 * step)], first_id=1)
    touch(cdp, "touchEnd", [])
    reader.expect_window(400, 40)
    expect(reader.test_id("zoom-level")).to_have_text("100")
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-window-changed", "false")
    expect_slice(reader, -K + 1)

    # One finger: right widens the window, down lowers the level (as the mouse drag); the slice stays.
    touch_drag(cdp, [(x, y)], 40, 30)
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-window-changed", "true")
    window = reader.window()
    assert window.width > 400 and window.level < 40
    expect_slice(reader, -K + 1)

    page.keyboard.press("Shift+Digit2")
    reader.answer_with_keyboard("real")
    reader.expect_position(2)
    answer = Answer.objects.get(assignment__key=key)
    assert answer.slices_visited == [0, 1, 2, -1, -2, -3]
    assert (round(answer.window_width), round(answer.window_level)) == (window.width, window.level)
    assert answer.window_changed and answer.zoom == 1
