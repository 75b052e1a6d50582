from django.urls import path

from reports import figure_views, views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("surveys/", views.report, name="report"),
    path("surveys/compute/", views.compute_report, name="compute_report"),
    path("models/", views.models, name="models"),
    path("glossary/", views.glossary, name="glossary"),
    path("planning.json", views.planning, name="planning"),
    path("download/answers.csv", views.download_answers, name="answers_csv"),
    path("download/practice.csv", views.download_practice, name="practice_csv"),
    path("download/data-dictionary.csv", views.download_dictionary, name="data_dictionary"),
    path("download/stats.json", views.download_stats, name="stats_json"),
    path("download/metrics.csv", views.download_metrics, name="metrics_csv"),
    path("download/report.pdf", views.download_pdf, name="report_pdf"),
    path("jobs/<int:pk>/figures/<str:name>", figure_views.figure, name="figure"),
]
