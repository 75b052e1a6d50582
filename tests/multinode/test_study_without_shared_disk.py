"""A whole study with no shared disk: a web node, a CPU worker (queues interactive and default) and a "gpu" worker
(queue gpu) run as separate processes, each with its own empty local folder, sharing only PostgreSQL, Redis and the
object store. docs/api.md's scripted study drives it through the web node (import of phantom DICOM, the demo
checkpoint, generation on the gpu worker, survey, blinding audit, invitations, report); three readers answer over
HTTP through the web node; then the study is exported to an archive by a command in a process of its own and
imported into an emptied database and another folder of the store."""

import hashlib
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command

from api.services import issue_token
from benchmarks.load_readers import SimulatedReader, Timings, free_port
from config.celery import app
from generation.models import GenerationJob
from storage.backends import object_store_settings
from studies.models import Answer, Survey
from studies.services import ensure_study_groups
from tests.api.test_scripted_study import doc_script
from tests.conftest import stored_files
from tests.multinode.nodes import (
    ROOT,
    node_environment,
    start_web_node,
    start_worker_process,
    stop_process,
)
from tests.multinode.test_two_web_nodes import reader_arguments
from tests.projects.factories import make_member

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs the Redis broker"),
]


def run_command(folder: Path, environment: dict[str, str], *arguments: str) -> str:
    """manage.py in a process of its own (an admin's shell on yet another machine), with its own folder."""
    folder.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_a_study_runs_end_to_end_with_nothing_shared_but_the_database_redis_and_the_object_store(
    object_store, django_user_model, tmp_path, settings
):
    prefix = f"no-shared-disk/{uuid.uuid4().hex}"
    store = object_store.environment(prefix)
    settings.STORAGES = {**settings.STORAGES, "default": object_store_settings(store)}
    folders = {name: tmp_path / name for name in ("web", "worker", "gpu-worker", "export", "import")}
    for folder in folders.values():
        folder.mkdir()
    ensure_study_groups()
    admin = django_user_model.objects.create_user("scripter", password="pw-scripter-1")
    make_member(admin, "admin")  # the study admin of the default project, which the study's objects join
    key = issue_token(user=admin).key
    app.control.purge()

    processes, web = [], None
    readers: list[SimulatedReader] = []
    try:
        # The site's URL is the web node's own (links in invitations): its port first.
        port = free_port()
        site = f"http://127.0.0.1:{port}"
        web = start_web_node(folders["web"], node_environment(folders["web"], store, site), port=port)
        processes.append(
            start_worker_process(
                ["interactive", "default"],
                "cpu",
                folders["worker"],
                node_environment(folders["worker"], store, site),
            )
        )
        processes.append(
            start_worker_process(
                ["gpu"], "gpu", folders["gpu-worker"], node_environment(folders["gpu-worker"], store, site)
            )
        )
        script = tmp_path / "scripted_study.py"
        script.write_text(doc_script())
        out = tmp_path / "out"
        out.mkdir()
        study = subprocess.Popen(
            [sys.executable, "-u", str(script)],
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "BLINDREAD_URL": site,
                "BLINDREAD_TOKEN": key,
                "BLINDREAD_OUT": str(out),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines, threads = [], []
        for line in study.stdout:
            lines.append(line)
            if line.startswith("invitation: "):
                reader = SimulatedReader(
                    len(readers) + 1,
                    line.split(" ", 1)[1].strip(),
                    site,
                    Timings(),
                    reader_arguments(),
                    threading.Barrier(1),
                )
                readers.append(reader)
                threads.append(threading.Thread(target=reader, daemon=True))
                threads[-1].start()
        study.wait(timeout=600)
        for thread in threads:
            thread.join(timeout=120)
        output = "".join(lines)
        logs = "".join(
            (folder / "worker.log").read_text()[-3000:]
            for folder in folders.values()
            if (folder / "worker.log").exists()
        )
        assert study.returncode == 0, output + logs
    finally:
        for process in processes:
            stop_process(process)
        if web is not None:
            web.stop()

    assert [reader.run.failure for reader in readers] == ["", "", ""]
    assert "3 readers finished, 30 answers" in output
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    survey = Survey.objects.get(name__startswith="Scripted study")
    assert survey.status == "closed" and survey.items.count() == 10
    generation = GenerationJob.objects.get()
    assert generation.status == "done"
    assert "gpu@" in (folders["gpu-worker"] / "worker.log").read_text()
    payloads = {item.payload: item.payload_sha256 for item in survey.items.all()}
    answers = sorted(
        Answer.objects.filter(assignment__survey=survey).values_list("item__public_id", "choice")
    )

    # The archive: exported by a command of its own, imported into an emptied database and another folder.
    archive = tmp_path / "study.zip"
    run_command(
        folders["export"],
        node_environment(folders["export"], store, site),
        "export_study",
        survey.name,
        "--out",
        str(archive),
    )
    call_command("flush", interactive=False)
    other = f"no-shared-disk/{uuid.uuid4().hex}"
    run_command(
        folders["import"],
        node_environment(folders["import"], object_store.environment(other), site),
        "import_study",
        str(archive),
    )
    restored = Survey.objects.get(name=survey.name)
    assert restored.is_closed
    restored_answers = sorted(
        Answer.objects.filter(assignment__survey=restored).values_list("item__public_id", "choice")
    )
    assert restored_answers == answers
    settings.STORAGES = {
        **settings.STORAGES,
        "default": object_store_settings(object_store.environment(other)),
    }

    restored_payloads = set()
    for item in restored.items.all():
        with default_storage.open(item.payload, "rb") as handle:
            restored_payloads.add(hashlib.sha256(handle.read()).hexdigest())
    assert restored_payloads == set(payloads.values())
    assert any(key.startswith(f"{other}/") for key in object_store.keys(other))

    # Nothing went to any process's own disk: every file is in the object store.
    for name, folder in folders.items():
        assert stored_files(folder / "media") == [], name
