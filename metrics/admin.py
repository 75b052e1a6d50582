from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from imaging.selectors import datasets_visible_to
from jobs.admin import JobAdminMixin, start_job_view
from metrics.forms import ComputeMetricsForm, MachineObserverForm
from metrics.measures.vocabulary import AVERAGE_LAYER
from metrics.models import MachineObserverJob, MachineObserverResult, MetricResult, MetricsJob
from metrics.services import (
    MetricsArgumentError,
    ObserverArgumentError,
    create_metrics_job,
    requeue_machine_observer,
    requeue_metrics_job,
    start_machine_observer,
)
from projects.admin import VisibleRowsOnly404, scoped_form


def _number(value) -> str:
    return "" if value is None else f"{value:.4g}"


class OfVisibleModels(VisibleRowsOnly404):
    """Results of the models (synthetic CT datasets) the viewer's projects use; another project's: 404."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(model__in=datasets_visible_to(request.user))


@admin.register(MetricsJob)
class MetricsJobAdmin(JobAdminMixin, admin.ModelAdmin):
    start_url = ("compute/", "compute")
    list_display = ["pk", "model", "real_dataset", "status_badge", "progress", "created_at", "created_by"]
    list_filter = [
        "status",
        ("model", admin.RelatedOnlyFieldListFilter),
        ("real_dataset", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["model", "real_dataset", "created_by"]
    actions = ["retry_jobs", "compute_again"]
    extra_readonly_fields = ["average_results"]

    @admin.action(description="Compute the metrics again (new job, same model, real dataset and options)")
    def compute_again(self, request, queryset):
        jobs = []
        for job in queryset.select_related("model", "real_dataset"):
            try:
                jobs.append(requeue_metrics_job(job=job, actor=request.user))
            except MetricsArgumentError as exc:
                self.message_user(request, f"Job #{job.pk}: {exc}", messages.ERROR)
        if jobs:
            numbers = ", ".join(f"#{job.pk}" for job in jobs)
            self.message_user(request, f"Queued {len(jobs)} metrics job(s): {numbers}.", messages.SUCCESS)

    @admin.display(description="Mean over layers")
    def average_results(self, obj):
        rows = obj.results.filter(layer=AVERAGE_LAYER).order_by("metric")
        if not rows:
            return "none yet"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row.get_metric_display(),
                    _number(row.value),
                    _number(row.baseline),
                    _number(row.normalised),
                    row.note,
                )
                for row in rows
            ),
        )
        return format_html(
            "<table><tr><th>Metric</th><th>Model</th><th>Baseline</th><th>Normalised</th><th>Note</th></tr>"
            "{}</table>",
            body,
        )

    def start_view(self, request):
        def start(form):
            return create_metrics_job(
                model_name=form.cleaned_data["model"].name,
                real_dataset_name=form.cleaned_data["real_dataset"].name,
                max_per_layer=form.cleaned_data["max_per_layer"],
                seed=form.cleaned_data["seed"],
                actor=request.user,
                user=request.user,
            )

        return start_job_view(
            request,
            admin_site=self.admin_site,
            model=MetricsJob,
            form=scoped_form(ComputeMetricsForm(request.POST or None), request.user),
            title="Compute image-distribution metrics",
            start=start,
            template="admin/metrics/metricsjob/compute.html",
            submit_label="Compute",
        )


@admin.register(MetricResult)
class MetricResultAdmin(OfVisibleModels, admin.ModelAdmin):
    list_display = [
        "model",
        "real_dataset",
        "metric",
        "layer",
        "value",
        "baseline",
        "normalised",
        "n_synthetic",
        "n_reference",
        "n_held_out",
        "note",
    ]
    list_filter = [
        ("model", admin.RelatedOnlyFieldListFilter),
        ("real_dataset", admin.RelatedOnlyFieldListFilter),
        "metric",
        "layer",
    ]
    list_select_related = ["model", "real_dataset"]
    exclude = ["detail"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MachineObserverJob)
class MachineObserverJobAdmin(JobAdminMixin, admin.ModelAdmin):
    start_url = ("start/", "start")
    list_display = [
        "pk",
        "model",
        "real_dataset",
        "classifier",
        "queue",
        "status_badge",
        "progress",
        "created_at",
        "created_by",
    ]
    list_filter = [
        "status",
        "classifier",
        ("model", admin.RelatedOnlyFieldListFilter),
        ("real_dataset", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["model", "real_dataset", "created_by"]
    actions = ["retry_jobs", "observe_again"]
    extra_readonly_fields = ["observer_result"]

    @admin.action(description="Run the machine observer again (new job, same model, real CT and options)")
    def observe_again(self, request, queryset):
        jobs = []
        for job in queryset.select_related("model", "real_dataset"):
            try:
                jobs.append(requeue_machine_observer(job=job, actor=request.user))
            except ObserverArgumentError as exc:
                self.message_user(request, f"Job #{job.pk}: {exc}", messages.ERROR)
        if jobs:
            numbers = ", ".join(f"#{job.pk}" for job in jobs)
            self.message_user(
                request, f"Queued {len(jobs)} machine observer job(s): {numbers}.", messages.SUCCESS
            )

    @admin.display(description="Result")
    def observer_result(self, obj):
        result = obj.results.first()
        if result is None or result.auc is None:
            return "none yet"
        ci = "" if result.ci_low is None else f" [{result.ci_low:.3f}, {result.ci_high:.3f}]"
        return format_html(
            "AUC {}{} ({} real, {} synthetic slices, {} patients, {} folds){}",
            f"{result.auc:.3f}",
            ci,
            result.n_real,
            result.n_synthetic,
            result.n_patients,
            result.folds,
            format_html("<br>{}", result.summary) if result.summary else "",
        )

    def start_view(self, request):
        def start(form):
            return start_machine_observer(
                model_name=form.cleaned_data["model"].name,
                real_dataset_name=form.cleaned_data["real_dataset"].name,
                classifiers=form.cleaned_data["classifiers"],
                seed=form.cleaned_data["seed"],
                actor=request.user,
            )

        return start_job_view(
            request,
            admin_site=self.admin_site,
            model=MachineObserverJob,
            form=scoped_form(MachineObserverForm(request.POST or None), request.user),
            title="Run the machine observer",
            start=start,
            template="admin/metrics/machineobserverjob/start.html",
            submit_label="Start",
        )


@admin.register(MachineObserverResult)
class MachineObserverResultAdmin(OfVisibleModels, admin.ModelAdmin):
    list_display = [
        "model",
        "real_dataset",
        "classifier",
        "auc",
        "ci_low",
        "ci_high",
        "summary",
        "computed_at",
    ]
    list_filter = [
        ("model", admin.RelatedOnlyFieldListFilter),
        ("real_dataset", admin.RelatedOnlyFieldListFilter),
        "classifier",
    ]
    list_select_related = ["model", "real_dataset"]
    exclude = ["detail"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
