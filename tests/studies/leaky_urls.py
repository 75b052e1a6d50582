"""The site's URLs with a leaky handler500 (tests.studies.leaky.server_error_naming_the_failure)."""

from config.urls import urlpatterns

__all__ = ["urlpatterns"]

handler500 = "tests.studies.leaky.server_error_naming_the_failure"
