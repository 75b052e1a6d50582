from django.contrib import admin

from jobs.admin import JobAdminMixin
from reports.models import DownloadLog, ReportJob


@admin.register(DownloadLog)
class DownloadLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "what", "via", "surveys", "models_compared", "byte_size"]
    list_filter = ["what", "via"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReportJob)
class ReportJobAdmin(JobAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "title", "status_badge", "progress", "answer_count", "finished_at", "created_by"]
    list_filter = ["status"]
    exclude = ["selection_key"]

    def has_add_permission(self, request):
        return False
