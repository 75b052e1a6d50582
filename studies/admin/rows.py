"""Rows the studies services write (items, answers, assignments, invitations, profiles, blinding audits): viewed in
the admin, never added, edited or deleted there, with the few actions they take (reminders, revoking)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from imaging.rendering import png_bytes, window_to_uint8
from imaging.selectors import with_their_slices
from jobs.admin import JobAdminMixin
from projects.access import RUN_SURVEYS
from projects.admin import ProjectScopedAdmin
from projects.models import Role
from projects.selectors import visible_to
from studies import roles
from studies.admin.surveys import require_admin
from studies.models import Answer, AnswerRevision, Assignment, BlindingAudit, Invitation, Item, ReaderProfile
from studies.rendering import decode_payload
from studies.services import StudyError, do_revoke_invitation, do_send_reminder, invitation_url


def runs(rows, user):
    """The rows (of surveys) among ``rows`` whose project ``user`` runs as a study admin or owner."""
    return visible_to(rows, user, at_least=Role.STUDY_ADMIN, through="survey__project")


class ReadOnlyAdmin(ProjectScopedAdmin, admin.ModelAdmin):
    """Rows written only by services: viewable (those of the viewer's projects), never added, edited or deleted
    here."""

    project_path = "survey__project"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "survey", "truth", "axial_layer", "slice"]
    list_filter = [("survey", admin.RelatedOnlyFieldListFilter), "truth", "axial_layer"]
    search_fields = ["public_id"]
    list_select_related = ["survey"]

    def get_queryset(self, request):
        return with_their_slices(super().get_queryset(request))

    readonly_fields = [
        "survey",
        "public_id",
        "truth",
        "axial_layer",
        "slice",
        "payload",
        "payload_sha256",
        "preview",
    ]

    @admin.display(description="As readers see it (default window)")
    def preview(self, obj):
        url = reverse("admin:studies_item_png", args=[obj.pk])
        return format_html('<img src="{}" width="384" alt="item preview">', url)

    def get_urls(self):
        custom = [path("<int:pk>/png/", self.admin_site.admin_view(self.png_view), name="studies_item_png")]
        return custom + super().get_urls()

    def png_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        item = get_object_or_404(self.get_queryset(request).select_related("survey"), pk=pk)
        survey = item.survey
        with default_storage.open(item.payload, "rb") as handle:
            stack = decode_payload(
                handle.read(), survey.display_policy.matrix_size, survey.design.stack_slices
            )
        pixels = stack[survey.design.centre_slice]  # the centre slice, what the reader answers for
        policy = survey.display_policy
        image = window_to_uint8(pixels, width=policy.default_window_width, level=policy.default_window_level)
        response = HttpResponse(png_bytes(image), content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response


class AnswerRevisionInline(admin.TabularInline):
    model = AnswerRevision
    fields = [
        "revision",
        "choice",
        "reason",
        "seconds_on_slice",
        "window_width",
        "window_level",
        "zoom",
        "created_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = [
        "assignment",
        "item",
        "choice",
        "truth",
        "revision_count",
        "seconds_on_slice",
        "created_at",
    ]
    project_path = "item__survey__project"
    list_filter = [("assignment__survey", admin.RelatedOnlyFieldListFilter), "choice", "item__truth"]
    list_select_related = ["assignment__survey", "assignment__reader", "item"]
    inlines = [AnswerRevisionInline]

    @admin.display(ordering="item__truth")
    def truth(self, obj):
        return obj.item.truth


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = [
        "reader",
        "survey",
        "answered",
        "total",
        "completed_at",
        "last_activity_at",
        "reminder_count",
    ]
    list_filter = [("survey", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["survey", "reader"]
    actions = ["send_reminders"]
    exclude = ["item_order"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(answer_count=Count("answers"))

    def get_actions(self, request):
        return super().get_actions(request) if roles.is_study_admin(request.user) else {}

    @admin.display(ordering="answer_count")
    def answered(self, obj):
        return obj.answer_count

    @admin.action(description="Send a reminder e-mail to the selected readers")
    def send_reminders(self, request, queryset):
        require_admin(request)
        for assignment in runs(queryset, request.user):
            try:
                do_send_reminder(assignment=assignment, actor=request.user)
                self.message_user(request, f"Reminder sent to {assignment.reader}.")
            except StudyError as exc:
                self.message_user(request, str(exc), messages.ERROR)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["survey", "label", "email", "state", "created_at", "expires_at", "used_by"]
    list_filter = [("survey", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["survey", "used_by"]
    actions = ["revoke"]
    exclude = ["token"]
    readonly_fields = ["link"]

    def get_readonly_fields(self, request, obj=None):
        # The join link lets whoever holds it join as a reader: study admins only see it.
        fields = list(super().get_readonly_fields(request, obj))
        return fields if self._runs(request, obj) else [f for f in fields if f != "link"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return fields if self._runs(request, obj) else [f for f in fields if f != "link"]

    def _runs(self, request, obj) -> bool:
        if obj is None:
            return roles.is_study_admin(request.user)
        return request.user.has_perm(RUN_SURVEYS, obj.survey.project)

    @admin.display(description="Link")
    def link(self, obj):
        if obj.state != "pending":
            return f"({obj.state})"
        return invitation_url(obj)

    @admin.action(description="Revoke the selected invitations")
    def revoke(self, request, queryset):
        require_admin(request)
        for invitation in runs(queryset, request.user):
            try:
                do_revoke_invitation(invitation=invitation, actor=request.user)
            except StudyError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        self.message_user(request, "Pending invitations among the selected ones are revoked.")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not roles.is_study_admin(request.user):
            actions.pop("revoke", None)
        return actions


@admin.register(ReaderProfile)
class ReaderProfileAdmin(ReadOnlyAdmin):
    project_path = "user__assignments__survey__project"
    list_display = ["user", "specialty", "years_of_experience", "updated_at"]
    list_filter = ["specialty"]


@admin.register(BlindingAudit)
class BlindingAuditAdmin(JobAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "survey", "status_badge", "progress", "passed", "created_at", "created_by"]
    list_filter = ["status", "passed", ("survey", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["survey", "created_by"]
    exclude = ["report"]
    extra_readonly_fields = ["audit_report"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Report")
    def audit_report(self, obj):
        return format_html('<pre class="blinding-audit">{}</pre>', obj.report) if obj.report else "not yet"
