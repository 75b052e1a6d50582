"""The reader page fits a desktop screen and a tablet in portrait, works by touch, and docs/screenshots/ shows it as
these tests see it."""

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import expect

from scripts.screenshots import VIEWPORTS, capture_reader_page
from studies.models import Answer, Assignment
from tests.e2e.conftest import PER_SIDE, TABLET
from tests.e2e.reader import ReaderPage, join_with_new_account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONTROLS = [
    "preset-soft-tissue",
    "preset-liver",
    "preset-lung",
    "preset-bone",
    "preset-mediastinum",
    "zoom-in",
    "zoom-out",
    "drag-mode",
    "reset-view",
    "answer-real",
    "answer-synthetic",
    "answer-indeterminable",
    "reason",
    "submit-answer",
]
TOUCH_TARGET_PX = 44


def show_a_fixed_slice_first(assignment: Assignment) -> None:
    """Put the real slice nearest the middle of the body first, so the screenshots change only when the page does."""
    items = assignment.survey.items.select_related("slice__volume")
    chosen = min(
        (item for item in items if item.truth == "real"),
        key=lambda item: (abs(item.axial_layer - 5), item.slice.volume.series_key, item.slice.index),
    )
    order = [chosen.pk, *(pk for pk in assignment.item_order if pk != chosen.pk)]
    Assignment.objects.filter(pk=assignment.pk).update(item_order=order)


def layout_problems(page) -> list[str]:
    """Controls the reader cannot reach at this size without scrolling sideways, or too small to tap."""
    width = page.viewport_size["width"]
    problems = []
    if page.evaluate("document.documentElement.scrollWidth") > width:
        problems.append("the page scrolls sideways")
    for test_id in [*CONTROLS, "slice-canvas"]:
        box = page.get_by_test_id(test_id).bounding_box()
        if box is None:
            problems.append(f"{test_id} is not shown")
        elif box["x"] < 0 or box["x"] + box["width"] > width + 0.5:
            problems.append(f"{test_id} sticks out sideways: {box}")
        elif test_id in CONTROLS and box["height"] < TOUCH_TARGET_PX:
            problems.append(f"{test_id} is {box['height']}px tall")
    return problems


def viewer_shows_a_slice(png, box) -> bool:
    """Whether the part of the screenshot where the viewer is holds an image rather than a flat colour."""
    with Image.open(png) as image:
        crop = image.convert("L").crop(tuple(round(v) for v in box))
        return ImageStat.Stat(crop).stddev[0] > 20


def touch_drag(page, start, end, steps=8):
    """A one-finger drag, sent as touch events the way a tablet sends them."""
    cdp = page.context.new_cdp_session(page)
    (x0, y0), (x1, y1) = start, end
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for step in range(1, steps + 1):
        point = {"x": x0 + (x1 - x0) * step / steps, "y": y0 + (y1 - y0) * step / steps}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
    # A hand takes a moment before the next tap; Chromium drops a tap that lands within milliseconds of a drag.
    page.wait_for_timeout(300)


def test_the_reader_page_fits_desktop_and_tablet_screens_and_answers_by_touch(
    reading_survey, browser, new_context, screenshot_folder
):
    context = new_context(**TABLET)
    page = context.new_page()
    key = join_with_new_account(page, reading_survey.invitation_urls[0], "reader-tablet")
    assignment = Assignment.objects.get(key=key)
    show_a_fixed_slice_first(assignment)
    page.reload()
    reader = ReaderPage(page, 2 * PER_SIDE)
    reader.expect_position(1)

    # The documentation's pictures, then the same page checked at both sizes.
    shots = capture_reader_page(
        browser, url=page.url, storage_state=context.storage_state(), outdir=screenshot_folder
    )
    for name, options in VIEWPORTS.items():
        size = (options["viewport"]["width"], options["viewport"]["height"])
        with Image.open(shots[name]) as image:
            assert image.size == size, name
    desktop = new_context(storage_state=context.storage_state()).new_page()
    desktop.goto(page.url)
    ReaderPage(desktop, 2 * PER_SIDE).expect_position(1)
    assert layout_problems(desktop) == []
    # On a desktop everything needed to answer is on screen without scrolling at all.
    assert desktop.get_by_test_id("submit-answer").bounding_box()["y"] + TOUCH_TARGET_PX <= 900
    assert viewer_shows_a_slice(shots["desktop"], canvas_box(desktop))
    assert layout_problems(page) == []
    assert viewer_shows_a_slice(shots["tablet"], canvas_box(page))

    # Touch: a preset by tap, the window by a one-finger drag on the slice, the answer by taps.
    reader.test_id("preset-lung").tap()
    reader.expect_window(1500, -600)
    box = reader.test_id("slice-canvas").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    touch_drag(page, centre, (centre[0] + 80, centre[1] + 40))
    dragged = reader.window()
    assert dragged.width > 1500 and dragged.level < -600, dragged
    reader.test_id("answer-synthetic").tap()
    expect(reader.test_id("answer-synthetic")).to_have_attribute("aria-pressed", "true")
    reader.test_id("submit-answer").tap()
    reader.expect_position(2)

    answer = Answer.objects.get(assignment=assignment)
    assert (answer.choice, answer.window_changed) == ("synthetic", True)
    assert abs(answer.window_width - dragged.width) <= 0.5 and abs(answer.window_level - dragged.level) <= 0.5


def canvas_box(page):
    box = page.get_by_test_id("slice-canvas").bounding_box()
    return (box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"])
