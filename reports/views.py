"""Researcher pages: reports of one or several surveys, the models' image-distribution metrics, downloads.

Everything here is read-only apart from the download log. Access: researchers (and study admins) and staff;
anyone else signed in gets 403, anonymous visitors are sent to sign in.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from imaging.selectors import models_named
from jobs.services import status_line
from metrics import selectors as metrics
from readerstats import (
    ASSUMED_CASE_SD,
    ASSUMED_READER_SD,
    DEFAULT_EXPERIENCE_BANDS,
    EQUIVALENCE_MARGIN,
    SENSITIVITY_SDS,
    PlanningError,
    plan_design,
)
from reports import selectors
from reports.content.model_comparison import compare_models
from reports.content.reader_groups import parse_bands
from reports.downloads import What, make_download
from reports.pilot import default_pilot, pilot_estimate
from reports.services import ReportUnavailable, artefact, record_download, request_report

PLANNING_DEFAULTS = {
    "accuracy": 0.5,
    "reader_sd": ASSUMED_READER_SD,
    "case_sd": ASSUMED_CASE_SD,
    "margin": EQUIVALENCE_MARGIN,
}
"""The planning panel's assumptions when there is no pilot and the admin changes none: assumptions, not published
estimates (docs/statistics.md, "Where the assumed spreads come from")."""
MAX_PLANNING_READERS = 10_000
MAX_PLANNING_ITEMS = 100_000


def researcher_page(view):
    """Only for those who may read reports; responses are never cached (they hold study results)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not selectors.can_read_reports(request.user):
            return _problem(request, "Reports are for researchers; this account is not one.", 403)
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return require_GET(wrapper)


def _problem(request, message: str, status: int) -> HttpResponse:
    return render(request, "reports/problem.html", {"message": message}, status=status)


def _chosen_surveys(request, *, required: bool = True):
    """The surveys named by ?survey=NAME (repeatable), or a problem response saying what is wrong."""
    names = request.GET.getlist("survey")
    surveys, unknown = selectors.surveys_by_name(names, request.user)
    if unknown:
        return None, _problem(request, f"Unknown survey: {', '.join(repr(name) for name in unknown)}.", 404)
    if required and not surveys:
        return None, _problem(request, "Choose at least one survey (?survey=NAME).", 400)
    return surveys, None


def _chosen_models(request):
    names = [name for name in request.GET.getlist("model") if name.strip()]
    if not names:
        return None, None
    models = list(models_named(names, request.user))
    unknown = sorted(set(names) - {model.name for model in models})
    if unknown:
        return None, _problem(request, f"Unknown model: {', '.join(repr(name) for name in unknown)}.", 404)
    return models, None


@researcher_page
def index(request):
    surveys = list(selectors.reportable_surveys(request.user))
    states = selectors.pdf_states(surveys)
    for survey in surveys:
        survey.pdf_state = states[survey.pk]  # the PDF button: a link, or where the report job stands
    return render(
        request,
        "reports/index.html",
        {"surveys": surveys, "models": metrics.models_with_results(request.user)},
    )


@researcher_page
def report(request):
    """The stored report of the chosen surveys (computed by a report job), with how fresh it is."""
    surveys, problem = _chosen_surveys(request)
    if problem:
        return problem
    stored = selectors.stored_report(surveys)
    active = selectors.active_report_job(surveys)
    context = {
        "title": stored.job.title if stored else f"Report of {', '.join(survey.name for survey in surveys)}",
        "stored": stored,
        "body": artefact(stored.job, "page_html").decode() if stored else "",
        "active": active,
        "active_url": reverse("jobs:progress", args=[active.label(), active.pk]) if active else "",
        "active_line": status_line(active) if active else "",
        "query": request.GET.urlencode(),
        "experience_bands": ", ".join(
            f"{edge:g}"
            for edge in (stored.job.experience_bands if stored else None) or DEFAULT_EXPERIENCE_BANDS
        ),
    }
    return render(request, "reports/report.html", context)


