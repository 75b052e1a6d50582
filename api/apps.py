from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self):
        from api import schema_extensions  # noqa: F401  (registers the schema's authentication schemes)
