from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

API_PREFIX = "api/v1/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path(API_PREFIX, include("api.urls")),
    path("account/", include("accounts.urls")),
    path("jobs/", include("jobs.urls")),
    path("reports/", include("reports.urls")),
    # Browsers ask every site for /favicon.ico; pages also name it (and its SVG) with <link rel="icon">.
    path(
        "favicon.ico", serve, {"path": "favicon.ico", "document_root": settings.BASE_DIR / "static" / "site"}
    ),
    path("", include("studies.urls")),
]

# Errors answer with a page (or JSON) that needs no database: see config/errors.py.
handler500 = "config.errors.server_error"
