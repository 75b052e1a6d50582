"""API tokens: fingerprinted storage, `manage.py api_token`, the admin's token pages, expiry, scopes, the limit
on failed tokens and the request rates (429 with Retry-After)."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken, fingerprint
from api.services import issue_token
from audit.models import AuditEvent
from projects.models import Role
from projects.services import add_member, create_project
from tests.api.conftest import ADMIN, RESEARCHER


def run(*args) -> str:
    out = io.StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue().strip()


def token_client(key: str, **options) -> APIClient:
    client = APIClient(**options)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_token_table_holds_no_token_in_plain_text(people):
    keys = list(people.tokens.values())
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        rows = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM authtoken_token")
        (drf_tokens,) = cursor.fetchone()
    assert len(rows) == len(keys) and drf_tokens == 0
    stored = " ".join(str(value) for row in rows for value in row)
    for key in keys:
        assert key not in stored
        assert fingerprint(key) in stored  # what is kept instead
        assert key[:8] in stored  # the prefix shown in lists


def test_the_command_prints_a_new_token_once_lists_and_revokes(people):
    user = people.users[RESEARCHER]
    ApiToken.objects.filter(user=user).delete()
    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    key = run("researcher", "--name", "nightly export")
    assert len(key) >= 43
    second = run("researcher", "--scope", "read", "--days", "7")
    assert second != key  # a token is never shown again: each call makes a new one
    assert token_client(key).get("/api/v1/surveys/").status_code == 200
    listing = run("researcher", "--list")
    lines = listing.splitlines()
    assert len(lines) == 2 and key not in listing and second not in listing
    line_of_first = next(line for line in lines if line.startswith(key[:8]))
    assert "read-write" in line_of_first and "nightly export" in line_of_first
    assert "last used never" not in line_of_first  # it was used just now
    line_of_second = next(line for line in lines if line.startswith(second[:8]))
    assert "read-only" in line_of_second and "last used never" in line_of_second
    expected_expiry = (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%d")
    assert f"expires {expected_expiry}" in line_of_second
    assert run("researcher", "--revoke", key[:8]) == "1 token(s) of 'researcher' revoked"
    assert token_client(key).get("/api/v1/surveys/").status_code == 401
    assert token_client(second).get("/api/v1/surveys/").status_code == 200
    assert run("researcher", "--revoke") == "1 token(s) of 'researcher' revoked"
    assert token_client(second).get("/api/v1/surveys/").status_code == 401
    assert run("researcher", "--revoke") == "'researcher' had no token"
    events = AuditEvent.objects.filter(pk__gt=last_event, object_type="auth.user", object_id=str(user.pk))
    assert list(events.order_by("pk").values_list("verb", flat=True)) == [
        "api_token.created",
        "api_token.created",
        "api_token.revoked",
        "api_token.revoked",
    ]
    assert all(key not in str(event.details) for event in events)


def test_the_command_refuses_unknown_and_inactive_users_and_bad_lifetimes(people, settings):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        run("ghost")
    with pytest.raises(CommandError, match="valid for 1 to 366 days, not 0"):
        run("researcher", "--days", "0")
    settings.API_TOKEN_MAX_DAYS = 30
    with pytest.raises(CommandError, match="valid for 1 to 30 days, not 31"):
        run("researcher", "--days", "31")
    people.users[RESEARCHER].is_active = False
    people.users[RESEARCHER].save()
    with pytest.raises(CommandError, match="inactive"):
        run("researcher")


def test_the_admin_shows_a_new_token_once_and_revokes_it_with_audit_rows(client, admin_user, people):
    user = people.users[RESEARCHER]
    ApiToken.objects.filter(user=user).delete()
    client.force_login(admin_user)
    response = client.post(
        "/admin/api/apitoken/add/", {"user": user.pk, "name": "from the admin", "scope": "read", "days": 10}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=user)
    page = response.content.decode()
    key = page.split('data-testid="api-token"')[1].split(">", 1)[1].split("<", 1)[0]
    assert fingerprint(key) == token.key_hash and token.scope == "read"
    assert token.expires_at.date() == (timezone.now() + timedelta(days=10)).date()
    assert AuditEvent.objects.filter(verb="api_token.created", actor=admin_user).count() == 1
    # The list and the token's page show the prefix and the last use, never the token.
    listing = client.get("/admin/api/apitoken/").content.decode()
    detail = client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    assert token.prefix in listing and key not in listing and key not in detail
    response = client.post(f"/admin/api/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiToken.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(verb="api_token.revoked", actor=admin_user).count() == 1


def test_a_read_only_token_reads_but_never_writes(people):
    key = issue_token(user=people.users[ADMIN], scope=ApiToken.Scope.READ).key
    client = token_client(key)
    assert client.get("/api/v1/surveys/").status_code == 200
    response = client.post("/api/v1/invitations/", {"survey": 1, "count": 1}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "detail": "this token is read-only; changes need a read-write token",
    }
    # The same account with a read-write token gets past the scope check (to the request's own validation).
    assert people.client(ADMIN).post("/api/v1/invitations/", {}, format="json").status_code == 400


def test_an_expired_token_is_refused_and_its_last_use_is_recorded(people):
    token = ApiToken.objects.get(user=people.users[ADMIN])
    assert token.last_used_at is None
    assert people.client(ADMIN).get("/api/v1/me/").status_code == 200
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = people.client(ADMIN).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "this token has expired; ask for a new one"


def test_failed_tokens_from_one_address_are_limited_with_429(people, settings):
    settings.STUDIES_RATE_LIMITS = {**settings.STUDIES_RATE_LIMITS, "api_token_address": (3, 900)}
    guesser = token_client("0" * 43, REMOTE_ADDR="10.0.0.9")
    assert [guesser.get("/api/v1/me/").status_code for _ in range(3)] == [401, 401, 401]
    limited = guesser.get("/api/v1/me/")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited["Retry-After"]) == 900
    # Even a good token is refused from that address until the window ends; other addresses are not affected.
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {people.tokens[ADMIN]}")
    assert guesser.get("/api/v1/me/").status_code == 429
    assert people.client(ADMIN).get("/api/v1/me/").status_code == 200


def test_each_account_has_its_own_request_rate(people, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min", "anon": "100/min"},
    }
    admin = people.client(ADMIN)
    assert [admin.get("/api/v1/surveys/").status_code for _ in range(3)] == [200, 200, 200]
    limited = admin.get("/api/v1/surveys/")
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # A second token of the same account shares its rate; another account does not.
    assert token_client(issue_token(user=people.users[ADMIN]).key).get("/api/v1/me/").status_code == 429
    assert people.client(RESEARCHER).get("/api/v1/surveys/").status_code == 200


def test_anonymous_requests_are_limited_per_address_on_every_endpoint(people, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100/min", "anon": "2/min"},
    }
    anonymous = APIClient(REMOTE_ADDR="10.0.0.7")
    # Refused for want of an account (401), and counted: the third request from the address is throttled.
    assert [anonymous.get("/api/v1/surveys/").status_code for _ in range(2)] == [401, 401]
    limited = anonymous.get("/api/v1/checkpoints/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert anonymous.get("/api/v1/schema/").status_code == 429  # the open schema too
    # Another address, and any account, are not affected.
    assert APIClient(REMOTE_ADDR="10.0.0.8").get("/api/v1/schema/").status_code == 200
    assert people.client(RESEARCHER).get("/api/v1/surveys/").status_code == 200


def test_me_names_the_projects_and_the_role_in_each(people):
    second = create_project(name="Head and neck")
    add_member(project=second, user=people.users[ADMIN], role=Role.RESEARCHER)
    me = people.client(ADMIN).get("/api/v1/me/").json()
    assert me["username"] == "study-admin" and me["site_superuser"] is False
    assert me["projects"] == [
        {"name": "Default project", "role": "study_admin"},
        {"name": "Head and neck", "role": "researcher"},
    ]
    assert people.client(RESEARCHER).get("/api/v1/me/").json()["projects"] == [
        {"name": "Default project", "role": "researcher"}
    ]
