"""The workers of one machine, for the laptop default (`make run`): one Celery worker process per queue group, so
that the short work a person waits for (blinding audits, reports, imports: the `interactive` queue) never waits
behind long work (machine observers, metrics, generation and training on `default` and `gpu`).

    python -m jobs.workers            # start them all; Ctrl-C or SIGTERM stops them all

Production runs the same groups as separate services (docker/docker-compose.yml).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

INTERACTIVE = "interactive"
DEFAULT = "default"
GPU = "gpu"
QUEUES = (INTERACTIVE, DEFAULT, GPU)

# (worker name, the queues it consumes): the interactive worker takes nothing else, so it is free when asked.
WORKER_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("interactive", (INTERACTIVE,)),
    ("main", (DEFAULT, GPU)),
)


# Celery's warning against running as root is said once, in plain words, by `make run` instead.
QUIET_AS_ROOT = "ignore:You're running the worker with superuser privileges"


def worker_command(name: str, queues: tuple[str, ...], *, loglevel: str = "warning") -> list[str]:
    """The command line of one worker process (solo pool: one job at a time, as the job framework expects; no
    start-up banner)."""
    return [
        sys.executable, "-W", QUIET_AS_ROOT, "-m", "celery", "-A", "config", "--quiet", "worker",
        "-Q", ",".join(queues), "--pool", "solo", "--concurrency", "1", "-n", f"{name}@%h", "--loglevel", loglevel,
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip


def start_workers(*, env: dict | None = None, cwd=None, loglevel: str = "warning", stdout=None):
    """Start one process per worker group; returns them (name, Popen)."""
    return [
        (name, subprocess.Popen(worker_command(name, queues, loglevel=loglevel), env=env, cwd=cwd, stdout=stdout,
                                stderr=subprocess.STDOUT if stdout is not None else None))
        for name, queues in WORKER_GROUPS
    ]  # fmt: skip


def stop_workers(processes, *, timeout_s: float = 30) -> None:
    """Ask every worker to finish its current job and stop (SIGTERM, Celery's warm shutdown); kill the rest."""
    for _, process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for _, process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    processes = start_workers()
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    print(f"worker {name} stopped (exit status {process.returncode})", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        stop_workers(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
