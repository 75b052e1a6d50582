"""The sweep every Celery worker runs: jobs whose message was lost or never sent are sent again
(:func:`jobs.services.resend_waiting`), once when the worker is ready and then every JOBS_RESEND_EVERY_S, from a
daemon thread of the worker's main process (config.celery starts it on `worker_ready`). Nothing else runs it: no
beat, no extra process."""

import logging
import threading

from django.conf import settings
from django.db import connection

from jobs.errors import one_line
from jobs.services import resend_waiting, resent_line

logger = logging.getLogger(__name__)


def sweep_once() -> int:
    """One sweep, each job sent again logged in one line; never raises (the database may be down too)."""
    try:
        resent = resend_waiting()
    except Exception as exc:
        logger.warning("job sweep skipped: %s", one_line(exc))
        return 0
    finally:
        # No connection kept between sweeps: a prefork worker forks new children from this process.
        connection.close()
    for job in resent:
        logger.warning(resent_line(job))
    return len(resent)


def start(*, every_s: float | None = None) -> threading.Thread:
    """Sweep now and then every `every_s` seconds (JOBS_RESEND_EVERY_S; 0: only now) in a daemon thread."""
    every_s = settings.JOBS_RESEND_EVERY_S if every_s is None else every_s

    def sweep_forever():
        sweep_once()
        while every_s > 0:
            threading.Event().wait(every_s)
            sweep_once()

    thread = threading.Thread(target=sweep_forever, name="jobs-resend-sweep", daemon=True)
    thread.start()
    return thread
