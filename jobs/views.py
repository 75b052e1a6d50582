"""The one progress endpoint of every job kind: /jobs/<app_label.Model>/<pk>/progress.json, for those who may view
that kind of job and see that job's project (anyone else gets a 404)."""

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.views.decorators.http import require_GET

from jobs.models import Job
from jobs.services import progress_of, status_line


def job_model(label: str) -> type[Job]:
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise Http404 from None
    if not issubclass(model, Job):
        raise Http404
    return model


@login_required
@require_GET
def progress(request, label: str, pk: int):
    model = job_model(label)
    if not request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
        raise Http404
    # Another project's job is not found either (Job.visible_to).
    job = model.visible_to(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404
    state = progress_of(job)
    response = JsonResponse(
        {
            "status": job.status,
            "status_display": job.status_label,
            "message": job.message,
            "error": job.error,
            "done": state.done,
            "total": state.total,
            "unit": state.unit,
            "percent": round(state.percent, 1),
            "rate_per_second": state.rate_per_second,
            "eta_seconds": state.eta.total_seconds() if state.eta is not None else None,
            "line": status_line(job),
            "counts": state.line(),
            "finished": job.is_finished,
            "stale": job.is_stale,
            "can_retry": job.can_retry,
        }
    )
    response["Cache-Control"] = "no-store"
    return response