@require_POST
def compute_report(request):
    """Queue the report of the chosen surveys (?survey=...) and go back to its page."""
    if not request.user.is_authenticated or not selectors.can_read_reports(request.user):
        return _problem(request, "Reports are for researchers; this account is not one.", 403)
    surveys, problem = _chosen_surveys(request)
    if problem:
        return problem
    text = request.POST.get("experience_bands", "").strip()
    try:
        bands = parse_bands(text) if text else None
        request_report(surveys=surveys, actor=request.user, experience_bands=bands)
    except (ValueError, ReportUnavailable) as exc:
        return _problem(request, str(exc), 400)
    return redirect(f"{reverse('reports:report')}?{request.GET.urlencode()}")


def _metric_figures(rows):
    # Here, not at the top: drawing loads Matplotlib, which a web process loads only for this page.
    from reports.report_page import metric_figures

    return metric_figures(rows)


def _with_open(request, include_open: bool) -> str:
    """The page's query with ?include_open=1 set or removed."""
    query = request.GET.copy()
    query.pop("include_open", None)
    if include_open:
        query["include_open"] = "1"
    return query.urlencode()


@researcher_page
def models(request):
    chosen, problem = _chosen_models(request)
    if problem:
        return problem
    shown = chosen if chosen is not None else metrics.models_with_results(request.user)
    rows = selectors.metric_rows(shown)
    # pooled accuracy counts closed surveys only, unless the researcher asks for the open ones (?include_open=1)
    include_open = request.GET.get("include_open") == "1"
    pooled = selectors.surveys_of_models(shown, request.user, include_open=include_open)
    context = {
        "include_open": include_open,
        "pooled_surveys": pooled,
        "comparison": compare_models(
            selectors.answer_rows(pooled),
            [model.name for model in shown],
            rows,
            selectors.observer_rows(shown),
        ),
        "rows": [row for row in rows if row.is_average],
        "model_names": sorted({row.model for row in rows}),
        "query": request.GET.urlencode(),
        "open_query": _with_open(request, True),
        "closed_query": _with_open(request, False),
        "metric_figures": _metric_figures(rows),
        "unavailable": sorted(
            {
                row.note
                for row in rows
                if row.is_average and row.metric in ("fid", "kid") and row.value is None
            }
        ),
    }
    return render(request, "reports/models.html", context)


@researcher_page
def glossary(request):
    """The words and numbers of the reports in plain words (linked from every report)."""
    return render(request, "reports/glossary.html")


