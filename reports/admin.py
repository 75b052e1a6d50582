from django.contrib import admin

from jobs.admin import JobAdminMixin
from projects.admin import VisibleRowsOnly404
from projects.selectors import is_site_superuser
from reports.models import DownloadLog, ReportJob


@admin.register(DownloadLog)
class DownloadLogAdmin(VisibleRowsOnly404, admin.ModelAdmin):
    list_display = ["created_at", "user", "what", "via", "surveys", "models_compared", "byte_size"]
    list_filter = ["what", "via"]
    list_select_related = ["user"]

    def get_queryset(self, request):
        """Site superusers see every download; anyone else their own."""
        rows = super().get_queryset(request)
        return rows if is_site_superuser(request.user) else rows.filter(user=request.user)

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
