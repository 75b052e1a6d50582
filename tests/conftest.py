import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    """Each test gets an empty storage folder, so tests can count what a call left behind."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker (celery.contrib.testing) consuming both queues from the configured broker."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from config.celery import app
    from jobs.workers import QUEUES

    def close_worker_connections(**kwargs):
        # The worker thread's connections must not sit in a transaction between tasks.
        connections.close_all()

    task_postrun.connect(close_worker_connections, weak=False)
    with django_db_blocker.unblock():
        app.control.purge()
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            queues=list(QUEUES),
            shutdown_timeout=30,
        ) as worker:
            yield worker


@pytest.fixture
def admin_user(db, django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.org", "pw-admin-123")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Let the in-thread worker go idle before teardown flushes the database.

    A task still writing when a transactional test ends holds locks that deadlock the flush's TRUNCATE.
    """
    try:
        return (yield)
    finally:
        if "celery_worker" in item.fixturenames:
            from celery.worker import state

            deadline = time.monotonic() + 30
            while (state.active_requests or state.reserved_requests) and time.monotonic() < deadline:
                time.sleep(0.05)


def pytest_report_header(config):
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"blindread: database {engine}, broker {settings.CELERY_BROKER_URL.split('://')[0]}"


@pytest.fixture
def jobs_inline(monkeypatch, django_capture_on_commit_callbacks):
    """Jobs queued inside the block run at once in this process when their transaction commits, as a worker
    would run them (for tests that are not about the queue itself)."""
    from contextlib import contextmanager

    from jobs import services

    monkeypatch.setattr(services, "_send", lambda label, pk, queue: services.execute(label, pk))

    @contextmanager
    def running():
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            yield callbacks

    return running


@pytest.fixture(scope="session")
def object_store(tmp_path_factory):
    """A real S3-compatible object store (SeaweedFS) on free loopback ports for the whole run."""
    from benchmarks.object_store import SeaweedServer

    try:
        server = SeaweedServer(tmp_path_factory.mktemp("seaweedfs")).start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


@dataclass
class StorageUnderTest:
    """The backend a test runs on ("local" or "s3") and the names of what it holds now."""

    kind: str
    list_names: object

    def names(self) -> list[str]:
        return self.list_names()


@pytest.fixture(params=["local", "s3"])
def storage_backend(request, settings, media_root, tmp_path):
    """The test runs twice: on the local folder, and on the object store (an empty folder of the bucket of its
    own, chosen through settings.STORAGES as a deployment chooses it)."""
    from storage.backends import object_store_settings

    settings.STORAGE_CACHE_DIR = str(tmp_path / "cache")
    if request.param == "local":
        yield StorageUnderTest(
            "local", lambda: [p.relative_to(media_root).as_posix() for p in stored_files(media_root)]
        )
        return
    server = request.getfixturevalue("object_store")
    prefix = f"tests/{uuid.uuid4().hex}"
    settings.STORAGES = {**settings.STORAGES, "default": object_store_settings(server.environment(prefix))}
    yield StorageUnderTest("s3", lambda: [key.removeprefix(f"{prefix}/") for key in server.keys(prefix)])
