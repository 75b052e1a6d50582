from django.conf import settings
from django.contrib import admin, messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from generation.forms import CheckpointUploadForm, NewGenerationJobForm, StartGenerationForm
from generation.models import Checkpoint, GenerationJob, TrainingRun
from generation.selectors import job_preview, jobs_with_counts, output_volumes
from generation.services import register_checkpoint, start_generation
from generation.vocabulary import CheckpointRefused
from jobs.admin import JobAdminMixin, start_job_view
from projects.admin import ProjectScopedAdmin, scoped_form


@admin.register(Checkpoint)
class CheckpointAdmin(ProjectScopedAdmin, admin.ModelAdmin):
    project_path = "projects"
    list_display = [
        "name",
        "architecture",
        "inputs",
        "parameter_count",
        "input_size",
        "hu_range",
        "contrast_enhanced",
        "created_at",
    ]
    list_filter = ["architecture", "contrast_enhanced"]
    search_fields = ["name", "sha256"]
    readonly_fields = [*(f.name for f in Checkpoint._meta.fields), "projects"]
    actions = ["generate_action"]

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Inputs")
    def inputs(self, obj):
        return ", ".join(obj.input_modalities)

    @admin.display(description="HU range")
    def hu_range(self, obj):
        return f"{obj.hu_min} .. {obj.hu_max}"

    def get_urls(self):
        custom = [
            path(
                "upload/", self.admin_site.admin_view(self.upload_view), name="generation_checkpoint_upload"
            ),
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="generation_checkpoint_generate",
            ),
        ]
        return custom + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:generation_checkpoint_upload")

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise Http404
        form = CheckpointUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > settings.GENERATION_CHECKPOINT_MAX_BYTES:
                    raise CheckpointRefused(f"the file is {upload.size} bytes, more than allowed")
                checkpoint = register_checkpoint(
                    name=form.cleaned_data["name"],
                    data=upload.read(),
                    inputs=form.inputs(),
                    contrast=form.cleaned_data["contrast"],
                    hu_range=(form.cleaned_data["hu_min"], form.cleaned_data["hu_max"]),
                    arch=form.cleaned_data["arch"],
                    normalisation=form.cleaned_data["normalisation"],
                    input_size=form.cleaned_data["input_size"],
                    provenance={"file": upload.name, "registered_by": "admin upload"},
                    actor=request.user,
                )
            except CheckpointRefused as exc:
                form.add_error(None, f"Refused {upload.name}: {exc}")
            else:
                messages.success(
                    request,
                    f"Registered {checkpoint.name}: {checkpoint.parameter_count:,} parameters, "
                    f"sha256 {checkpoint.sha256[:12]}...",
                )
                return redirect("admin:generation_checkpoint_change", checkpoint.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Register a checkpoint",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/generation/checkpoint/upload.html", context)

    @admin.action(description="Generate synthetic CT from an MRI dataset")
    def generate_action(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(f"{reverse('admin:generation_checkpoint_generate')}?ids={ids}")

    def generate_view(self, request):
        if not self.has_view_permission(request):
            raise Http404
        ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk.isdigit()]
        checkpoints = list(Checkpoint.objects.filter(pk__in=ids))
        if not checkpoints:
            messages.error(request, "Choose at least one checkpoint.")
            return redirect("admin:generation_checkpoint_changelist")
        return start_job_view(
            request,
            admin_site=self.admin_site,
            model=GenerationJob,
            form=scoped_form(StartGenerationForm(request.POST or None), request.user),
            title="Generate synthetic CT",
            start=lambda form: _start_each(form, checkpoints, request.user),
            template="admin/generation/checkpoint/generate.html",
            checkpoints=checkpoints,
            submit_label="Queue generation",
        )


def _start_each(form, checkpoints, user) -> list[GenerationJob]:
    jobs = []
    for checkpoint in checkpoints:
        try:
            jobs.append(_start(form, checkpoint, user))
        except ValueError as exc:
            raise ValueError(f"{checkpoint.name}: {exc}") from None
    return jobs


def _start(form, checkpoint, user) -> GenerationJob:
    return start_generation(
        checkpoint=checkpoint,
        mri_dataset=form.cleaned_data["mri_dataset"],
        output_dataset_name=form.cleaned_data["output_dataset"] or None,
        z_tolerance_mm=form.cleaned_data["z_tolerance"],
        actor=user,
    )


