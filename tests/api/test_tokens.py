"""API tokens: `manage.py api_token USER [--revoke]`, the admin's token page, and the limit on failed tokens."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.api.conftest import ADMIN, RESEARCHER


def run(*args) -> str:
    out = io.StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue().strip()


def test_the_command_prints_a_token_that_works_and_revokes_it(people):
    user = people.users[RESEARCHER]
    Token.objects.filter(user=user).delete()
    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    key = run("researcher")
    assert key == Token.objects.get(user=user).key and len(key) == 40
    assert run("researcher") == key  # the same token again
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/surveys/").status_code == 200
    assert run("researcher", "--revoke") == "token of 'researcher' revoked"
    assert client.get("/api/v1/surveys/").status_code == 401
    assert run("researcher", "--revoke") == "'researcher' had no token"
    events = AuditEvent.objects.filter(pk__gt=last_event, object_type="auth.user", object_id=str(user.pk))
    assert list(events.order_by("pk").values_list("verb", flat=True)) == [
        "api_token.created",
        "api_token.revoked",
    ]


def test_the_command_refuses_unknown_and_inactive_users(people):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        run("ghost")
    people.users[RESEARCHER].is_active = False
    people.users[RESEARCHER].save()
    with pytest.raises(CommandError, match="inactive"):
        run("researcher")


def test_the_admin_creates_and_revokes_tokens_with_audit_rows(client, admin_user, people):
    user = people.users[RESEARCHER]
    Token.objects.filter(user=user).delete()
    client.force_login(admin_user)
    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": user.pk})
    assert response.status_code == 302
    assert Token.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(verb="api_token.created", actor=admin_user).count() == 1
    response = client.post(f"/admin/authtoken/tokenproxy/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(verb="api_token.revoked", actor=admin_user).count() == 1


def test_failed_tokens_from_one_address_are_limited_with_429(people, settings):
    settings.STUDIES_RATE_LIMITS = {**settings.STUDIES_RATE_LIMITS, "api_token_address": (3, 900)}
    guesser = APIClient(REMOTE_ADDR="10.0.0.9")
    guesser.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert [guesser.get("/api/v1/me/").status_code for _ in range(3)] == [401, 401, 401]
    limited = guesser.get("/api/v1/me/")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    # Even a good token is refused from that address until the window ends; other addresses are not affected.
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {people.tokens[ADMIN]}")
    assert guesser.get("/api/v1/me/").status_code == 429
    assert people.client(ADMIN).get("/api/v1/me/").status_code == 200
