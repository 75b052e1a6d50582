"""System checks: the role map names existing roles; production settings ask staff for a second factor."""

from django.conf import settings
from django.core import checks

from accounts.role_mapping import parse_role_map


@checks.register()
def role_map_names_existing_roles(app_configs, **kwargs):
    try:
        parse_role_map(settings.SSO_ROLE_MAP)
    except ValueError as exc:
        return [checks.Error(str(exc), id="accounts.E001")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def second_factor_required_in_production(app_configs, **kwargs):
    if settings.ACCOUNTS_SECOND_FACTOR_REQUIRED:
        return []
    return [
        checks.Warning(
            "staff sign in without a second factor (ACCOUNTS_SECOND_FACTOR_REQUIRED is off)",
            hint="set ACCOUNTS_SECOND_FACTOR_REQUIRED=1 (the default with DJANGO_SECURE=1)",
            id="accounts.W001",
        )
    ]