@admin.register(GenerationJob)
class GenerationJobAdmin(JobAdminMixin, admin.ModelAdmin):
    start_url = ("new/", "new")
    list_display = [
        "pk",
        "checkpoint",
        "mri_dataset",
        "output_dataset",
        "status_badge",
        "progress",
        "unpaired_count",
        "created_at",
    ]
    list_filter = ["status", ("checkpoint", admin.RelatedOnlyFieldListFilter)]
    change_form_template = "admin/generation/generationjob/change_form.html"
    exclude = ["unpaired"]
    extra_readonly_fields = ["unpaired_table"]
    actions = ["retry_jobs", "resume_action", "export_nifti_action", "export_dicom_action"]

    def get_queryset(self, request):
        return jobs_with_counts(request.user)

    @admin.display(description="Slices without a partner")
    def unpaired_table(self, obj):
        if not obj.unpaired:
            return "none"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (item["patient"], item["modality"], item["index"], item["z_mm"], item["reason"])
                for item in obj.unpaired
            ),
        )
        more = obj.unpaired_count - len(obj.unpaired)
        note = format_html("<p>... and {} more</p>", more) if more > 0 else ""
        return format_html(
            '<table class="generation-unpaired"><tr><th>Patient</th><th>Modality</th><th>Slice</th>'
            "<th>z (mm)</th><th>Reason</th></tr>{}</table>{}",
            rows,
            note,
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        custom = [
            path(
                "<int:pk>/export/<str:fmt>/", view(self.export_view), name="generation_generationjob_export"
            ),
        ]
        return custom + super().get_urls()

    def start_view(self, request):
        return start_job_view(
            request,
            admin_site=self.admin_site,
            model=GenerationJob,
            form=scoped_form(NewGenerationJobForm(request.POST or None), request.user),
            title="Generate synthetic CT",
            start=lambda form: _start(form, form.cleaned_data["checkpoint"], request.user),
            template="admin/generation/checkpoint/generate.html",
            submit_label="Queue generation",
        )

    def job_context(self, request, job):
        return {"preview_rows": job_preview(job, limit=_preview_limit(request.GET.get("preview")))}

    def export_view(self, request, pk, fmt):
        if not self.has_view_permission(request):
            raise Http404
        job = get_object_or_404(GenerationJob, pk=pk)
        return _download([job], fmt, request)

    @admin.action(description="Resume / run again (skips slices already made)")
    def resume_action(self, request, queryset):
        for job in queryset.select_related("checkpoint", "mri_dataset"):
            try:
                start_generation(checkpoint=job.checkpoint, mri_dataset=job.mri_dataset, actor=request.user)
            except ValueError as exc:
                self.message_user(request, f"Job #{job.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Job #{job.pk} queued on the gpu queue.")

    @admin.action(description="Download synthetic CT as NIfTI (zip)")
    def export_nifti_action(self, request, queryset):
        return _download(list(queryset), "nifti", request)

    @admin.action(description="Download synthetic CT as DICOM (zip)")
    def export_dicom_action(self, request, queryset):
        return _download(list(queryset), "dicom", request)


def _preview_limit(value: str | None) -> int:
    """How many synthetic slices the job page shows: ?preview=N, 1 to 200, else 24."""
    try:
        return min(max(int(value), 1), 200)
    except (TypeError, ValueError):
        return 24


def _download(jobs, fmt, request):
    if fmt not in ("nifti", "dicom"):
        raise Http404
    # The DICOM and NIfTI writers (pydicom) load with the first download, not in every web process.
    from generation.volume_export import ExportError, export_zip

    try:
        handle = export_zip(output_volumes(jobs), fmt=fmt)
    except ExportError as exc:
        messages.error(request, str(exc))
        return redirect("admin:generation_generationjob_changelist")
    name = f"synthetic-ct-{'-'.join(str(job.pk) for job in jobs)}-{fmt}.zip"
    return FileResponse(handle, as_attachment=True, filename=name, content_type="application/zip")


@admin.register(TrainingRun)
class TrainingRunAdmin(JobAdminMixin, admin.ModelAdmin):
    list_display = ["name", "setup", "status_badge", "progress", "checkpoint", "created_at"]
    list_filter = ["status", "setup"]

    def has_add_permission(self, request):
        return False
