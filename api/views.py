"""The API's views: thin over the same services, selectors and jobs as the admin and the commands.

Lists are paged and filtered (`?name=`, `?status=`); writes call one service each and map its one-line refusal
to 400 (bad input, nothing stored) or 409 (the object's state does not allow it)."""

from functools import partial

from django.db.models import Q
from django.http import HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as api
from api.errors import NOT_FOUND, Conflict, Refused, ReportNotComputed, one_line
from api.permissions import CanReadReports, IsSignedIn
from generation.selectors import checkpoints, jobs_with_counts
from generation.services import GenerationError, register_checkpoint, start_generation
from generation.vocabulary import DEFAULT_NORMALISATION, CheckpointRefused, parse_hu_range
from imaging.constants import HU_MAX, HU_MIN
from imaging.selectors import (
    dataset_name_contains,
    dataset_named,
    datasets_with_counts,
    import_jobs,
    models_named,
    volumes_with_datasets,
)
from imaging.services import ImportArgumentError, create_import_job
from jobs.models import JobStatus
from metrics import selectors as metrics
from metrics.services import MetricsArgumentError, create_metrics_job
from projects.models import Role
from projects.selectors import is_site_superuser, memberships_of_user, projects_of_user
from reports import selectors as reports
from reports.downloads import What, make_download
from reports.models import DownloadLog
from reports.services import ReportUnavailable, record_download, request_report
from studies import roles
from studies.selectors import blinding_audits, invitations, surveys_with_counts
from studies.services import (
    StudyError,
    create_survey,
    do_close_survey,
    do_create_invitations,
    do_open_survey,
    do_revoke_invitation,
    request_blinding_audit,
)

JOB_STATUSES = {value: Q(status=value) for value in JobStatus.values}


def _project(name, user):
    """The project a new object names (None: the one project where ``user`` runs surveys); another project is
    refused as unknown."""
    if name in (None, ""):
        return None
    found = projects_of_user(user, at_least=Role.STUDY_ADMIN).filter(name=str(name)).first()
    if found is None:
        raise Refused(f"no project named {name!r} in which you are a study admin")
    return found


def _refused(exc) -> Refused:
    return Refused(one_line(exc))


def _parsed(request) -> None:
    """Parse the body of an action that takes none, so that a malformed one is a 400 and changes nothing."""
    request.data  # noqa: B018  (parsing raises ParseError for a malformed body)


class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A paged, filtered list and one object by id; anything else is the subclass's."""

    name_fields: tuple[str, ...] = ("name",)
    status_filter: dict | None = None
    extra_filters: dict[str, str] = {}


class JobViewSet(ReadViewSet):
    status_filter = JOB_STATUSES
    name_fields = ()

    def created(self, job) -> Response:
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)


# --- Images ----------------------------------------------------------------------------------------------------


@extend_schema(tags=["images"])
class DatasetViewSet(ReadViewSet):
    """Datasets: real CT, MRI, synthetic CT. `?status=` is not used here; `?kind=` filters by kind."""

    serializer_class = api.DatasetSerializer
    extra_filters = {"kind": "kind"}

    def get_queryset(self):
        return datasets_with_counts(self.request.user)


@extend_schema(tags=["images"])
class VolumeViewSet(ReadViewSet):
    """Volumes (one series each); `?name=` matches the patient pseudonym, `?dataset=` a dataset id."""

    serializer_class = api.VolumeSerializer
    name_fields = ("patient",)
    extra_filters = {"dataset": "dataset_id", "modality": "modality"}

    def get_queryset(self):
        return volumes_with_datasets(self.request.user)


