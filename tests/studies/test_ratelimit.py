"""Password guessing is rate limited on every sign-in form (the readers' and the admin's), per username and
per client address, in the configured cache (Redis when REDIS_URL is set)."""

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


def test_a_successful_sign_in_forgets_the_usernames_failures(tight_limits, make_reader):
    make_reader("forgetful")
    client = Client()
    for _ in range(2):
        login(client, "forgetful", "wrong")
    assert login(client, "forgetful", "pw-reader-123").status_code == 302
    limit = ratelimit.limit_from_settings("login_username")
    assert ratelimit.failures(limit, "forgetful") == 0


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
