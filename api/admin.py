"""API tokens in the admin: listed per user with scope, expiry and last use; made through api.services (the new
token is shown once, on the page that follows) and revoked through it. A token cannot be edited."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from rest_framework.authtoken.models import TokenProxy

from api.models import ApiToken
from api.services import TokenRefused, issue_token, revoke_tokens

# Django REST Framework's own token page shows tokens in plain text; its table is no longer used.
admin.site.unregister(TokenProxy)


class ApiTokenForm(forms.ModelForm):
    days = forms.IntegerField(
        min_value=1, initial=lambda: settings.API_TOKEN_DAYS, help_text="How many days the token stays valid"
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scope"]

    def clean(self):
        cleaned = super().clean()
        days = cleaned.get("days")
        if days is not None and days > settings.API_TOKEN_MAX_DAYS:
            self.add_error("days", f"at most {settings.API_TOKEN_MAX_DAYS} days")
        user = cleaned.get("user")
        if user is not None and not user.is_active:
            self.add_error("user", "this account is inactive; a token would not work")
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["prefix", "user", "name", "scope", "created_at", "expires_at", "last_used_at"]
    list_filter = ["scope"]
    search_fields = ["user__username", "name", "prefix"]
    list_select_related = ["user"]
    readonly_fields = ["prefix", "created_at", "expires_at", "last_used_at"]
    autocomplete_fields = ["user"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "scope", "days"]
        return ["user", "name", "scope", "prefix", "created_at", "expires_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        try:
            issued = issue_token(
                user=obj.user,
                actor=request.user,
                name=obj.name,
                scope=obj.scope,
                days=form.cleaned_data["days"],
            )
        except TokenRefused as exc:  # the form checks the same; a race leaves this line
            raise forms.ValidationError(str(exc)) from exc
        obj.pk = issued.token.pk
        obj._state.adding = False
        obj.issued_key = issued.key

    def response_add(self, request, obj, post_url_continue=None):
        """The new token, shown once (only its fingerprint is stored)."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "key": obj.issued_key,
            "title": "API token created",
        }
        response = TemplateResponse(request, "admin/api/apitoken/created.html", context)
        response.headers["Cache-Control"] = "no-store"
        return response

    def delete_model(self, request, obj):
        revoke_tokens(user=obj.user, actor=request.user, prefix=obj.prefix)

    def delete_queryset(self, request, queryset):
        for token in queryset.select_related("user"):
            revoke_tokens(user=token.user, actor=request.user, prefix=token.prefix)
