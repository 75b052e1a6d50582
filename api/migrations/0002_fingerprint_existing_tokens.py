"""Existing API tokens (Django REST Framework's, kept in plain text) become fingerprinted ones: each keeps working
for its owner, read-write, for API_TOKEN_DAYS from now, named so in the token list; the plain-text rows are then
deleted. Undoing this migration cannot bring the plain-text tokens back: it removes the converted tokens."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

CONVERTED_NAME = "converted from the earlier plain-text token"


def fingerprint_existing_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("api", "ApiToken")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    expires_at = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    for token in Token.objects.all():
        converted = ApiToken.objects.create(
            user_id=token.user_id,
            name=CONVERTED_NAME,
            prefix=token.key[:8],
            key_hash=hashlib.sha256(token.key.encode("utf-8")).hexdigest(),
            scope="read_write",
            expires_at=expires_at,
        )
        AuditEvent.objects.create(
            actor=None,
            verb="api_token.converted",
            object_type="auth.user",
            object_id=str(token.user_id),
            details={"prefix": converted.prefix},
        )
    Token.objects.all().delete()


def remove_converted_tokens(apps, schema_editor):
    apps.get_model("api", "ApiToken").objects.filter(name=CONVERTED_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("audit", "0002_audit_events_append_only"),
    ]

    operations = [migrations.RunPython(fingerprint_existing_tokens, remove_converted_tokens)]
