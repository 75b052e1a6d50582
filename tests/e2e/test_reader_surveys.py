"""A reader invited to two surveys tells them apart by their titles, in English and in Italian, on the home page
and on the item pages; the HU readout under the pointer (and under a long press) shows the payload's own pixel."""

import io
import math

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from playwright.sync_api import expect

from studies.models import Item, Survey
from studies.rendering import decode_payload
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

PER_SIDE = 3
TOTAL = 2 * PER_SIDE


@pytest.fixture
def two_surveys(transactional_db, live_server, settings, phantom_folders):
    """Two open surveys of the same model, one invitation link each: one with an Italian title and instructions,
    one with English only."""
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(phantom_folders)
    links = {}
    for name, seed, reader_text in (
        (
            "Liver survey internal",
            5,
            ["--reader-title", "Liver CT reading", "--reader-title-it", "Lettura TC del fegato",
             "--instructions", "Look at the liver.", "--instructions-it", "Guarda il fegato."],
        ),
        ("Kidney survey internal", 6, ["--reader-title", "Kidney CT reading", "--instructions", "Kidneys."]),
    ):  # fmt: skip
        out = io.StringIO()
        call_command(
            "create_survey",
            "--name", name, "--model", MODEL_DATASET, "--real-dataset", REAL_DATASET,
            "--real", str(PER_SIDE), "--synthetic", str(PER_SIDE), "--seed", str(seed), "--matrix", str(MATRIX),
            *reader_text, "--open", "--readers", "1",
            stdout=out,
        )  # fmt: skip
        assert Survey.objects.get(name=name).is_open
        links[name] = INVITATION_LINE.findall(out.getvalue())[0]
    return links


def test_two_surveys_are_told_apart_by_title_on_the_home_and_item_pages_in_both_languages(two_surveys, page):
    liver_key = join_with_new_account(page, two_surveys["Liver survey internal"], "reader-two-surveys")
    liver = ReaderPage(page, TOTAL)
    liver.expect_position(1)
    expect(liver.test_id("survey-title")).to_have_text("Liver CT reading")
    liver.choose("real")
    liver.submit_with_mouse()
    liver.expect_position(2)

    page.goto(two_surveys["Kidney survey internal"])
    page.get_by_test_id("join-submit").click()
    page.get_by_test_id("profile-skip").click()
    expect(page.get_by_test_id("survey-title")).to_have_text("Kidney CT reading")
    page.get_by_test_id("start-survey").click()
    kidney = ReaderPage(page, TOTAL)
    kidney.expect_position(1)
    expect(kidney.test_id("survey-title")).to_have_text("Kidney CT reading")

    page.get_by_test_id("home-link").click()
    entries = page.get_by_test_id("survey-entry")
    expect(entries).to_have_count(2)
    liver_entry = entries.filter(has_text="Liver CT reading")
    kidney_entry = entries.filter(has_text="Kidney CT reading")
    expect(liver_entry.get_by_test_id("survey-left")).to_contain_text(f"Slices left: {TOTAL - 1}")
    expect(kidney_entry.get_by_test_id("survey-left")).to_contain_text(f"Slices left: {TOTAL}")
    expect(page.get_by_test_id("survey-link").filter(has_text="Reader study")).to_have_count(0)

    page.get_by_test_id("language-it").click()
    expect(page.get_by_test_id("survey-link")).to_have_text(["Kidney CT reading", "Lettura TC del fegato"])
    expect(entries.filter(has_text="Lettura TC del fegato").get_by_test_id("survey-left")).to_contain_text(
        f"Immagini rimaste: {TOTAL - 1}"
    )
    page.get_by_test_id("survey-link").filter(has_text="Lettura TC del fegato").click()
    expect(page.get_by_test_id("survey-title")).to_have_text("Lettura TC del fegato")
    expect(page.get_by_test_id("instructions")).to_have_text("Guarda il fegato.")
    page.get_by_test_id("start-survey").click()
    expect(page.get_by_test_id("progress")).to_have_text(f"2 di {TOTAL}")
    expect(page.get_by_test_id("survey-title")).to_have_text("Lettura TC del fegato")
    assert page.url.endswith(f"/survey/{liver_key}/2/")
    page.get_by_test_id("home-link").click()
    page.get_by_test_id("survey-link").filter(has_text="Kidney CT reading").click()
    expect(page.get_by_test_id("instructions")).to_have_text("Kidneys.")  # no Italian: the English


