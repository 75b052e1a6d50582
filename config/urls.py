from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("jobs/", include("jobs.urls")),
    path("reports/", include("metrics.urls")),
    path("", include("studies.urls")),
]

# Errors answer with a page (or JSON) that needs no database: see config/errors.py.
handler500 = "config.errors.server_error"
