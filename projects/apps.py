from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects"

    def ready(self):
        # The object permissions (django-rules) are registered when their module is imported.
        from projects import access  # noqa: F401
