from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"

    def ready(self):
        from imaging import checks  # noqa: F401  (system checks)
