"""A researcher enrols an authenticator app and signs in with its codes, in Chromium: the QR code is drawn by the
page itself (no request leaves the server), the codes are computed by the test (tests/accounts/totp.py)."""

import time
from urllib.parse import urlsplit

import pytest

from tests.accounts.totp import totp
from tests.projects.factories import make_member

PASSWORD = "pw-e2e-researcher-7730"


@pytest.fixture
def researcher(transactional_db, django_user_model, settings):
    settings.ACCOUNTS_SECOND_FACTOR_REQUIRED = True
    user = django_user_model.objects.create_user("dr.enrol", password=PASSWORD, is_staff=True)
    make_member(user, "researcher")
    return user


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_test_id("login-username").fill("dr.enrol")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()


def test_a_researcher_enrols_an_authenticator_and_signs_in_again_with_a_code(
    live_server, researcher, new_context
):
    context = new_context()
    page = context.new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname))

    sign_in(page, live_server.url)
    page.wait_for_url("**/account/second-factor/enrol/**")
    qr = page.get_by_test_id("enrol-qr").locator("svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 100
    secret = page.get_by_test_id("enrol-secret").inner_text().strip()
    page.get_by_test_id("second-factor-code").fill(totp(secret))
    page.get_by_test_id("second-factor-submit").click()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_test_id("recovery-codes-continue").click()
    page.wait_for_url(f"{live_server.url}/reports/")

    context.clear_cookies()  # a new browser session
    sign_in(page, live_server.url)
    page.wait_for_url("**/account/second-factor/verify/**")
    # The enrolment used this 30-second step's code; the next step's code is the one an app shows next.
    page.get_by_test_id("second-factor-code").fill(totp(secret, at=time.time() + 30))
    page.get_by_test_id("second-factor-submit").click()
    page.wait_for_url(f"{live_server.url}/reports/")

    context.clear_cookies()
    sign_in(page, live_server.url)
    page.wait_for_url("**/account/second-factor/verify/**")
    page.get_by_test_id("second-factor-code").fill(codes[0])
    page.get_by_test_id("second-factor-submit").click()
    page.wait_for_url(f"{live_server.url}/reports/")
    assert hosts == {urlsplit(live_server.url).hostname}
