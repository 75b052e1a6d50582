"""A web worker killed while answers are posted: every answer whose reply reached the reader is stored, and the
answer whose reply never came is sent again (same idempotency key) and stored exactly once.

The run uses benchmarks/load_readers.py with its own PostgreSQL cluster and its own Redis (never the machine's
shared services) and no other fault: every gunicorn worker is SIGKILLed twice during the reading, each time at a
moment an answer is in flight; the master starts new workers and the simulated readers resend, as the reader page
does, what got no reply.
"""

import os
import re
import subprocess
import sys

from tests.faults.test_restart_under_load import ROOT, pytestmark  # noqa: F401  (same needs: root, servers)


def test_no_answer_is_lost_or_doubled_when_the_web_workers_are_killed_while_answers_are_posted():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    command = [sys.executable, "benchmarks/load_readers.py", "--faults", "--readers", "8", "--per-side", "4"]
    command += ["--matrix", "64", "--think", "0.3", "1", "--workers", "2", "--threads", "4"]
    command += ["--redis-down-for", "0", "--postgres-restart-at", "-1"]
    command += ["--kill-workers", "2", "--kill-workers", "6", "--max-seconds", "240"]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    out = run.stdout
    summary = "\n".join(
        line
        for line in out.splitlines()
        if line.startswith(("reader ", "database", "client errors", "fault", "answers", "requests sent"))
    )
    assert run.returncode == 0, summary or (out[-3000:] + run.stderr[-3000:])
    kills = re.findall(
        r"fault: (\d+) gunicorn worker\(s\) killed \(SIGKILL\) at \+[\d.]+ s with (\d+) answer", out
    )
    assert len(kills) == 2, summary
    assert all(int(workers) == 2 and int(in_flight) >= 1 for workers, in_flight in kills), summary
    assert "Redis stopped" not in out and "PostgreSQL restarted" not in out
    database = re.search(
        r"database: lost (\d+), duplicated (\d+), stored but never confirmed (\d+), unfinished (\d+)", out
    )
    assert database is not None, out[-2000:]
    assert database.groups() == ("0", "0", "0", "0"), summary
    confirmed = int(re.search(r"answers confirmed (\d+)", out).group(1))
    assert confirmed == 8 * 8
    assert f"answers in the database {confirmed}" in out
    # The answers in flight when the workers died got no reply and were sent again.
    resent = int(re.search(r"requests sent again after no reply or a 5xx: (\d+)", out).group(1))
    assert resent >= 1, summary
