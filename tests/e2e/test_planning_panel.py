"""Browser test of the planning panel on the survey creation page: the script fetches plan_design's numbers for
the form's items per side and the readers typed, follows edits of the assumptions, and shows refusals in words."""

import pytest
from django.contrib.auth.models import Group

from metrics.stats.planning import plan_design

PASSWORD = "pw-e2e-admin-5521"


@pytest.fixture
def admin_user(transactional_db, django_user_model):
    user = django_user_model.objects.create_user("e2e-study-admin", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
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
