"""Accounts in the admin: the links to the hospital's directory or identity provider (read-only), and the second
factor of each account, which a superuser can reset (the account enrols again at its next sign-in). Recovery codes
are never shown: only how many are left."""

from django.contrib import admin, messages

from accounts.models import ExternalIdentity, RecoveryCodeDevice
from accounts.services import reset_second_factor


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "provider", "subject", "created_at", "last_sign_in_at"]
    list_filter = ["provider"]
    search_fields = ["user__username", "subject"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RecoveryCodeDevice)
class RecoveryCodeDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "unused"]
    search_fields = ["user__username"]
    actions = ["reset"]
    fields = ["user", "unused"]
    readonly_fields = ["user", "unused"]

    @admin.display(description="unused codes")
    def unused(self, device):
        return device.unused_count()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Reset the second factor (authenticator app and recovery codes)")
    def reset(self, request, queryset):
        if not request.user.is_superuser:
            self.message_user(request, "only superusers may reset a second factor", messages.ERROR)
            return
        users = [device.user for device in queryset.select_related("user")]
        for user in users:
            reset_second_factor(user=user, actor=request.user)
        self.message_user(request, f"second factor reset for {len(users)} account(s); they enrol again")
