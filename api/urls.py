"""/api/v1/: the resources (a router), the result downloads, the OpenAPI schema and its documentation page."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from api import views

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("volumes", views.VolumeViewSet, basename="volume")
router.register("import-jobs", views.ImportJobViewSet, basename="import-job")
router.register("checkpoints", views.CheckpointViewSet, basename="checkpoint")
router.register("generation-jobs", views.GenerationJobViewSet, basename="generation-job")
router.register("metrics-jobs", views.MetricsJobViewSet, basename="metrics-job")
router.register("report-jobs", views.ReportJobViewSet, basename="report-job")
router.register("surveys", views.SurveyViewSet, basename="survey")
router.register("audits", views.BlindingAuditViewSet, basename="audit")
router.register("invitations", views.InvitationViewSet, basename="invitation")

urlpatterns = [
    path("", include(router.urls)),
    path("me/", views.MeView.as_view(), name="me"),
    path("results/answers/", views.AnswersJson.as_view(), name="answers-json"),
    path("results/answers.csv", views.AnswersCsv.as_view(), name="answers-csv"),
    path("results/stats/", views.StatsJson.as_view(), name="stats-json"),
    path("results/report.pdf", views.ReportPdf.as_view(), name="report-pdf"),
    path("results/metrics/", views.MetricsJson.as_view(), name="metrics-json"),
    path("results/metrics.csv", views.MetricsCsv.as_view(), name="metrics-csv"),
    path("results/data-dictionary.csv", views.DataDictionary.as_view(), name="data-dictionary"),
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="api:schema", permission_classes=[AllowAny], authentication_classes=[]
        ),
        name="docs",
    ),
    # Anything else under /api/v1/ is a JSON 404 too, never an HTML page.
    re_path(r"^.*$", views.unknown_endpoint),
]
