"""Browser test of the planning panel on the survey creation page: the script fetches plan_design's numbers for
the form's items per side and the readers typed, follows edits of the assumptions, and shows refusals in words; a
pilot survey (chosen by default for the form's model and real dataset, or by hand) fills the assumptions."""

import pytest

from imaging.models import Dataset
from readerstats import plan_design
from reports.pilot import pilot_estimate
from reports.services import report_now
from tests.metrics.factories import make_ct_dataset
from tests.projects.factories import make_member
from tests.reports.study_factory import make_survey

PASSWORD = "pw-e2e-admin-5521"


@pytest.fixture
def admin_user(transactional_db, django_user_model):
    user = django_user_model.objects.create_user("e2e-study-admin", password=PASSWORD, is_staff=True)
    make_member(user, "admin")
    return user


def expected_text(readers, items, **assumptions):
    plan = plan_design(readers, items, **assumptions)
    return f"\u00b1{100 * plan.half_width:.1f} points", f"{100 * plan.equivalence_power:.0f}%"


def test_the_panel_shows_plan_designs_numbers_and_follows_edits(admin_user, live_server, page):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/studies/survey/add/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    result = page.get_by_test_id("planning-result")
    half_width, power = expected_text(10, 10)
    page.wait_for_function(
        "text => document.querySelector(\"[data-testid='planning-result']\").textContent.includes(text)",
        arg=half_width,
    )
    assert power in result.text_content() and "10 readers x 10 items per side" in result.text_content()
    assert page.locator("#planning_reader_sd").get_attribute("placeholder") == "0.5"

    page.fill("#id_per_side", "40")
    page.fill("#planning_readers", "16")
    page.fill("#planning_case_sd", "1.2")
    half_width, power = expected_text(16, 40, case_sd=1.2)
    page.wait_for_function(
        "text => document.querySelector(\"[data-testid='planning-result']\").textContent.includes(text)",
        arg=half_width,
    )
    assert power in result.text_content()

    page.fill("#planning_accuracy", "1.5")
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='planning-result']\").textContent.includes('must be between')"
    )
    assert "accuracy must be between 0 and 1" in result.text_content()


@pytest.fixture
def reported_pilot(transactional_db):
    """A closed survey with answers and its report computed: the pilot the panel can plan from."""
    real = make_ct_dataset("E2E pilot real CT", patients=4, slices_per_layer=1, seed=1)
    model = make_ct_dataset(
        "E2E pilot model", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=1, seed=2
    )
    survey = make_survey(
        "E2E pilot survey", model=model, real=real, per_side=6, readers=5, seed=11, skill=0.3
    )
    report_now(surveys=[survey])
    return survey


def wait_for(page, testid, text):
    page.wait_for_function(
        "([id, text]) => document.querySelector(`[data-testid='${id}']`).textContent.includes(text)",
        arg=[testid, text],
    )


def test_choosing_a_pilot_fills_the_assumptions_and_says_where_they_came_from(
    admin_user, reported_pilot, live_server, page
):
    estimate = pilot_estimate(reported_pilot)
    assert estimate.estimable
    page.goto(f"{live_server.url}/admin/login/?next=/admin/studies/survey/add/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    half_width, _ = expected_text(10, 10)
    wait_for(page, "planning-result", half_width)
    assert "No pilot: the spreads are assumptions" in page.get_by_test_id("planning-pilot").text_content()
    assert page.get_by_test_id("planning-sensitivity").is_visible()

    # the form's model and real dataset are the pilot's: the panel chooses it by default
    page.select_option("#id_model_dataset", label=reported_pilot.model_dataset.name)
    page.select_option("#id_real_dataset", label=reported_pilot.real_dataset.name)
    half_width, _ = expected_text(10, 10, **estimate.assumptions())
    wait_for(page, "planning-result", half_width)
    assert page.locator("#planning_pilot").input_value() == "E2E pilot survey"
    line = page.get_by_test_id("planning-pilot").text_content()
    assert "Chosen for this model and real dataset" in line
    assert "from pilot 'E2E pilot survey': 5 readers, 12 items" in line
    assert f"reader SD {estimate.reader_sd:.2f}" in line
    # the placeholders show the pilot's values as the script rounds them (3 decimals, no trailing zeros)
    shown = f"{estimate.case_sd:.3f}".rstrip("0").rstrip(".")
    assert page.locator("#planning_case_sd").get_attribute("placeholder") == shown
    assert "(from the pilot)" in page.get_by_test_id("planning-sources").text_content()

    # back to none: the assumed values again
    page.select_option("#planning_pilot", value="")
    half_width, _ = expected_text(10, 10)
    wait_for(page, "planning-result", half_width)
    assert page.locator("#planning_reader_sd").get_attribute("placeholder") == "0.5"

    # and picked by hand
    page.select_option("#planning_pilot", value="E2E pilot survey")
    half_width, _ = expected_text(10, 10, **estimate.assumptions())
    wait_for(page, "planning-result", half_width)


@pytest.fixture
def guessing_pilot(transactional_db):
    """A closed pilot whose readers guessed: its GLMM finds no reader or slice spread."""
    real = make_ct_dataset("E2E flat real CT", patients=4, slices_per_layer=1, seed=1)
    model = make_ct_dataset(
        "E2E flat model", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=1, seed=2
    )
    survey = make_survey(
        "E2E guessing pilot", model=model, real=real, per_side=8, readers=6, seed=0, skill=0.0
    )
    report_now(surveys=[survey])
    return survey


def test_a_pilot_without_spread_is_flagged_and_the_assumed_spreads_are_one_click_away(
    admin_user, guessing_pilot, live_server, page
):
    estimate = pilot_estimate(guessing_pilot)
    assert estimate.estimable and estimate.caution
    page.goto(f"{live_server.url}/admin/login/?next=/admin/studies/survey/add/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    caution = page.get_by_test_id("planning-caution")
    assert not caution.is_visible()

    page.select_option("#planning_pilot", value="E2E guessing pilot")
    half_width, _ = expected_text(10, 10, **estimate.assumptions())
    wait_for(page, "planning-result", half_width)
    assert caution.is_visible()
    assert "gives no reader" in caution.text_content() and "optimistic" in caution.text_content()

    page.get_by_test_id("planning-assumed-spreads").check()
    half_width, _ = expected_text(10, 10, **estimate.assumptions(spreads=False))
    wait_for(page, "planning-result", half_width)
    sources = page.get_by_test_id("planning-sources").text_content()
    assert "reader SD 0.5 (assumed)" in sources and "(from the pilot)" in sources
    # the panel stands between the form and its button
    panel_top = page.get_by_test_id("planning-panel").bounding_box()["y"]
    assert panel_top < page.get_by_test_id("admin-survey-add-submit").bounding_box()["y"]
