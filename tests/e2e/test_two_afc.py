"""A 2AFC survey read end to end in Chromium: each pair page shows both slices side by side, loads both payloads
through the item pixel URLs (same size), links window and zoom across the two, takes L / R and Shift+1..5 from the
keyboard, and stores the side, whether it was right and the confidence; its markup is the same for every pair."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from studies.models import Assignment, ItemPair, PairAnswer, Survey
from tests.e2e.conftest import INVITATION_LINE, MATRIX, MODEL_DATASET, REAL_DATASET, import_phantom_datasets
from tests.e2e.reader import join_with_new_account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PER_SIDE = 4


@pytest.fixture
def pair_survey(transactional_db, live_server, settings, phantom_folders):
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(phantom_folders)
    out = io.StringIO()
    call_command(
        "create_survey",
        "--name", "Pair survey", "--model", MODEL_DATASET, "--real-dataset", REAL_DATASET,
        "--real", str(PER_SIDE), "--synthetic", str(PER_SIDE), "--seed", "7", "--matrix", str(MATRIX),
        "--task", "2afc", "--rating", "five_point", "--open", "--readers", "1",
        stdout=out,
    )  # fmt: skip
    survey = Survey.objects.get(name="Pair survey")
    assert survey.is_open and survey.design.is_two_afc
    return survey, INVITATION_LINE.findall(out.getvalue())


def data_url(page, side: str) -> str:
    return page.evaluate(f"() => document.querySelector('[data-testid=\"pair-canvas-{side}\"]').toDataURL()")


def test_a_reader_answers_every_pair_side_by_side_with_linked_tools(pair_survey, new_context):
    survey, links = pair_survey
    page = new_context().new_page()
    pixel_sizes = []

    def on_response(response):
        if re.search(r"/items/[^/]+/pixels/$", response.url):
            pixel_sizes.append(len(response.body()))

    page.on("response", on_response)
    key = join_with_new_account(page, links[0], "reader-pairs")
    assignment = Assignment.objects.get(key=key)
    markups = set()
    for position in range(1, PER_SIDE + 1):
        expect(page).to_have_url(re.compile(rf"/pair/{position}/$"))
        for side in ("left", "right"):
            expect(page.get_by_test_id(f"pair-canvas-{side}")).to_have_attribute("data-loaded", "true")
        markups.add(
            re.sub(
                r'(<script id="pair-config"[^>]*>).*?(</script>)|value="[^"]*"|data-loaded="true"|>\d+ of \d+<',
                "",
                page.content(),
                flags=re.S,
            )
        )
        before = (data_url(page, "left"), data_url(page, "right"))
        page.get_by_test_id("preset-lung").click()  # one window for both images
        after = (data_url(page, "left"), data_url(page, "right"))
        assert before[0] != after[0] and before[1] != after[1]
        page.keyboard.press("+")
        expect(page.get_by_test_id("zoom-level")).to_have_text("125")
        pair_id, real_side = assignment.pair_plan[position - 1]
        # right on odd positions, wrong on even ones
        chosen = real_side if position % 2 else ("right" if real_side == "left" else "left")
        page.keyboard.press("l" if chosen == "left" else "2")
        expect(page.get_by_test_id(f"choose-{chosen}")).to_have_attribute("aria-pressed", "true")
        page.keyboard.press("Shift+Digit4")
        expect(page.get_by_test_id("confidence-4")).to_have_attribute("aria-pressed", "true")
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/review/$"))
    answers = {a.pair_id: a for a in PairAnswer.objects.filter(assignment=assignment)}
    assert len(answers) == PER_SIDE
    for position, (pair_id, real_side) in enumerate(assignment.pair_plan, start=1):
        answer = answers[pair_id]
        assert answer.correct is bool(position % 2) and answer.real_side == real_side
        assert answer.confidence == 4 and answer.seconds > 0
    assert ItemPair.objects.filter(survey=survey).count() == PER_SIDE
    assert len(pixel_sizes) == 2 * PER_SIDE and set(pixel_sizes) == {survey.payload_bytes}
    assert len(markups) == 1
