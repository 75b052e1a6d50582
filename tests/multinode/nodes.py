"""Web nodes (gunicorn) and nginx in front of them, started by the tests on free loopback ports: each node its
own local folder (BLINDREAD_VAR_DIR, MEDIA_ROOT, cache), the test's database, Redis and object store shared."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from benchmarks.load_readers import free_port, start_gunicorn, wait_until_up
from tests.generation.test_killed_worker import database_url

ROOT = Path(__file__).resolve().parents[2]
NGINX = Path("/usr/sbin/nginx")
SECRET_KEY = "multinode-test-secret-key-the-same-on-every-node-0123456789"


def node_environment(folder: Path, store_environment: dict[str, str], site_url: str) -> dict[str, str]:
    """The environment of one node: the real settings, its own folders, the shared services."""
    (folder / "var" / "staticfiles").mkdir(parents=True, exist_ok=True)
    (folder / "media").mkdir(exist_ok=True)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "SECRET_KEY": SECRET_KEY,
        "BLINDREAD_VAR_DIR": str(folder / "var"),
        "MEDIA_ROOT": str(folder / "media"),
        "STUDIES_SITE_URL": site_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        **store_environment,
    }


@dataclass
class WebNode:
    port: int
    folder: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_web_node(folder: Path, environment: dict[str, str], *, port: int | None = None) -> WebNode:
    """gunicorn (one worker, four threads) on `port` (default: a free one)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = start_gunicorn(port, 1, 4, environment, folder)
    node = WebNode(port, folder, process)
    wait_until_up(node.url, process)
    return node


class Nginx:
    """Debian's nginx as a round-robin load balancer over `upstreams` (host:port), its log naming the upstream
    that served each request."""

    def __init__(self, folder: Path, upstreams: list[str], *, port: int | None = None):
        self.folder = folder
        self.port = port or free_port()
        folder.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {upstream};" for upstream in upstreams)
        self.access_log = folder / "access.log"
        (folder / "nginx.conf").write_text(
            f"""user root;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    log_format upstream '$request_method $uri $status $upstream_addr';
    upstream web {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        access_log {self.access_log} upstream;
        location / {{
            proxy_pass http://web;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_next_upstream off;
        }}
    }}
}}
"""
        )
        self.process = subprocess.Popen(
            [str(NGINX), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "stderr.log").open("w"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/login/", timeout=5).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"nginx did not start: {(folder / 'stderr.log').read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)
        self.access_log.write_text("")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def served(self) -> list[tuple[str, str, str, str]]:
        """(method, path, status, upstream) of every request since start-up."""
        pattern = re.compile(r"^(\S+) (\S+) (\d+) (\S+)$")
        return [m.groups() for m in map(pattern.match, self.access_log.read_text().splitlines()) if m]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_worker_process(queues: list[str], name: str, folder: Path, environment: dict[str, str]):
    """A Celery worker process (solo pool) of the real settings for `queues`, its log in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {**environment, "GENERATION_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(queues),
               "--pool", "solo", "--concurrency", "1", "--without-gossip", "--without-mingle",
               "--without-heartbeat", "-n", f"{name}@%h", "-l", "info"]  # fmt: skip
    log = (folder / "worker.log").open("w")
    return subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
