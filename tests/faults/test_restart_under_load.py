"""Faults survived under load: readers answering through gunicorn while Redis is stopped and PostgreSQL restarts.

The run uses benchmarks/load_readers.py with its own PostgreSQL cluster and its own Redis (never the machine's
shared services), small enough to finish in about a minute: every answer the server confirmed is stored exactly
once, every reader finishes, and both faults happened during the reading.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

needs = [
    shutil.which("redis-server"),
    shutil.which("runuser"),
    next(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), None),
]
pytestmark = pytest.mark.skipif(
    not all(needs) or os.geteuid() != 0,
    reason="needs redis-server, PostgreSQL's server binaries and root (to run a cluster as the postgres user)",
)


def test_no_answer_is_lost_or_doubled_when_redis_stops_and_postgresql_restarts_while_readers_answer():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    command = [sys.executable, "benchmarks/load_readers.py", "--faults", "--readers", "8", "--per-side", "4"]
    command += ["--matrix", "64", "--think", "1", "2", "--workers", "2", "--threads", "4"]
    command += ["--db-conn-max-age", "60", "--redis-down-at", "2", "--redis-down-for", "4"]
    command += ["--postgres-restart-at", "9", "--max-seconds", "240"]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    out = run.stdout
    summary = "\n".join(
        line
        for line in out.splitlines()
        if line.startswith(("reader ", "database", "client errors", "fault", "answers"))
    )
    assert run.returncode == 0, summary or (out[-3000:] + run.stderr[-3000:])
    assert re.search(r"fault: Redis stopped for 4 s at \+\d", out), out[-2000:]
    assert re.search(r"fault: PostgreSQL restarted at \+\d", out), out[-2000:]
    database = re.search(
        r"database: lost (\d+), duplicated (\d+), stored but never confirmed (\d+), unfinished (\d+)", out
    )
    assert database is not None, out[-2000:]
    assert database.groups() == ("0", "0", "0", "0")
    confirmed = int(re.search(r"answers confirmed (\d+)", out).group(1))
    assert confirmed == 8 * 8
    assert f"answers in the database {confirmed}" in out
    # What reached a web thread while PostgreSQL was down was told so (503, retried), never a bare 500.
    errors = re.search(r"^client errors: (.*)$", out, re.MULTILINE).group(1)
    assert "HTTP 500" not in errors, errors
