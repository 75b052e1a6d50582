"""In Chromium, the pages of the admin, the reports and the API documentation run under their content security
policy without a single violation: every script and style they need is allowed, inline code by its nonce."""

import pytest

from studies import roles
from tests.projects.factories import make_member

PASSWORD = "pw-e2e-csp-7731"


@pytest.fixture
def staff(transactional_db, django_user_model):
    user = django_user_model.objects.create_superuser("e2e-csp-admin", "csp@example.org", PASSWORD)
    make_member(user, roles.RESEARCHER)
    return user


def test_admin_report_and_api_documentation_pages_run_without_a_policy_violation(staff, live_server, page):
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else None,
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    for path in (
        "/admin/",
        "/admin/imaging/volume/",
        "/admin/imaging/importjob/upload/",
        "/admin/imaging/importjob/pacs/",
        "/admin/studies/survey/add/",
        "/reports/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)  # the documentation's own scripts ran
    assert violations == []
