"""Admin for reader studies, one module per concept: `surveys` (the survey's pages and actions: create, change a
draft, audit, open, close, invite, progress, reminders) and `rows` (what the services write, read-only). Apps above
studies add their own buttons to the survey's page through `SurveyButton` (archives: the export)."""

from django.contrib import admin

from studies.admin import rows
from studies.admin.surveys import SurveyAdmin, SurveyButton, require_admin, require_researcher
from studies.forms import RateLimitedAdminLoginForm

# Every sign-in form is rate limited (studies.auth); the admin's says so when it is.
admin.site.login_form = RateLimitedAdminLoginForm

__all__ = ["SurveyAdmin", "SurveyButton", "require_admin", "require_researcher", "rows"]
