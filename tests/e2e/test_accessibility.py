"""axe-core (the copy axe-playwright-python ships, run inside Debian's Chromium) on every page a reader sees: no
serious or critical violation on the invitation, profile, start, practice (question and feedback), item, review,
thanks and sign-in pages."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.conftest import READER_PASSWORD
from tests.e2e.reader import ReaderPage
from tests.e2e.test_study_designs import PRACTICE, TOTAL, rated_survey  # noqa: F401  (fixture)

BLOCKING = ("serious", "critical")


def violations(page) -> list[str]:
    """The serious and critical violations axe finds on the page, one line each (rule, impact, first target)."""
    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.e2e
def test_the_check_finds_a_critical_violation_when_there_is_one(new_context):
    page = new_context().new_page()
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><button></button></main></body></html>'
    )
    found = violations(page)
    assert len(found) == 1 and "button-name (critical)" in found[0]


@pytest.mark.e2e
def test_no_serious_or_critical_accessibility_violation_on_the_readers_pages(rated_survey, new_context):  # noqa: F811
    _, links = rated_survey
    page = new_context().new_page()
    found = []

    page.goto(links[0])
    expect(page.get_by_test_id("join-username")).to_be_visible()
    found += violations(page)
    page.get_by_test_id("join-username").fill("reader-axe")
    page.get_by_test_id("join-password1").fill(READER_PASSWORD)
    page.get_by_test_id("join-password2").fill(READER_PASSWORD)
    page.get_by_test_id("join-submit").click()

    expect(page.get_by_test_id("profile-skip")).to_be_visible()
    found += violations(page)
    page.get_by_test_id("profile-skip").click()

    expect(page.get_by_test_id("start-survey")).to_be_visible()
    found += violations(page)
    page.get_by_test_id("start-survey").click()

    practice = ReaderPage(page, PRACTICE)
    for number in range(1, PRACTICE + 1):
        expect(practice.test_id("progress")).to_have_text(f"Practice {number} of {PRACTICE}")
        practice.wait_for_slice()
        if number == 1:
            found += violations(page)
        practice.test_id("rating-3").click()
        practice.choose("real")
        practice.submit_with_mouse()
        expect(practice.test_id("practice-feedback")).to_be_visible()
        if number == 1:
            found += violations(page)
        practice.test_id("submit-answer").click()

    expect(page.get_by_test_id("practice-over")).to_be_visible()
    found += violations(page)
    page.get_by_test_id("start-test").click()

    reader = ReaderPage(page, TOTAL)
    for position in range(1, TOTAL + 1):
        reader.expect_position(position)
        if position == 1:
            found += violations(page)
        reader.test_id("rating-4").click()
        reader.choose("synthetic")
        reader.submit_with_mouse()

    expect(page.get_by_test_id("review-summary")).to_be_visible()
    found += violations(page)
    page.get_by_test_id("confirm-finish").click()
    expect(page.get_by_test_id("thank-you")).to_be_visible()
    found += violations(page)

    signed_out = new_context().new_page()
    signed_out.goto(links[0].split("/join/")[0] + "/login/")
    expect(signed_out.get_by_test_id("login-username")).to_be_visible()
    found += violations(signed_out)

    assert found == [], "\n".join(found)
