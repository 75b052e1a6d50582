from django.contrib import admin
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from imaging.constants import CT, DEFAULT_CT_WINDOW
from imaging.forms import ImportUploadForm, PacsImportForm
from imaging.models import Dataset, ImportJob, Slice, Volume
from imaging.pacs.client import PacsError, SearchQuery
from imaging.pacs.services import create_pacs_import_job, search_pacs
from imaging.pixels import load_slice_pixels
from imaging.rendering import auto_window, png_bytes, window_to_uint8
from imaging.selectors import datasets_with_counts
from imaging.services import create_import_job
from jobs.admin import JobAdminMixin, start_job_view
from projects.admin import ProjectScopedAdmin

PREVIEW_STRIP_SLICES = 8


@admin.register(Dataset)
class DatasetAdmin(ProjectScopedAdmin, admin.ModelAdmin):
    project_path = "projects"
    list_display = ["name", "kind", "contrast_enhanced", "volume_count", "created_at"]
    list_filter = ["kind", "contrast_enhanced"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "projects"]

    def get_queryset(self, request):
        return datasets_with_counts(request.user)

    @admin.display(ordering="volume_count")
    def volume_count(self, obj):
        return obj.volume_count


class SliceInline(admin.TabularInline):
    model = Slice
    fields = ["index", "z_mm", "axial_layer", "preview"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Preview")
    def preview(self, obj):
        url = reverse("admin:imaging_slice_png", args=[obj.pk])
        return format_html('<img src="{}" width="96" height="96" loading="lazy" alt="">', url)


@admin.register(Volume)
class VolumeAdmin(ProjectScopedAdmin, admin.ModelAdmin):
    project_path = "dataset__projects"
    list_display = ["patient", "modality", "dataset", "slice_count", "rows", "columns", "source_format"]
    list_filter = [("dataset", admin.RelatedOnlyFieldListFilter), "modality", "source_format"]
    search_fields = ["patient", "series_key"]
    readonly_fields = ["preview_strip", *(f.name for f in Volume._meta.fields)]
    inlines = [SliceInline]

    class Media:
        css = {"all": ["imaging/admin.css"]}

    @admin.display(description="Slices (inferior to superior)")
    def preview_strip(self, obj):
        slices = list(obj.slices.order_by("index").only("pk", "index", "axial_layer"))
        step = max(1, len(slices) // PREVIEW_STRIP_SLICES)
        shown = slices[::step][:PREVIEW_STRIP_SLICES]
        return format_html_join(
            "",
            '<figure class="slice-preview">'
            '<img src="{}" width="128" height="128" loading="lazy" alt=""><figcaption>#{} layer {}</figcaption></figure>',
            ((reverse("admin:imaging_slice_png", args=[s.pk]), s.index, s.axial_layer or "-") for s in shown),
        )

    def has_add_permission(self, request):
        return False


@admin.register(Slice)
class SliceAdmin(ProjectScopedAdmin, admin.ModelAdmin):
    project_path = "volume__dataset__projects"
    list_display = ["volume", "index", "z_mm", "axial_layer"]
    list_filter = ["axial_layer", ("volume__dataset", admin.RelatedOnlyFieldListFilter), "volume__modality"]
    readonly_fields = ["volume", "index", "z_mm", "axial_layer", "pixels", "sop_instance_uid", "preview"]
    list_select_related = ["volume__dataset"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Preview")
    def preview(self, obj):
        url = reverse("admin:imaging_slice_png", args=[obj.pk])
        return format_html('<img src="{}" width="384" alt="slice preview">', url)

    def get_urls(self):
        custom = [path("<int:pk>/png/", self.admin_site.admin_view(self.png_view), name="imaging_slice_png")]
        return custom + super().get_urls()

    def png_view(self, request, pk):
        if not self.has_view_permission(request):
            raise Http404
        slice_ = get_object_or_404(self.get_queryset(request).select_related("volume"), pk=pk)
        pixels = load_slice_pixels(slice_.pixels)
        if slice_.volume.modality == CT:
            width, level = DEFAULT_CT_WINDOW.width, DEFAULT_CT_WINDOW.level
        else:
            width, level = auto_window(pixels)
        response = HttpResponse(
            png_bytes(window_to_uint8(pixels, width=width, level=level)), content_type="image/png"
        )
        response["Cache-Control"] = "private, max-age=3600"
        return response


@admin.register(ImportJob)
class ImportJobAdmin(JobAdminMixin, admin.ModelAdmin):
    start_url = ("upload/", "upload")
    list_display = ["pk", "dataset_name", "kind", "status_badge", "progress", "created_at", "created_by"]
    list_filter = ["status", "kind"]
    exclude = ["errors", "upload_dir", "nifti_pseudonym", "pacs_series"]
    extra_readonly_fields = ["error_table", "ignored_table"]

    @staticmethod
    def _file_table(entries, css: str):
        if not entries:
            return "none"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((e["path"], e["reason"]) for e in entries)
        )
        return format_html('<table class="{}"><tr><th>File</th><th>Reason</th></tr>{}</table>', css, rows)

    @admin.display(description="Rejected files")
    def error_table(self, obj):
        return self._file_table(obj.errors, "import-errors")

    @admin.display(description="Ignored files")
    def ignored_table(self, obj):
        return self._file_table((obj.result or {}).get("ignored", []), "import-ignored")

    def get_urls(self):
        pacs = path("pacs/", self.admin_site.admin_view(self.pacs_view), name="imaging_importjob_pacs")
        return [pacs, *super().get_urls()]

    def pacs_view(self, request):
        """Search the PACS (a POST with "search"), then import the chosen series as a job."""
        if not request.user.has_perm("imaging.add_importjob"):
            raise Http404
        importing = request.method == "POST" and "search" not in request.POST
        form = PacsImportForm(request.POST or None, importing=importing)
        searched = False
        if request.method == "POST":
            try:
                form.offer(search_pacs(form.query(SearchQuery)))
                searched = True
            except PacsError as exc:
                form.add_error(None, str(exc))
        if importing and searched:

            def start(valid):
                return create_pacs_import_job(
                    series=valid.chosen_series(),
                    dataset_name=valid.cleaned_data["dataset"],
                    kind=valid.cleaned_data["kind"],
                    modality=valid.cleaned_data["modality"] or None,
                    contrast=valid.cleaned_contrast(),
                    actor=request.user,
                )

            return start_job_view(
                request,
                admin_site=self.admin_site,
                model=ImportJob,
                form=form,
                title="Import from PACS",
                start=start,
                template="admin/imaging/importjob/pacs.html",
                submit_label="Import the chosen series",
            )
        page = {
            **self.admin_site.each_context(request),
            "title": "Import from PACS",
            "form": form,
            "opts": ImportJob._meta,
            "submit_label": "Import the chosen series",
            "found": len(form.fields["series"].choices),
            "searched": searched,
        }
        return TemplateResponse(request, "admin/imaging/importjob/pacs.html", page)

    def start_view(self, request):
        def start(form):
            return create_import_job(
                files=form.cleaned_data["files"],
                dataset_name=form.cleaned_data["dataset"],
                kind=form.cleaned_data["kind"],
                modality=form.cleaned_data["modality"] or None,
                contrast=form.cleaned_contrast(),
                actor=request.user,
                nifti_patient=form.cleaned_data["patient"] or None,
            )

        return start_job_view(
            request,
            admin_site=self.admin_site,
            model=ImportJob,
            form=ImportUploadForm(request.POST or None, request.FILES or None),
            title="Import images",
            start=start,
            template="admin/imaging/importjob/upload.html",
            submit_label="Upload and import",
        )
