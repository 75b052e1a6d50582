"""A slab survey (a 120 mm slab of 49 planes 2.5 mm apart per item, from phantom volumes of 64 slices) read end to end in the browser: the axial view
scrolls through the slab by keys and wheel, the coronal and sagittal reformats of the same slab stand beside it
with linked cross-hairs (a click on a reformat moves the axial plane there, the wheel over one moves its plane),
one window / level changes every view, and the answer is stored with the views used and the seconds in each. On a
tablet in portrait the axial view and one reformat stand side by side, the switch button (or C) shows the other.
The pictures of the three views at desktop and tablet size are saved in the test's screenshot folder."""

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
PLANES = 49  # 120 mm at 2.5 mm
CENTRE = 24


@pytest.fixture(scope="module")
def long_phantom_folders(tmp_path_factory):
    """Phantom CT volumes long enough for 120 mm slabs (64 slices about 3 mm apart), one patient per pool."""
    root = tmp_path_factory.mktemp("e2e-slab-phantoms")
    folders = {}
    for role, seed in (("real", 41), ("model", 42)):
        call_command(
            "make_phantoms", str(root / role), patients=1, seed=seed, ct_matrix=MATRIX, ct_slices=64,
            mr_matrix=32, mr_slices=2, stdout=io.StringIO(),
        )  # fmt: skip
        folders[role] = root / role / "CT"
    return folders


@pytest.fixture
def slab_survey(transactional_db, live_server, settings, long_phantom_folders):
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(long_phantom_folders)
    out = io.StringIO()
    call_command(
        "create_survey",
        "--name", "Slab survey", "--model", MODEL_DATASET, "--real-dataset", REAL_DATASET,
        "--real", str(PER_SIDE), "--synthetic", str(PER_SIDE), "--seed", "7", "--matrix", str(MATRIX),
        "--slab-thickness", "120", "--slab-spacing", "2.5", "--open", "--readers", "2",
        stdout=out,
    )  # fmt: skip
    survey = Survey.objects.get(name="Slab survey")
    assert survey.is_open and survey.design.stack_slices == PLANES  # opened: the blinding audit passed
    return survey, INVITATION_LINE.findall(out.getvalue())


def fingerprint(page, testid: str) -> str:
    return page.evaluate(f"() => document.querySelector('[data-testid=\"{testid}\"]').toDataURL()")


def wait_for_views(reader: ReaderPage) -> None:
    reader.wait_for_slice()
    for testid in ("coronal-canvas", "sagittal-canvas"):
        expect(reader.test_id(testid)).to_have_attribute("data-loaded", "true")


