"""What one web process costs and how fast the report page answers.

Three measurements against an existing Blindread database (the demo's, by default `var/`), the first two also for a
bare Django project made in the same run with `django-admin startproject` (the same Django and Python: the baseline):

1. import time of a web process: `django.setup()` alone, then with the URL configuration (every view module),
   each in a fresh interpreter, median of `--repeat` runs, and which heavy numerical libraries got imported;
2. the resident memory (VmRSS) of one gunicorn worker (`config.wsgi`, 1 worker, 4 threads as in compose) after
   it served the sign-in page and after it served the report page of the demo's four closed surveys;
3. the report page's latency for those surveys (a signed-in researcher, Django's test client in this process,
   the first request and the median/p95 of the next `--requests`).

    BLINDREAD_VAR_DIR=var taskset -c 0,1 .venv/bin/python benchmarks/bench_web.py

The demo must exist there (`make run`, or `manage.py migrate && manage.py demo`).
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe_machine  # noqa: E402

DEMO_SURVEYS = [f"Demo survey {n} (closed)" for n in range(1, 5)]
IMPORT_PROBE = """
import json, sys, time
HEAVY = %r
started, cpu_started = time.perf_counter(), time.process_time()
import django
django.setup()
setup, setup_cpu = time.perf_counter() - started, time.process_time() - cpu_started
import config.urls  # noqa: F401
from django.urls import get_resolver
get_resolver().url_patterns
total = time.perf_counter() - started
total_cpu = time.process_time() - cpu_started
modules = len(sys.modules)
heavy = sorted(set(sys.modules) & set(HEAVY))
print(json.dumps({"setup": setup, "setup_cpu": setup_cpu, "modules": modules, "with_urls": total, "with_urls_cpu": total_cpu, "heavy": heavy}))
"""
HEAVY = ("scipy", "matplotlib", "statsmodels", "sklearn", "skimage", "pandas", "reportlab", "torch")


def import_times(repeat: int, *, project: Path = ROOT, settings: str = "config.settings") -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "PYTHONPATH": str(project)}
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                IMPORT_PROBE.replace("config.urls", settings.split(".")[0] + ".urls") % (HEAVY,),
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "setup_s": statistics.median(r["setup"] for r in runs),
        "setup_cpu_s": statistics.median(r["setup_cpu"] for r in runs),
        "modules": runs[-1]["modules"],
        "with_urls_s": statistics.median(r["with_urls"] for r in runs),
        "with_urls_cpu_s": statistics.median(r["with_urls_cpu"] for r in runs),
        "heavy": runs[-1]["heavy"],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if not children:
        raise RuntimeError("gunicorn has no worker")
    return int(children[0])


def gunicorn_rss(
    session_cookie: str, report_path: str | None, *, project: Path = ROOT, package: str = "config"
) -> dict:
    """A gunicorn worker's RSS after the sign-in page (the admin's, for the bare project) and after `report_path`."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    sign_in = "/login/" if package == "config" else "/admin/login/"
    process = subprocess.Popen(
        [str(gunicorn), f"{package}.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        + ["--threads", "4", "--timeout", "300"],
        cwd=project,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": f"{package}.settings", "PYTHONPATH": str(project)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}{sign_in}", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        pid = worker_pid(process.pid)
        after_login = rss_kib(pid)
        after_report = None
        if report_path is not None:
            request = urllib.request.Request(f"{base}{report_path}", headers={"Cookie": session_cookie})
            urllib.request.urlopen(request, timeout=300).read()
            after_report = rss_kib(pid) / 1024
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return {"after_sign_in_page_mib": after_login / 1024, "after_report_page_mib": after_report}


def bare_project(folder: Path) -> Path:
    """A `django-admin startproject` project (SQLite, migrated) in `folder`: the baseline of a web process."""
    django_admin = Path(sys.executable).with_name("django-admin")
    subprocess.run([str(django_admin), "startproject", "bare", str(folder)], check=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bare.settings", "PYTHONPATH": str(folder)}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=folder, env=env, check=True, capture_output=True
    )
    return folder


def report_latency(requests: int) -> tuple[dict, str, str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils.http import urlencode

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    researcher = get_user_model().objects.get(username="researcher")
    client = Client()
    client.force_login(researcher)
    path = f"{reverse('reports:report')}?{urlencode([('survey', name) for name in DEMO_SURVEYS])}"
    started = time.perf_counter()
    response = client.get(path)
    first = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"the report page answered {response.status_code}: {response.content[:300]!r}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append(time.perf_counter() - started)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return {"first_s": first, "median_s": statistics.median(times), "p95_s": p95}, cookie, path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="interpreters started for the import time")
    parser.add_argument("--requests", type=int, default=20, help="report page requests after the first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bare-django-") as folder:
        bare = bare_project(Path(folder))
        bare_imports, imports = {}, {}
        # Interleaved, so that the machine's load weighs on both alike.
        for _ in range(args.repeat):
            for target, options in (
                (bare_imports, {"project": bare, "settings": "bare.settings"}),
                (imports, {}),
            ):
                run = import_times(1, **options)
                for key, value in run.items():
                    target.setdefault(key, []).append(value)
        bare_memory = gunicorn_rss("", None, project=bare, package="bare")
    imports = {key: statistics.median(v) if key != "heavy" else v[-1] for key, v in imports.items()}
    bare_imports = {key: statistics.median(v) if key != "heavy" else v[-1] for key, v in bare_imports.items()}
    latency, cookie, path = report_latency(args.requests)
    memory = gunicorn_rss(cookie, path)
    print(f"machine: {describe_machine()}")
    for name, measured in (("bare Django project", bare_imports), ("Blindread", imports)):
        print(
            f"import, {name}: django.setup() {measured['setup_s']:.2f} s ({measured['setup_cpu_s']:.2f} s of CPU, "
            f"{measured['modules']:.0f} modules), with the URL configuration {measured['with_urls_s']:.2f} s "
            f"({measured['with_urls_cpu_s']:.2f} s of CPU; median of {args.repeat}); heavy libraries loaded: {', '.join(measured['heavy']) or 'none'}"
        )
    print(
        f"django.setup() CPU, Blindread / bare: {imports['setup_cpu_s'] / bare_imports['setup_cpu_s']:.2f}x; "
        f"with the URL configuration: {imports['with_urls_cpu_s'] / bare_imports['with_urls_cpu_s']:.2f}x"
    )
    print(
        f"gunicorn worker RSS, bare Django project: {bare_memory['after_sign_in_page_mib']:.0f} MiB after its sign-in page"
    )
    print(
        f"gunicorn worker RSS, Blindread: {memory['after_sign_in_page_mib']:.0f} MiB after the sign-in page, "
        f"{memory['after_report_page_mib']:.0f} MiB after the report page"
    )
    print(
        f"report page of the 4 demo surveys: first {latency['first_s'] * 1000:.0f} ms, then median "
        f"{latency['median_s'] * 1000:.0f} ms, p95 {latency['p95_s'] * 1000:.0f} ms ({args.requests} requests)"
    )


if __name__ == "__main__":
    main()
