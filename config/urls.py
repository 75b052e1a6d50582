from django.contrib import admin
from django.urls import include, path

API_PREFIX = "api/v1/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path(API_PREFIX, include("api.urls")),
    path("jobs/", include("jobs.urls")),
    path("reports/", include("reports.urls")),
    path("", include("studies.urls")),
]

# Errors answer with a page (or JSON) that needs no database: see config/errors.py.
handler500 = "config.errors.server_error"
