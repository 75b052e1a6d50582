"""System checks for deployment: the pseudonym key must be the site's own, set outside the code."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_pseudonym_key(app_configs, **kwargs):
    if not settings.PSEUDONYM_KEY_FROM_ENVIRONMENT or len(settings.PSEUDONYM_KEY) < 32:
        return [
            Error(
                "Patient pseudonyms are keyed with a local default key (or one shorter than 32 characters).",
                hint="Set BLINDREAD_PSEUDONYM_KEY to a long random secret, kept outside the database and archives, "
                "and never change it (docs/security.md, De-identification).",
                id="imaging.E001",
            )
        ]
    return []