def click_at(page, testid: str, fx: float, fy: float) -> None:
    box = page.get_by_test_id(testid).bounding_box()
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def test_a_slab_survey_read_with_three_views(slab_survey, browser, new_context, screenshot_folder):
    survey, links = slab_survey
    context = new_context()
    page = context.new_page()
    key = join_with_new_account(page, links[0], "reader-slab")
    assignment = Assignment.objects.get(key=key)
    reader = ReaderPage(page, TOTAL)
    reader.expect_position(1)
    wait_for_views(reader)
    viewer = reader.test_id("viewer")
    expect(reader.test_id("slice-position")).to_have_text(f"Slice {CENTRE + 1} of {PLANES}")
    for testid in ("slice-canvas", "coronal-canvas", "sagittal-canvas"):
        assert reader.test_id(testid).is_visible()
    expect(reader.test_id("switch-reformat")).to_be_hidden()  # both reformats fit beside the axial view
    shots = capture_reader_page(
        browser, url=page.url, storage_state=context.storage_state(), outdir=screenshot_folder, name="slab"
    )
    assert set(shots) == {"desktop", "tablet"} and all(
        path.stat().st_size > 10_000 for path in shots.values()
    )

    # Axial scroll: keys and the wheel over the axial view.
    axial = fingerprint(page, "slice-canvas")
    page.keyboard.press("ArrowDown")
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-slice-offset", "1")
    assert fingerprint(page, "slice-canvas") != axial
    box = reader.test_id("slice-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 120)
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-slice-offset", "2")

    # One window for every view: a preset redraws the reformats too.
    coronal, sagittal = fingerprint(page, "coronal-canvas"), fingerprint(page, "sagittal-canvas")
    page.keyboard.press("4")  # the bone preset
    reader.expect_window(2500, 480)
    assert fingerprint(page, "coronal-canvas") != coronal
    assert fingerprint(page, "sagittal-canvas") != sagittal

    # The coronal view: a click moves the axial plane (the top of the view is the most superior plane) and the
    # sagittal plane; dragging on it changes the window of every view.
    sagittal_plane = reader.test_id("sagittal-canvas").get_attribute("data-plane")
    click_at(page, "coronal-canvas", 0.3, 0.5)
    expect(viewer).to_have_attribute("data-active-view", "coronal")
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-slice-offset", "0")
    assert reader.test_id("sagittal-canvas").get_attribute("data-plane") != sagittal_plane
    before = reader.window()
    coronal_box = reader.test_id("coronal-canvas").bounding_box()
    page.mouse.move(coronal_box["x"] + 40, coronal_box["y"] + coronal_box["height"] / 2)
    page.mouse.down()
    page.mouse.move(coronal_box["x"] + 140, coronal_box["y"] + coronal_box["height"] / 2 + 30, steps=6)
    page.mouse.up()
    assert reader.window() != before
    page.wait_for_timeout(400)  # time in the coronal view

    # The sagittal view: the wheel over it moves its plane (the cross-hairs of the other views follow).
    sagittal_plane = reader.test_id("sagittal-canvas").get_attribute("data-plane")
    sagittal_box = reader.test_id("sagittal-canvas").bounding_box()
    page.mouse.move(
        sagittal_box["x"] + sagittal_box["width"] / 2, sagittal_box["y"] + sagittal_box["height"] / 2
    )
    page.mouse.wheel(0, 120)
    page.mouse.wheel(0, 120)
    expect(viewer).to_have_attribute("data-active-view", "sagittal")
    expect(reader.test_id("sagittal-canvas")).to_have_attribute("data-plane", str(int(sagittal_plane) + 2))
    page.wait_for_timeout(400)
    expect(viewer).to_have_attribute("data-views-used", "axial coronal sagittal")
    reader.test_id("slice-canvas").focus()
    reader.answer_with_keyboard("synthetic")

    # The next item opens at its middle plane with the reformats through the middle.
    reader.expect_position(2)
    wait_for_views(reader)
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-slice-offset", "0")
    expect(reader.test_id("coronal-canvas")).to_have_attribute("data-plane", str(MATRIX // 2))
    reader.answer_with_keyboard("real")
    reader.expect_position(3)

    first, second = (
        Answer.objects.get(assignment=assignment, item_id=item_id) for item_id in assignment.item_order[:2]
    )
    assert first.views_used == ["axial", "coronal", "sagittal"]
    seconds = dict(zip(("axial", "coronal", "sagittal"), first.seconds_per_view, strict=True))
    assert seconds["coronal"] >= 0.3 and seconds["sagittal"] >= 0.3 and seconds["axial"] > 0
    assert first.slices_visited[:3] == [0, 1, 2] and len(first.seconds_per_slice) == PLANES
    assert first.window_changed and first.choice == "synthetic"
    assert second.views_used == ["axial"] and second.seconds_per_view[1:] == [0.0, 0.0]


def test_a_tablet_shows_one_reformat_beside_the_axial_view_and_switches(
    slab_survey, new_context, screenshot_folder
):
    survey, links = slab_survey
    context = new_context(**TABLET)
    page = context.new_page()
    join_with_new_account(page, links[1], "reader-slab-tablet")
    reader = ReaderPage(page, TOTAL)
    reader.expect_position(1)
    wait_for_views(reader)
    expect(reader.test_id("coronal-canvas")).to_be_visible()
    expect(reader.test_id("sagittal-canvas")).to_be_hidden()
    screenshot_folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot_folder / "slab-tablet-coronal.png"))
    reader.test_id("switch-reformat").tap()
    expect(reader.test_id("sagittal-canvas")).to_be_visible()
    expect(reader.test_id("coronal-canvas")).to_be_hidden()
    expect(reader.test_id("sagittal-canvas")).to_have_attribute("data-loaded", "true")
    page.screenshot(path=str(screenshot_folder / "slab-tablet-sagittal.png"))
    expect(reader.test_id("viewer")).to_have_attribute("data-views-used", re.compile(r"^axial sagittal$"))
