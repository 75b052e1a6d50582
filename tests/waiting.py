"""Waiting in tests for what another thread or process does: one helper instead of a loop in every test."""

import time
from pathlib import Path


def wait_until(
    condition, *, timeout_s: float = 60, what: str = "the condition", logs=(), interval_s: float = 0.05
):
    """Poll `condition()` until it returns something truthy and return that; AssertionError after `timeout_s`
    naming `what` (and showing the end of each log file in `logs`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {log}\n{Path(log).read_text()[-3000:]}" for log in logs if Path(log).exists()
            )
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}\n{tails}".rstrip())
        time.sleep(interval_s)


def finished_job(job, *, timeout_s: float = 60):
    """The job, reloaded, once it is finished (done or failed)."""

    def finished():
        job.refresh_from_db()
        return job.is_finished

    wait_until(finished, timeout_s=timeout_s, what=f"{job.job_kind} job #{job.pk} to finish")
    return job
