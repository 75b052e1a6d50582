"""The data migration that turns Django REST Framework's plain-text tokens into fingerprinted ones."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from api.models import ApiToken, fingerprint

BEFORE = [("api", "0001_initial")]
AFTER = [("api", "0002_fingerprint_existing_tokens")]
OLD_KEY = "9f2c" * 10  # a 40-character token as DRF made them


@pytest.mark.django_db(transaction=True)
def test_existing_plain_text_tokens_keep_working_fingerprinted_and_the_plain_rows_go():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state([*BEFORE, ("authtoken", "0004_alter_tokenproxy_options")]).apps
    user = old_apps.get_model("auth", "User").objects.create(username="old-script", is_active=True)
    old_apps.get_model("authtoken", "Token").objects.create(key=OLD_KEY, user=user)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)

    token = ApiToken.objects.get(user_id=user.pk)
    assert token.key_hash == fingerprint(OLD_KEY) and token.prefix == OLD_KEY[:8]
    assert token.scope == ApiToken.Scope.READ_WRITE and token.name.startswith("converted")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT * FROM api_apitoken")
        assert OLD_KEY not in str(cursor.fetchall())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {OLD_KEY}")
    me = client.get("/api/v1/me/").json()
    assert (me["username"], me["roles"], me["projects"]) == ("old-script", [], [])