@extend_schema(tags=["images"])
class ImportJobViewSet(mixins.CreateModelMixin, JobViewSet):
    """Import jobs: upload a zip of a DICOM/NIfTI folder tree (or several files); a worker imports them."""

    serializer_class = api.ImportJobSerializer
    name_fields = ("dataset_name",)

    def get_queryset(self):
        return import_jobs(self.request.user)

    @extend_schema(
        request={"multipart/form-data": api.ImportRequest}, responses={201: api.ImportJobSerializer}
    )
    def create(self, request):
        given = api.ImportRequest(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            job = create_import_job(
                files=data["files"],
                dataset_name=data["dataset"],
                kind=data["kind"],
                modality=data.get("modality") or None,
                contrast=data["contrast"],
                actor=request.user,
                nifti_patient=data.get("patient") or None,
            )
        except ImportArgumentError as exc:
            raise _refused(exc) from None
        return self.created(job)


# --- Generation ------------------------------------------------------------------------------------------------


@extend_schema(tags=["generation"])
class CheckpointViewSet(mixins.CreateModelMixin, ReadViewSet):
    """Registered generators. Registering one uploads its file; every refusal is the command's one line."""

    serializer_class = api.CheckpointSerializer

    def get_queryset(self):
        return checkpoints(self.request.user)

    @extend_schema(
        request={"multipart/form-data": api.CheckpointRequest}, responses={201: api.CheckpointSerializer}
    )
    def create(self, request):
        given = api.CheckpointRequest(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        upload = data["file"]
        try:
            checkpoint = register_checkpoint(
                name=data["name"],
                data=upload.read(),
                inputs=data["inputs"],
                contrast=data["contrast"],
                hu_range=parse_hu_range(data.get("ct_range") or f"{HU_MIN},{HU_MAX}"),
                arch=data["arch"],
                normalisation=data.get("normalisation") or DEFAULT_NORMALISATION,
                input_size=data["input_size"],
                provenance={"file": upload.name, "source": data["source"], "registered_by": "api"},
                actor=request.user,
            )
        except (CheckpointRefused, ValueError) as exc:
            raise Refused(one_line(f"refused {upload.name}: {exc}")) from None
        return Response(self.get_serializer(checkpoint).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["generation"])
class GenerationJobViewSet(mixins.CreateModelMixin, JobViewSet):
    """Generation jobs (checkpoint x MRI dataset, on the gpu queue); starting one again returns the same job."""

    serializer_class = api.GenerationJobSerializer
    name_fields = ("checkpoint__name", "output_dataset_name")

    def get_queryset(self):
        return jobs_with_counts(self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=api.GenerationRequest, responses={201: api.GenerationJobSerializer})
    def create(self, request):
        given = api.GenerationRequest(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        # Named among what the caller's projects use: another project's checkpoint or MRI is unknown here.
        checkpoint = checkpoints(request.user).filter(name=data["checkpoint"]).first()
        if checkpoint is None:
            raise Refused(f"no checkpoint named {data['checkpoint']!r}")
        mri = dataset_named(data["mri_dataset"], user=request.user)
        if mri is None:
            raise Refused(f"no dataset named {data['mri_dataset']!r}")
        try:
            job = start_generation(
                checkpoint=checkpoint,
                mri_dataset=mri,
                output_dataset_name=data.get("output_dataset_name") or None,
                z_tolerance_mm=data["z_tolerance_mm"],
                actor=request.user,
            )
        except GenerationError as exc:
            raise _refused(exc) from None
        return self.created(jobs_with_counts(request.user).get(pk=job.pk))


# --- Metrics and reports ---------------------------------------------------------------------------------------


@extend_schema(tags=["metrics"])
class MetricsJobViewSet(mixins.CreateModelMixin, JobViewSet):
    """Image-distribution metrics of a model against real CT, computed by a worker."""

    serializer_class = api.MetricsJobSerializer
    name_fields = (partial(dataset_name_contains, "model"), partial(dataset_name_contains, "real_dataset"))

    def get_queryset(self):
        return metrics.metrics_jobs(self.request.user)

    @extend_schema(request=api.MetricsRequest, responses={201: api.MetricsJobSerializer})
    def create(self, request):
        given = api.MetricsRequest(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            job = create_metrics_job(
                model_name=data["model"],
                real_dataset_name=data["real_dataset"],
                max_per_layer=data["max_per_layer"],
                seed=data["seed"],
                actor=request.user,
                user=request.user,
            )
        except MetricsArgumentError as exc:
            raise _refused(exc) from None
        return self.created(job)


@extend_schema(tags=["metrics"])
class ReportJobViewSet(mixins.CreateModelMixin, JobViewSet):
    """Report jobs: the statistics JSON and PDF of a selection of surveys (the same one a report page computes)."""

    serializer_class = api.ReportJobSerializer
    name_fields = ("title",)

    def get_queryset(self):
        return reports.report_jobs(self.request.user)

    @extend_schema(request=api.ReportRequest, responses={201: api.ReportJobSerializer})
    def create(self, request):
        given = api.ReportRequest(data=request.data)
        given.is_valid(raise_exception=True)
        surveys, unknown = reports.surveys_by_name(given.validated_data["surveys"], request.user)
        if unknown:
            raise Refused(f"unknown survey: {', '.join(repr(name) for name in unknown)}")
        try:
            job = request_report(
                surveys=surveys,
                actor=request.user,
                experience_bands=given.validated_data.get("experience_bands") or None,
            )
        except ReportUnavailable as exc:
            raise _refused(exc) from None
        return self.created(job)


# --- Surveys ---------------------------------------------------------------------------------------------------


@extend_schema(tags=["surveys"])
class SurveyViewSet(mixins.CreateModelMixin, ReadViewSet):
    """Surveys: create (items selected and rendered, as `create_survey` does), audit, open, close, progress."""

    serializer_class = api.SurveySerializer
    name_fields = ("name", "model_alias")
    status_filter = {value: Q(status=value) for value in ("draft", "open", "closed")}

    def get_queryset(self):
        return surveys_with_counts(self.request.user).order_by("-created_at", "-id")

    def _fresh(self, survey) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=survey.pk)).data)

    @extend_schema(request={"application/json": api.SurveyRequest}, responses={201: api.SurveySerializer})
    def create(self, request):
        """Create a survey from the options of `manage.py create_survey` (`api.SurveyRequest` documents them):
        checked where the command's and the admin's are (studies.survey_input), refused with the same line."""
        try:
            given = request.data.dict() if isinstance(request.data, QueryDict) else request.data
            project = None
            if isinstance(given, dict):
                given = dict(given)
                project = _project(given.pop("project", None), request.user)
            created = create_survey(options=given, actor=request.user, project=project)
        except StudyError as exc:
            raise _refused(exc) from None
        response = self._fresh(created.survey)
        response.status_code = status.HTTP_201_CREATED
        response.data = {**response.data, "notes": [*created.policy_notes, *created.notes]}
        return response

    @extend_schema(request=api.AuditRequest, responses={202: api.BlindingAuditSerializer})
    @action(detail=True, methods=["post"])
    def audit(self, request, pk=None, format=None):
        """Queue the blinding audit of the survey's items (and open it if it passes, with open_when_passed)."""
        survey = self.get_object()
        given = api.AuditRequest(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            job = request_blinding_audit(
                survey=survey, actor=request.user, open_when_passed=given.validated_data["open_when_passed"]
            )
        except StudyError as exc:
            raise Conflict(one_line(exc)) from None
        return Response(api.BlindingAuditSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: api.SurveySerializer})
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None, format=None):
        """Open a draft survey; 409 unless its last blinding audit passed on exactly its current items."""
        _parsed(request)
        try:
            survey = do_open_survey(survey=self.get_object(), actor=request.user)
        except StudyError as exc:
            raise Conflict(one_line(exc)) from None
        return self._fresh(survey)

    @extend_schema(request=None, responses={200: api.SurveySerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None, format=None):
        _parsed(request)
        try:
            survey = do_close_survey(survey=self.get_object(), actor=request.user)
        except StudyError as exc:
            raise Conflict(one_line(exc)) from None
        return self._fresh(survey)

    @extend_schema(responses={200: api.SurveyProgressSerializer})
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None, format=None):
        """How far its readers got: counts per reader (pseudonyms), no answers."""
        return Response(api.survey_progress_counts(self.get_object()))


