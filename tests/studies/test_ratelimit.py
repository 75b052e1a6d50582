"""Password guessing is slowed on every sign-in form (the readers' and the admin's) by a growing delay, per client
address, per account at an address and per account from unknown addresses, in the configured cache (Redis when
REDIS_URL is set); never a lock: nobody can keep a colleague out."""

import time

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from studies import ratelimit


@pytest.fixture
def tight_limits(settings):
    settings.STUDIES_RATE_LIMITS = {
        "login_address": (6, 900),
        "login_username": (3, 900),
        "invitation_address": (5, 900),
    }
    settings.STUDIES_LOGIN_DELAY_FIRST_S = 1.0
    settings.STUDIES_LOGIN_DELAY_MAX_S = 8.0


def login(client, username, password, url=None):
    return client.post(url or reverse("studies:login"), {"username": username, "password": password})


def test_after_too_many_failures_even_the_right_password_is_refused(tight_limits, make_reader):
    make_reader("victim")
    client = Client()
    for _ in range(3):
        assert login(client, "victim", "wrong").status_code == 200
    blocked = login(client, "victim", "pw-reader-123")
    assert blocked.status_code == 429
    assert 'data-testid="login-limited"' in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_login_is_limited_by_the_same_counters(tight_limits, admin_user):
    client = Client()
    admin_login = reverse("admin:login")
    for _ in range(3):
        login(client, "admin", "wrong", admin_login)
    response = login(client, "admin", "pw-admin-123", admin_login)
    assert response.status_code == 200  # the admin shows its form again, saying why
    assert "_auth_user_id" not in client.session
    assert "Too many failed sign-in attempts. Wait a few minutes and try again." in response.content.decode()
    assert "Please enter the correct username" not in response.content.decode()


def test_the_admin_login_says_a_wrong_password_before_the_limit(tight_limits, admin_user):
    response = login(Client(), "admin", "wrong", reverse("admin:login"))
    assert "Please enter the correct username and password" in response.content.decode()
    assert "Too many failed sign-in attempts" not in response.content.decode()


def test_one_address_trying_many_usernames_is_limited(tight_limits, make_reader):
    make_reader("someone")
    client = Client()
    for number in range(6):
        login(client, f"guess{number}", "wrong")
    assert login(client, "someone", "pw-reader-123").status_code == 429
    other_address = Client(REMOTE_ADDR="10.9.8.7")
    assert login(other_address, "someone", "pw-reader-123").status_code == 302


def test_a_successful_sign_in_forgets_the_accounts_failures(tight_limits, make_reader):
    make_reader("forgetful")
    client = Client()
    for _ in range(2):
        login(client, "forgetful", "wrong")
    assert login(client, "forgetful", "pw-reader-123").status_code == 302
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    assert ratelimit.login_wait_seconds(request, "forgetful") == 0
    assert all(ratelimit._state(key)[0] == 0 for key in ratelimit.login_keys(request, "forgetful")[1:])


def test_the_wait_grows_with_each_failure_and_then_the_right_password_works(tight_limits, make_reader):
    make_reader("slow")
    client = Client()
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    for _ in range(3):
        login(client, "slow", "wrong")
    first_wait = ratelimit.login_wait_seconds(request, "slow")
    assert 0.5 < first_wait <= 1.0
    # An attempt during the wait is refused and not counted: it does not make the wait longer.
    assert login(client, "slow", "wrong").status_code == 429
    assert ratelimit.login_wait_seconds(request, "slow") <= first_wait
    time.sleep(first_wait + 0.05)
    assert login(client, "slow", "wrong").status_code == 200  # looked at, and wrong: the wait doubles
    assert 1.5 < ratelimit.login_wait_seconds(request, "slow") <= 2.0
    time.sleep(ratelimit.login_wait_seconds(request, "slow") + 0.05)
    assert login(client, "slow", "pw-reader-123").status_code == 302  # a delay, never a lock


def test_nobody_can_keep_a_colleague_out_by_failing_on_purpose_from_elsewhere(tight_limits, make_reader):
    make_reader("colleague")
    usual = Client(REMOTE_ADDR="10.1.1.1")
    assert login(usual, "colleague", "pw-reader-123").status_code == 302  # the address becomes known
    attacker = Client(REMOTE_ADDR="10.6.6.6")
    for _ in range(5):
        login(attacker, "colleague", "wrong")
    assert login(attacker, "colleague", "pw-reader-123").status_code == 429  # the attacker waits
    # From an address never used before the account is delayed for a while ...
    new_place = Client(REMOTE_ADDR="10.2.2.2")
    assert login(new_place, "colleague", "pw-reader-123").status_code == 429
    # ... but the colleague's usual address is not: failures from elsewhere never keep them out.
    assert login(Client(REMOTE_ADDR="10.1.1.1"), "colleague", "pw-reader-123").status_code == 302
    wait = ratelimit.login_wait_seconds(RequestFactory().post("/", REMOTE_ADDR="10.2.2.2"), "colleague")
    time.sleep(max(wait, 0) + 0.05)
    assert login(new_place, "colleague", "pw-reader-123").status_code == 302


def test_the_counter_lives_in_the_configured_cache_and_expires_with_its_window():
    limit = ratelimit.Limit(scope="test", max_failures=2, window_seconds=1)
    assert ratelimit.register_failure(limit, "k") == 1
    assert ratelimit.register_failure(limit, "k") == 2
    assert ratelimit.is_limited(limit, "k")
    assert cache.get(ratelimit._cache_key(limit, "k")) == 2
    time.sleep(1.2)
    assert not ratelimit.is_limited(limit, "k")


def test_the_client_address_comes_from_the_trusted_proxy_header_when_configured(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert ratelimit.client_address(request) == "10.0.0.1"
    settings.STUDIES_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    assert ratelimit.client_address(request) == "203.0.113.9"