def _download(request, what: str, *, surveys=(), models=None) -> HttpResponse:
    try:
        download = make_download(what, surveys, models, user=request.user)
    except ReportUnavailable as exc:
        return _problem(request, str(exc), 404)
    record_download(
        user=request.user,
        what=what,
        content=download.content,
        surveys=download.surveys,
        models=download.models,
    )
    response = HttpResponse(download.content, content_type=download.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    return response


def _survey_download(what: str):
    @researcher_page
    def view(request):
        surveys, problem = _chosen_surveys(request)
        if problem:
            return problem
        return _download(request, what, surveys=surveys)

    return view


download_answers = _survey_download(What.ANSWERS_CSV)
download_practice = _survey_download(What.PRACTICE_CSV)
download_stats = _survey_download(What.STATS_JSON)
download_pdf = _survey_download(What.PDF)


@researcher_page
def download_dictionary(request):
    return _download(request, What.DATA_DICTIONARY)


@researcher_page
def download_metrics(request):
    surveys, problem = _chosen_surveys(request, required=False)
    if problem:
        return problem
    models, problem = _chosen_models(request)
    if problem:
        return problem
    return _download(request, What.METRICS_CSV, surveys=surveys, models=models)


def _planning_number(request, name: str, kind, limit=None, defaults=PLANNING_DEFAULTS):
    text = request.GET.get(name)
    if text is None or text.strip() == "":
        if name in defaults:
            return defaults[name]
        raise PlanningError(f"{name} is required")
    try:
        value = kind(text.strip())
    except ValueError:
        word = "a whole number" if kind is int else "a number"
        raise PlanningError(f"{name} must be {word}, not {text[:40]!r}") from None
    if limit is not None and value > limit:
        raise PlanningError(f"{name} must be at most {limit}, not {value}")
    return value


def _dataset_id(request, name: str) -> int | None:
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise PlanningError(f"{name} must be a dataset id (a whole number), not {text[:40]!r}")
    return int(text)


def _chosen_pilot(request, pilots):
    """(the pilot survey or None, whether it was chosen by default): ?pilot=NAME, ?pilot= (none), or no pilot
    parameter (the default for ?model=&real_dataset=, the survey being planned)."""
    if "pilot" not in request.GET:
        model_id, real_id = _dataset_id(request, "model"), _dataset_id(request, "real_dataset")
        return default_pilot(pilots, model_id=model_id, real_dataset_id=real_id), True
    name = request.GET["pilot"].strip()
    if not name:
        return None, False
    by_name = {pilot.name: pilot for pilot in pilots}
    if name not in by_name:
        raise PlanningError(f"pilot must be a closed survey with answers, not {name[:60]!r}")
    return by_name[name], False


@require_GET
def planning(request):
    """The expected OR CI half-width and equivalence power of a design (the survey creation page's panel), as
    JSON: ?readers=&items_per_side=[&accuracy=&reader_sd=&case_sd=&margin=][&pilot=NAME][&model=&real_dataset=]
    [&spreads=assumed].

    The assumptions not given come from the pilot survey (its stored report's GLMM; never fitted here) or, without
    one, from the documented assumed values; `spreads=assumed` keeps only the pilot's accuracy (for a pilot whose
    variance components were fitted at zero). Garbage: 400 with a one-line error."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "sign in to plan a study"}, status=401)
    if not selectors.can_read_reports(request.user):
        return JsonResponse({"error": "study planning is for researchers and study admins"}, status=403)
    try:
        readers = _planning_number(request, "readers", int, MAX_PLANNING_READERS)
        items = _planning_number(request, "items_per_side", int, MAX_PLANNING_ITEMS)
        pilots = selectors.pilot_surveys(request.user)
        pilot, by_default = _chosen_pilot(request, pilots)
        estimate = pilot_estimate(pilot) if pilot is not None else None
        # ?spreads=assumed: the pilot's accuracy with the assumed reader and slice SDs (a pilot fitted at 0)
        pilot_values = (
            estimate.assumptions(spreads=request.GET.get("spreads") != "assumed") if estimate else {}
        )
        defaults = {**PLANNING_DEFAULTS, **pilot_values}
        assumptions = {
            name: _planning_number(request, name, float, defaults=defaults) for name in PLANNING_DEFAULTS
        }
        plan = plan_design(readers, items, **assumptions)
        sensitivity = [
            {
                "reader_sd": reader_sd,
                "case_sd": case_sd,
                "half_width": plan_design(
                    readers, items, **{**assumptions, "reader_sd": reader_sd, "case_sd": case_sd}
                ).half_width,
            }
            for reader_sd in SENSITIVITY_SDS
            for case_sd in SENSITIVITY_SDS
        ]
    except PlanningError as error:
        return JsonResponse({"error": str(error)}, status=400)
    sources = {
        name: "entered"
        if (request.GET.get(name) or "").strip()
        else ("pilot" if name in pilot_values else "assumed")
        for name in PLANNING_DEFAULTS
    }
    response = JsonResponse(
        {
            **plan.to_dict(),
            "defaults": defaults,
            "assumed_defaults": PLANNING_DEFAULTS,
            "sources": sources,
            "pilot": None
            if estimate is None
            else {
                **estimate.to_dict(),
                "report_url": f"{reverse('reports:report')}?{urlencode({'survey': pilot.name})}",
            },
            "pilot_chosen_by_default": by_default,
            "pilots": [
                {
                    "name": survey.name,
                    "model": survey.model_dataset.name,
                    "real_dataset": survey.real_dataset.name,
                    "closed_at": survey.closed_at.isoformat() if survey.closed_at else None,
                    "readers": survey.reader_count,
                }
                for survey in pilots
            ],
            "sensitivity": sensitivity,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response
