"""The survey's admin pages: create a survey, change a draft, the actions at the head of its page (audit, open,
close), invite readers, follow progress and send reminders. Survey management needs the admin group; progress is
open to researchers too."""

from collections import Counter
from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from projects.access import RUN_SURVEYS
from projects.admin import ProjectScopedAdmin
from projects.models import Role
from projects.selectors import visible_to
from studies import roles
from studies.forms import InvitationsForm, SurveyCreateForm, SurveyDraftForm
from studies.models import Assignment, Item, Survey
from studies.selectors import flagged_readers, survey_overview, survey_progress, surveys_with_counts
from studies.services import (
    READER_SETTINGS,
    StudyError,
    create_survey,
    do_change_survey_settings,
    do_close_survey,
    do_create_invitations,
    do_open_survey,
    do_send_reminder,
    invitation_url,
    request_blinding_audit,
)


def require_admin(request, survey=None):
    """Study admins only; for one survey, a study admin (or owner) of its project."""
    if not roles.is_study_admin(request.user):
        raise PermissionDenied
    if survey is not None and not request.user.has_perm(RUN_SURVEYS, survey.project):
        raise PermissionDenied


def runs_survey(request, survey) -> bool:
    return request.user.has_perm(RUN_SURVEYS, survey.project)


def require_researcher(request):
    if not roles.is_researcher(request.user):
        raise PermissionDenied


def runs(surveys, user):
    """The surveys among ``surveys`` whose project ``user`` runs as a study admin or owner."""
    return visible_to(surveys, user, at_least=Role.STUDY_ADMIN)


class ItemInline(admin.TabularInline):
    model = Item
    fields = ["public_id", "truth", "catch", "axial_layer", "slice", "preview"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="As readers see it")
    def preview(self, obj):
        if obj.pk is None:
            return ""
        url = reverse("admin:studies_item_png", args=[obj.pk])
        return format_html('<img src="{}" width="96" height="96" loading="lazy" alt="">', url)


@dataclass(frozen=True)
class SurveyButton:
    """One action on the head of a survey's admin page: a POST form of its own, outside the change form."""

    label: str
    url_name: str  # takes the survey's pk
    testid: str
    statuses: tuple[str, ...]  # the survey statuses it is offered in
    primary: bool = False


