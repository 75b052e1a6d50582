"""What every job kind's admin shares: the status and progress columns, a read-only page with a live progress
box (`admin/jobs/change_form.html`), the retry action for failed or stale jobs, and one way to show a form whose
valid submission starts a job (`start_job_view`)."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from jobs.services import JobRefused, progress_of, retry, status_line

JOB_FIELDS = [
    "status",
    "message",
    "error",
    "done",
    "total",
    "attempts",
    "created_by",
    "created_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
    "task_id",
    "result",
]


class JobAdminMixin:
    """Mix into a ModelAdmin of a Job subclass (before admin.ModelAdmin)."""

    change_form_template = "admin/jobs/change_form.html"
    job_list_display = ["status_badge", "progress"]
    actions = ["retry_jobs"]
    # A kind whose "Add" is a page that starts jobs sets (route, URL name suffix), e.g. ("compute/", "compute"), and
    # defines start_view(request) (usually through start_job_view); "Add" then goes to that page.
    start_url: tuple[str, str] | None = None

    def _start_url_name(self) -> str:
        meta = self.model._meta
        return f"{meta.app_label}_{meta.model_name}_{self.start_url[1]}"

    def get_urls(self):
        urls = super().get_urls()
        if self.start_url is None:
            return urls
        start = path(
            self.start_url[0], self.admin_site.admin_view(self.start_view), name=self._start_url_name()
        )
        return [start, *urls]

    def add_view(self, request, form_url="", extra_context=None):
        if self.start_url is None:
            return super().add_view(request, form_url, extra_context)
        return redirect(f"admin:{self._start_url_name()}")

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        """The jobs of the viewer's projects (Job.visible_to); another project's job page answers 404."""
        return super().get_queryset(request).filter(pk__in=self.model.visible_to(request.user).values("pk"))

    def get_readonly_fields(self, request, obj=None):
        own = [f.name for f in self.model._meta.fields if f.name not in JOB_FIELDS and f.name != "id"]
        excluded = set(self.get_exclude(request, obj) or ())
        return [*[name for name in own if name not in excluded], *JOB_FIELDS, *self.extra_readonly_fields]

    extra_readonly_fields: list[str] = []

    def get_exclude(self, request, obj=None):
        return ["run_started_at", "run_started_done", *(self.exclude or ())]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        css = "stale" if obj.is_stale else obj.status
        return format_html('<span class="job-status job-status-{}">{}</span>', css, obj.status_label)

    @admin.display(description="Progress")
    def progress(self, obj):
        return progress_of(obj).line()

    @admin.action(description="Retry the selected failed or stale jobs")
    def retry_jobs(self, request, queryset):
        for job in queryset:
            try:
                retry(job, actor=request.user)
            except JobRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(
                    request,
                    f"{job.job_kind.capitalize()} job #{job.pk} queued again on the {job.queue} queue.",
                )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404  # not there, or another project's
        extra = {
            "job": job,
            "job_line": status_line(job),
            "job_progress": progress_of(job),
            "job_progress_url": reverse("jobs:progress", args=[job.label(), job.pk]),
            **self.job_context(request, job),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def delete_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def job_context(self, request, job) -> dict:
        """What a kind's own page adds to the template context."""
        return {}


def start_job_view(
    request, *, admin_site, model, form, title: str, start, template="admin/jobs/start_job.html", **context
):
    """A page with `form` for starting jobs of `model`; a valid POST calls `start(form)` -> a job (or a list of
    jobs), which raises ValueError (one line) for what it refuses, and goes to the job's page. Needs the add
    permission of `model`."""
    meta = model._meta
    if not request.user.has_perm(f"{meta.app_label}.add_{meta.model_name}"):
        raise Http404
    if request.method == "POST" and form.is_valid():
        try:
            started = start(form)
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            jobs = started if isinstance(started, list) else [started]
            for job in jobs:
                messages.success(
                    request, f"{job.job_kind.capitalize()} job #{job.pk} queued on the {job.queue} queue."
                )
            if len(jobs) == 1:
                return redirect(f"admin:{meta.app_label}_{meta.model_name}_change", jobs[0].pk)
            return redirect(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    page = {**admin_site.each_context(request), "title": title, "form": form, "opts": meta, **context}
    return TemplateResponse(request, template, page)
