"""The one command-line waiter: every command's `--wait` follows its job with it."""

import sys
import time

from jobs.models import Job
from jobs.services import JobWaitTimeout, status_line


def wait_for(
    job: Job, *, report, interval_s: float = 1.0, timeout_s: float | None = None, bar: bool = False
) -> Job:
    """Follow a job until it is finished and return it, reporting each new status line through `report`.

    With `bar` and a terminal on stderr, a progress bar shows the count instead of one line per change.
    JobWaitTimeout after `timeout_s`; the job itself goes on."""
    progress_bar = None
    if bar and sys.stderr.isatty():
        from tqdm import tqdm

        progress_bar = tqdm(
            total=1, desc=f"{job.job_kind} #{job.pk}", unit=job.progress_unit, file=sys.stderr
        )
    started = time.monotonic()
    last = None
    try:
        while True:
            job.refresh_from_db()
            line = status_line(job)
            if progress_bar is not None:
                progress_bar.total = max(job.total, 1)
                progress_bar.n = job.total if job.is_finished else job.done
                progress_bar.set_postfix_str(job.message[:60], refresh=True)
            elif line != last:
                report(line)
            last = line
            if job.is_finished:
                if progress_bar is not None:
                    report(line)
                return job
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise JobWaitTimeout(
                    f"{job.job_kind} job #{job.pk} not finished after {timeout_s:g} s ({line}); it goes on. "
                    f"Is a worker running on the {job.queue} queue?"
                )
            time.sleep(interval_s)
    finally:
        if progress_bar is not None:
            progress_bar.close()