@admin.register(Survey)
class SurveyAdmin(ProjectScopedAdmin, admin.ModelAdmin):
    list_display = [
        "name",
        "model_alias",
        "status",
        "real_count",
        "synthetic_count",
        "reader_count",
        "finished_count",
        "last_audit_passed",
        "created_at",
    ]
    list_filter = [
        "status",
        ("project", admin.RelatedOnlyFieldListFilter),
        ("model_dataset", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "model_alias"]
    inlines = [ItemInline]
    actions = ["open_surveys", "close_surveys", "audit_surveys"]
    change_form_template = "admin/studies/survey/change_form.html"
    # Read-only lines of the change page that apps above studies add (archives: where an imported survey came from).
    extra_readonly_fields: list = []
    # The buttons at the head of the change page; apps above studies add theirs (archives: the export).
    panel_buttons = [
        SurveyButton(
            "Run the blinding audit", "admin:studies_survey_audit", "admin-survey-audit", ("draft", "open")
        ),
        SurveyButton(
            "Audit and open when it passes",
            "admin:studies_survey_audit_open",
            "admin-survey-audit-open",
            ("draft",),
            primary=True,
        ),
        SurveyButton("Open", "admin:studies_survey_open", "admin-survey-open", ("draft",)),
        SurveyButton("Close", "admin:studies_survey_close", "admin-survey-close", ("open",)),
    ]

    def get_queryset(self, request):
        return surveys_with_counts(request.user)

    def get_actions(self, request):
        return super().get_actions(request) if roles.is_study_admin(request.user) else {}

    @admin.display(ordering="reader_count", description="Readers")
    def reader_count(self, obj):
        return obj.reader_count

    @admin.display(ordering="finished_count", description="Finished")
    def finished_count(self, obj):
        return obj.finished_count

    def change_view(self, request, object_id, form_url="", extra_context=None):
        survey = self.get_object(request, object_id)
        if survey is not None:
            can_act = runs_survey(request, survey)
            extra_context = {
                **(extra_context or {}),
                "overview": survey_overview(survey),
                "panel_buttons": [
                    (button, reverse(button.url_name, args=[survey.pk]))
                    for button in self.panel_buttons
                    if can_act and survey.status in button.statuses
                ],
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and obj.is_draft and runs_survey(request, obj):
            kwargs["form"] = SurveyDraftForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        editable = set(READER_SETTINGS) if obj is not None and obj.is_draft else set()
        fields = [
            f.name for f in Survey._meta.fields if f.name not in editable | {"display_policy", "design"}
        ]
        return [
            *fields,
            "policy_summary",
            "design_summary",
            "layers",
            "flagged_readers",
            "audit_report",
            *self.extra_readonly_fields,
        ]

    def get_exclude(self, request, obj=None):
        return ["last_audit_report", "display_policy", "design"]

    @admin.display(description="Display policy")
    def policy_summary(self, obj):
        return obj.display_policy.describe() if obj.display_policy is not None else ""

    @admin.display(description="Study design")
    def design_summary(self, obj):
        return obj.design.describe() if obj.design is not None else ""

    @admin.display(description="Items per axial layer (real = synthetic)")
    def layers(self, obj):
        counts = Counter((item.axial_layer, item.truth) for item in obj.items.scored())
        layers = sorted({layer for layer, _ in counts})
        return ", ".join(
            f"layer {layer}: {counts[(layer, 'real')]}/{counts[(layer, 'synthetic')]}" for layer in layers
        )

    @admin.display(description="Readers the exclusion rules exclude")
    def flagged_readers(self, obj):
        if not obj.design.quality_rules.any:
            return "no exclusion rules"
        flagged = flagged_readers(obj)
        if not flagged:
            return "none so far"
        return format_html_join(
            "", "<p>{}: {}</p>", ((assignment.reader, "; ".join(q.reasons)) for assignment, q in flagged)
        )

    @admin.display(description="Last blinding audit")
    def audit_report(self, obj):
        if not obj.last_audit_report:
            return "not run yet"
        return format_html('<pre class="blinding-audit">{}</pre>', obj.last_audit_report)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (not obj.is_draft or obj.assignments.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and not runs_survey(request, obj):
            return False
        return super().has_change_permission(request, obj) and roles.is_study_admin(request.user)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and roles.is_study_admin(request.user)

    def save_model(self, request, obj, form, change):
        if not isinstance(form, SurveyDraftForm):
            return
        try:
            do_change_survey_settings(
                survey=obj,
                actor=request.user,
                policy=form.cleaned_data["display_policy"],
                design=form.cleaned_data["design"],
                **{name: form.cleaned_data[name] for name in READER_SETTINGS},
            )
        except StudyError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def add_view(self, request, form_url="", extra_context=None):
        require_admin(request)
        form = SurveyCreateForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                created = create_survey(
                    options=form.survey_values(), actor=request.user, project=form.cleaned_data["project"]
                )
            except StudyError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request, f"Survey {created.survey.name!r} created as a draft with its items rendered."
                )
                for note in created.policy_notes:
                    self.message_user(request, f"Display: {note}.")
                for note in created.notes:
                    self.message_user(request, f"Pool too small: {note}", messages.WARNING)
                return HttpResponseRedirect(reverse("admin:studies_survey_change", args=[created.survey.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Create a survey",
            "form": form,
            "add": True,
            "has_view_permission": True,
        }
        return TemplateResponse(
            request, "admin/studies/survey/add_form.html", context, status=400 if form.errors else 200
        )

    # Status changes -------------------------------------------------------------------------------------

    @admin.action(description="Open the selected surveys (each needs a passing blinding audit of its items)")
    def open_surveys(self, request, queryset):
        require_admin(request)
        for survey in runs(queryset, request.user):
            self._open(request, survey)

    @admin.action(description="Close the selected surveys")
    def close_surveys(self, request, queryset):
        require_admin(request)
        for survey in runs(queryset, request.user):
            try:
                do_close_survey(survey=survey, actor=request.user)
                self.message_user(request, f"Survey {survey.name!r} closed.")
            except StudyError as exc:
                self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Run the blinding audit on the selected surveys (a job each)")
    def audit_surveys(self, request, queryset):
        require_admin(request)
        for survey in runs(queryset, request.user):
            self._audit(request, survey, open_when_passed=False)

    def _audit(self, request, survey, *, open_when_passed: bool):
        try:
            job = request_blinding_audit(survey=survey, actor=request.user, open_when_passed=open_when_passed)
        except StudyError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        then = " and opens the survey if it passes" if open_when_passed else ""
        url = reverse("admin:studies_blindingaudit_change", args=[job.pk])
        self.message_user(
            request,
            format_html(
                'Blinding audit of {} queued (job <a href="{}">#{}</a>); a worker reads every item{}.',
                repr(survey.name),
                url,
                job.pk,
                then,
            ),
        )
        return job

    def _open(self, request, survey):
        try:
            do_open_survey(survey=survey, actor=request.user)
            self.message_user(request, f"Survey {survey.name!r} is open (its blinding audit passed).")
        except StudyError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path("<int:pk>/open/", wrap(self.open_view), name="studies_survey_open"),
            path("<int:pk>/close/", wrap(self.close_view), name="studies_survey_close"),
            path("<int:pk>/audit/", wrap(self.audit_view), name="studies_survey_audit"),
            path(
                "<int:pk>/audit-and-open/", wrap(self.audit_and_open_view), name="studies_survey_audit_open"
            ),
            path("<int:pk>/invite/", wrap(self.invite_view), name="studies_survey_invite"),
            path("<int:pk>/progress/", wrap(self.progress_view), name="studies_survey_progress"),
            path(
                "<int:pk>/remind/<int:assignment_pk>/",
                wrap(self.remind_view),
                name="studies_survey_remind",
            ),
        ]
        return custom + super().get_urls()

    def _change_url(self, survey):
        return HttpResponseRedirect(reverse("admin:studies_survey_change", args=[survey.pk]))

    def _survey_to_change(self, request, pk):
        """The survey a state-changing admin button acts on; None unless the request is a POST (405)."""
        survey = get_object_or_404(self.get_queryset(request), pk=pk)
        require_admin(request, survey)
        if request.method != "POST":
            return None
        return survey

    def open_view(self, request, pk):
        survey = self._survey_to_change(request, pk)
        if survey is None:
            return HttpResponse(status=405)
        self._open(request, survey)
        return self._change_url(survey)

    def close_view(self, request, pk):
        survey = self._survey_to_change(request, pk)
        if survey is None:
            return HttpResponse(status=405)
        self.close_surveys(request, self.get_queryset(request).filter(pk=survey.pk))
        return self._change_url(survey)

    def audit_view(self, request, pk):
        survey = self._survey_to_change(request, pk)
        if survey is None:
            return HttpResponse(status=405)
        self._audit(request, survey, open_when_passed=False)
        return self._change_url(survey)

    def audit_and_open_view(self, request, pk):
        survey = self._survey_to_change(request, pk)
        if survey is None:
            return HttpResponse(status=405)
        self._audit(request, survey, open_when_passed=True)
        return self._change_url(survey)

    def invite_view(self, request, pk):
        survey = get_object_or_404(self.get_queryset(request), pk=pk)
        require_admin(request, survey)
        form = InvitationsForm(request.POST or None)
        links = []
        if request.method == "POST" and form.is_valid():
            try:
                invitations = do_create_invitations(
                    survey=survey,
                    actor=request.user,
                    count=form.cleaned_data.get("count") or 0,
                    emails=form.cleaned_data["emails"],
                    label=form.cleaned_data.get("label", ""),
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except StudyError as exc:
                form.add_error(None, str(exc))
            else:
                links = [(invitation, invitation_url(invitation)) for invitation in invitations]
                form = InvitationsForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": survey,
            "title": f"Invite readers to {survey.name}",
            "form": form,
            "links": links,
        }
        return TemplateResponse(
            request, "admin/studies/survey/invite.html", context, status=400 if form.errors else 200
        )

    def progress_view(self, request, pk):
        require_researcher(request)
        survey = get_object_or_404(self.get_queryset(request), pk=pk)
        rows = survey_progress(survey)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": survey,
            "title": f"Progress of {survey.name}",
            "rows": rows,
            "can_remind": runs_survey(request, survey) and survey.is_open,
            "invitations": survey.invitations.order_by("-created_at")[:200],
        }
        return TemplateResponse(request, "admin/studies/survey/progress.html", context)

    def remind_view(self, request, pk, assignment_pk):
        survey = get_object_or_404(self.get_queryset(request), pk=pk)
        require_admin(request, survey)
        if request.method != "POST":
            return HttpResponse(status=405)
        assignment = get_object_or_404(Assignment, pk=assignment_pk, survey=survey)
        try:
            do_send_reminder(assignment=assignment, actor=request.user)
            self.message_user(request, f"Reminder sent to {assignment.reader}.")
        except StudyError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:studies_survey_progress", args=[pk]))
