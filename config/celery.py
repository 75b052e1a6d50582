"""The Celery app: a `default` queue for imports, metrics and reports, a `gpu` queue for generation and training.

Every worker also sends again the jobs whose message was lost (jobs.sweeper), from the moment it is ready."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("blindread")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def start_job_sweeper(**kwargs):
    from jobs.sweeper import start

    start()