@extend_schema(tags=["surveys"])
class BlindingAuditViewSet(JobViewSet):
    """Blinding audit jobs (queued by POST /surveys/{id}/audit/); `?survey=` filters by survey id."""

    serializer_class = api.BlindingAuditSerializer
    extra_filters = {"survey": "survey_id"}

    def get_queryset(self):
        return blinding_audits(self.request.user)


def _invitation_state(state: str):
    """The condition of one invitation state, at the time of the request."""

    def condition():
        now = timezone.now()
        unused = Q(revoked_at__isnull=True, used_at__isnull=True)
        return {
            "pending": unused & Q(expires_at__gt=now),
            "used": Q(used_at__isnull=False),
            "revoked": Q(revoked_at__isnull=False),
            "expired": unused & Q(expires_at__lte=now),
        }[state]

    return condition


@extend_schema(tags=["surveys"])
class InvitationViewSet(mixins.CreateModelMixin, ReadViewSet):
    """Invitation links; `?survey=` filters by survey id, `?status=` by state, `?name=` by label or e-mail."""

    serializer_class = api.InvitationSerializer
    name_fields = ("label", "email")
    status_filter = {state: _invitation_state(state) for state in ("pending", "used", "revoked", "expired")}
    extra_filters = {"survey": "survey_id"}

    def get_queryset(self):
        return invitations(self.request.user)

    @extend_schema(request=api.InvitationRequest, responses={201: api.InvitationSerializer(many=True)})
    def create(self, request):
        given = api.InvitationRequest(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        survey = surveys_with_counts(request.user).filter(pk=data["survey"]).first()
        if survey is None:
            raise Refused(f"no survey with id {data['survey']}")
        self.check_object_permissions(request, survey)
        try:
            created = do_create_invitations(
                survey=survey,
                actor=request.user,
                count=data["count"],
                emails=data["emails"],
                label=data["label"],
                expires_in_days=data["expires_in_days"],
            )
        except StudyError as exc:
            raise (Conflict if survey.is_closed else Refused)(one_line(exc)) from None
        return Response(self.get_serializer(created, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: api.InvitationSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None, format=None):
        """Withdraw an unused invitation (409 once it was used)."""
        _parsed(request)
        try:
            invitation = do_revoke_invitation(invitation=self.get_object(), actor=request.user)
        except StudyError as exc:
            raise Conflict(one_line(exc)) from None
        return Response(self.get_serializer(invitation).data)


def unknown_endpoint(request, *args, **kwargs):
    """Any path under /api/v1/ that names no endpoint."""
    return JsonResponse({"code": NOT_FOUND, "detail": "no such endpoint"}, status=404)


# --- Who am I --------------------------------------------------------------------------------------------------


class MeView(APIView):
    """The signed-in account: its site-wide roles and the projects it is a member of, with its role in each."""

    permission_classes = [IsSignedIn]

    @extend_schema(tags=["account"], responses={200: api.UserSerializer})
    def get(self, request):
        user = request.user
        held = [name for name, check in _ROLE_CHECKS if check(user)]
        projects = [{"name": m.project.name, "role": m.role} for m in memberships_of_user(user)]
        return Response(
            {
                "username": user.get_username(),
                "roles": held,
                "projects": projects,
                "site_superuser": is_site_superuser(user),
            }
        )


_ROLE_CHECKS = (
    (roles.ADMIN, roles.is_study_admin),
    (roles.RESEARCHER, lambda user: roles.in_group(user, roles.RESEARCHER)),
    (roles.READER, lambda user: roles.in_group(user, roles.READER)),
)


# --- Results: the report pages' downloads, each logged -----------------------------------------------------------

SURVEY_PARAMETER = OpenApiParameter(
    "survey", OpenApiTypes.STR, many=True, description="Survey name (repeat for several surveys)"
)
MODEL_PARAMETER = OpenApiParameter(
    "model", OpenApiTypes.STR, many=True, description="Model (synthetic CT dataset) name; repeatable"
)


def _surveys(request, *, required: bool = True):
    surveys, unknown = reports.surveys_by_name(request.query_params.getlist("survey"), request.user)
    if unknown:
        raise NotFound(f"unknown survey: {', '.join(repr(name) for name in unknown)}")
    if required and not surveys:
        raise Refused("choose at least one survey (?survey=NAME)")
    return surveys


def _models(request):
    names = [name for name in request.query_params.getlist("model") if name.strip()]
    if not names:
        return None
    models = list(models_named(names, request.user))
    unknown = sorted(set(names) - {model.name for model in models})
    if unknown:
        raise NotFound(f"unknown model: {', '.join(repr(name) for name in unknown)}")
    return models


class DownloadView(APIView):
    """One download of the report pages, served and logged (DownloadLog, via "api") exactly as they do."""

    permission_classes = [CanReadReports]
    what = ""
    needs_surveys = True
    takes_models = False

    def get(self, request):
        surveys = _surveys(request, required=self.needs_surveys)
        models = _models(request) if self.takes_models else None
        try:
            download = make_download(self.what, surveys, models, user=request.user)
        except ReportUnavailable as exc:
            raise ReportNotComputed(
                "this report has not been computed yet: POST /api/v1/report-jobs/ with these surveys"
                if "not been computed" in str(exc)
                else one_line(exc)
            ) from None
        record_download(
            user=request.user,
            what=self.what,
            content=download.content,
            surveys=download.surveys,
            models=download.models,
            via=DownloadLog.Via.API,
        )
        response = HttpResponse(download.content, content_type=download.content_type)
        response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
        response["Cache-Control"] = "no-store"
        return response


def _download_view(what: str, media_type: str, summary: str, *, needs_surveys=True, takes_models=False):
    """A DownloadView for `what`, documented as the file it serves."""
    body = OpenApiTypes.OBJECT if media_type == "application/json" else OpenApiTypes.BINARY
    schema = extend_schema(
        tags=["results"],
        summary=summary,
        parameters=[SURVEY_PARAMETER, *([MODEL_PARAMETER] if takes_models else [])],
        responses={(200, media_type): OpenApiResponse(response=body, description=summary)},
    )
    name = "".join(part.title() for part in what.split("_")) + "Download"
    attributes = {"what": what, "needs_surveys": needs_surveys, "takes_models": takes_models}
    view = type(name, (DownloadView,), attributes)
    view.get = schema(DownloadView.get)
    return view


AnswersJson = _download_view(What.ANSWERS_JSON, "application/json", "The tidy answers CSV's rows, as JSON")
AnswersCsv = _download_view(What.ANSWERS_CSV, "text/csv", "The tidy answers CSV")
StatsJson = _download_view(What.STATS_JSON, "application/json", "The statistics JSON of the stored report")
ReportPdf = _download_view(What.PDF, "application/pdf", "The PDF of the stored report")
MetricsJson = _download_view(
    What.METRICS_JSON,
    "application/json",
    "Image-distribution metrics rows, as JSON",
    needs_surveys=False,
    takes_models=True,
)
MetricsCsv = _download_view(
    What.METRICS_CSV, "text/csv", "Image-distribution metrics CSV", needs_surveys=False, takes_models=True
)
DataDictionary = _download_view(
    What.DATA_DICTIONARY,
    "text/csv",
    "What every column of the answers and metrics CSVs means",
    needs_surveys=False,
)
