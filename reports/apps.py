from django.apps import AppConfig


def _refresh_reports_of_model(sender, *, model, **kwargs):
    """A model's machine observer result changed: its stored reports are computed again to show it."""
    from reports.services import refresh_reports_of

    refresh_reports_of(model)


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self):
        from metrics.signals import observer_result_stored

        observer_result_stored.connect(
            _refresh_reports_of_model, dispatch_uid="reports.refresh_reports_of_model"
        )
