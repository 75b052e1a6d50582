"""A broker of the test's own: a throw-away Redis (tests.studies.test_faults.OwnRedis) and a Celery app on it,
made the current app, so that jobs.services sends there and nothing else of the test session (the shared Redis,
the in-thread worker) sees the messages."""

from contextlib import contextmanager

import redis
from celery import Celery, current_app
from django.conf import settings

from tests.studies.test_faults import OwnRedis


class OwnBroker(OwnRedis):
    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)

    def waiting(self, queue: str) -> int:
        """Messages waiting in `queue` (the Redis transport keeps a queue as a list of that name)."""
        return self.client().llen(queue)

    @contextmanager
    def current(self):
        """Make a Celery app of the project's settings, but on this Redis, the current app."""
        app = Celery("blindread-own-broker", set_as_current=False)
        app.config_from_object("django.conf:settings", namespace="CELERY")
        app.conf.broker_url = app.conf.result_backend = self.url
        app.conf.broker_transport_options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS or {})
        previous = current_app._get_current_object()
        app.set_current()
        try:
            yield app
        finally:
            previous.set_current()
            app.close()
