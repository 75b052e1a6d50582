"""API tokens in the admin: DRF's token page, with creation and revocation going through api.services."""

from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from api.services import issue_token, revoke_token

admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class ApiTokenAdmin(TokenAdmin):
    def save_model(self, request, obj, form, change):
        token, _ = issue_token(user=obj.user, actor=request.user)
        obj.key, obj.created = token.key, token.created

    def delete_model(self, request, obj):
        revoke_token(user=obj.user, actor=request.user)

    def delete_queryset(self, request, queryset):
        for token in queryset.select_related("user"):
            revoke_token(user=token.user, actor=request.user)
