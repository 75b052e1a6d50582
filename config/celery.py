"""The Celery app: a `default` queue for imports, metrics and reports, a `gpu` queue for generation and training."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("blindread")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
