"""Study archives in the admin: the export and import jobs' pages (with a download of a finished export), the
surveys' action *Export as a study archive* (signed when this site has a signing key), and on an imported survey's
page, where it came from."""

from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from archives.models import StudyExport, StudyImport, SurveyOrigin
from archives.services import ArchiveError, request_export
from archives.site import can_sign
from audit.services import record_event
from jobs.admin import JobAdminMixin
from projects.access import RUN_SURVEYS
from projects.admin import ProjectScopedAdmin
from studies import roles
from studies.admin import SurveyButton
from studies.models import Survey
from studies.selectors import surveys_visible_to


@admin.register(StudyExport)
class StudyExportAdmin(JobAdminMixin, admin.ModelAdmin):
    list_display = ["id", "survey_ids", "status_badge", "progress", "created_at", "signed_by", "download"]
    extra_readonly_fields = ["download"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Archive")
    def download(self, obj):
        if not obj.archive:
            return "-"
        url = reverse("admin:archives_studyexport_download", args=[obj.pk])
        return format_html('<a href="{}">Download ({})</a>', url, obj.archive_sha256[:12])

    def get_urls(self):
        own = [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="archives_studyexport_download",
            ),
            path(
                "from-survey/<int:survey_pk>/",
                self.admin_site.admin_view(self.export_survey_view),
                name="archives_studyexport_from_survey",
            ),
        ]
        return own + super().get_urls()

    def export_survey_view(self, request, survey_pk):
        """The survey page's *Export as a study archive* button (POST): one survey, back to its page."""
        survey = get_object_or_404(surveys_visible_to(request.user), pk=survey_pk)
        if request.method != "POST":
            return HttpResponse(status=405)
        queue_export(self, request, [survey])
        return HttpResponseRedirect(reverse("admin:studies_survey_change", args=[survey.pk]))

    def download_view(self, request, pk):
        if not self.has_view_permission(request):
            raise Http404
        job = get_object_or_404(self.get_queryset(request), pk=pk)  # another project's: not found
        if not job.archive:
            raise Http404
        with transaction.atomic():
            record_event(
                actor=request.user,
                verb="study_export.downloaded",
                target=job,
                details={"sha256": job.archive_sha256},
            )
        return FileResponse(
            default_storage.open(job.archive, "rb"),
            as_attachment=True,
            filename=f"blindread-study-archive-{job.pk}.zip",
            content_type="application/zip",
        )


@admin.register(StudyImport)
class StudyImportAdmin(JobAdminMixin, admin.ModelAdmin):
    list_display = ["id", "status_badge", "progress", "created_at", "survey_ids"]

    def has_add_permission(self, request):
        return False


@admin.register(SurveyOrigin)
class SurveyOriginAdmin(ProjectScopedAdmin, admin.ModelAdmin):
    project_path = "survey__project"
    list_display = ["survey", "signature", "key_id", "format", "archive_sha256", "imported_at"]
    list_filter = ["signature"]
    readonly_fields = [f.name for f in SurveyOrigin._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.display(description="Imported from")
def archive_origin(survey) -> str:
    """An imported survey's origin: the archive, when and by whom it says it was written, its signature."""
    origin = SurveyOrigin.objects.filter(survey=survey).first() if survey is not None and survey.pk else None
    if origin is None:
        return "made here, not imported"
    written = f", written {origin.exported_at}" if origin.exported_at else ""
    return f"study archive {origin.archive_sha256[:12]} ({origin.format}{written}): {origin.describe()}"


def queue_export(modeladmin, request, surveys) -> None:
    """Queue an export of the surveys and say so (or why not) on the page the admin returns to."""
    if not roles.is_study_admin(request.user):
        raise Http404
    if not all(request.user.has_perm(RUN_SURVEYS, survey.project) for survey in surveys):
        raise Http404
    try:
        job = request_export(surveys=surveys, actor=request.user, sign=can_sign())
    except ArchiveError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    url = reverse("admin:archives_studyexport_change", args=[job.pk])
    modeladmin.message_user(
        request,
        format_html('Study export job <a href="{}">#{}</a> queued on the {} queue.', url, job.pk, job.queue),
    )


@admin.action(description="Export as a study archive")
def export_study_archive(modeladmin, request, queryset):
    queue_export(modeladmin, request, list(queryset.order_by("name")))


# The survey admin (studies) gets the action and its page's button here: archives sits above studies, which
# cannot name them.
survey_admin = admin.site.get_model_admin(Survey)
survey_admin.actions = [*survey_admin.actions, export_study_archive]
survey_admin.extra_readonly_fields = [*survey_admin.extra_readonly_fields, archive_origin]
survey_admin.panel_buttons = [
    *survey_admin.panel_buttons,
    SurveyButton(
        "Export as a study archive",
        "admin:archives_studyexport_from_survey",
        "admin-survey-export",
        ("draft", "open", "closed"),
    ),
]