def payload_of_page(page) -> np.ndarray:
    """The pixels the page was served, read from storage by the item's opaque id (not through the page)."""
    config = page.evaluate("JSON.parse(document.getElementById('reader-config').textContent)")
    item = Item.objects.get(public_id=config["itemId"])
    with default_storage.open(item.payload, "rb") as handle:
        return decode_payload(handle.read(), config["matrix"])


def pixel_centre(box: dict, column: int, row: int, zoom: float = 1.0) -> tuple[float, float]:
    """Where the centre of image pixel (column, row) is on the screen, the image fitted and centred, not panned."""
    scale = min(box["width"], box["height"]) / MATRIX * zoom
    left = box["x"] + box["width"] / 2 - MATRIX * scale / 2
    top = box["y"] + box["height"] / 2 - MATRIX * scale / 2
    return left + (column + 0.5) * scale, top + (row + 0.5) * scale


def expect_hu_at(reader: ReaderPage, pixels: np.ndarray, column: int, row: int) -> None:
    readout = reader.test_id("hu-value")
    expect(readout).to_have_attribute("data-column", str(column))
    expect(readout).to_have_attribute("data-row", str(row))
    expect(readout).to_have_text(str(int(pixels[row, column])))


def test_hovering_shows_the_hu_of_the_payload_pixel_under_the_pointer_on_every_item(two_surveys, page):
    join_with_new_account(page, two_surveys["Kidney survey internal"], "reader-hu")
    reader = ReaderPage(page, TOTAL)
    seen = set()
    for position in (1, 2, 3):
        reader.expect_position(position)
        pixels = payload_of_page(page)
        expect(reader.test_id("hu-value")).to_have_text("–")
        box = reader.test_id("slice-canvas").bounding_box()
        for column, row in ((MATRIX // 2, MATRIX // 2), (MATRIX // 3, MATRIX // 2 + 17), (3, 5)):
            page.mouse.move(*pixel_centre(box, column, row))
            expect_hu_at(reader, pixels, column, row)
            seen.add(int(pixels[row, column]))
        # Zoomed in, the readout still names the pixel under the pointer.
        page.keyboard.press("+")
        expect(reader.test_id("zoom-level")).to_have_text("125")
        column, row = MATRIX // 2 + 21, MATRIX // 2 - 9
        page.mouse.move(*pixel_centre(box, column, row, zoom=1.25))
        expect_hu_at(reader, pixels, column, row)
        # Off the image: no value.
        page.mouse.move(box["x"] + box["width"] + 40, box["y"] + 10)
        expect(reader.test_id("hu-value")).to_have_text("–")
        reader.choose("indeterminable")
        reader.submit_with_mouse()
    reader.expect_position(4)  # the last answer saved before the test ends (no request left in flight)
    assert len(seen) > 2, "the points read should cover different tissues"


def test_a_long_press_shows_the_hu_under_the_finger_and_leaves_the_window_as_it_was(two_surveys, new_context):
    context = new_context(**TABLET)
    page = context.new_page()
    join_with_new_account(page, two_surveys["Kidney survey internal"], "reader-long-press")
    reader = ReaderPage(page, TOTAL)
    reader.expect_position(1)
    pixels = payload_of_page(page)
    window = reader.window()
    box = reader.test_id("slice-canvas").bounding_box()
    column, row = MATRIX // 2 - 11, MATRIX // 2 + 6
    x, y = pixel_centre(box, column, row)
    cdp = context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y, "id": 0}]})
    expect_hu_at(reader, pixels, column, row)
    # Moving the held finger moves the readout, not the window.
    x2, y2 = pixel_centre(box, column + 7, row - 4)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x2, "y": y2, "id": 0}]})
    expect_hu_at(reader, pixels, column + 7, row - 4)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert reader.window() == window
    assert not math.isnan(float(reader.test_id("hu-value").inner_text()))
