"""A real Celery worker process on Redis, killed with SIGKILL in the middle of a generation job: a second
worker receives the same task again (acks_late + reject_on_worker_lost) and finishes the job with no slice
missing and none twice."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app
from generation.models import GenerationJob, SyntheticSlice
from generation.services import start_generation
from imaging.models import Dataset, Slice, Volume
from jobs import tasks
from jobs.models import JobStatus
from tests.conftest import stored_files
from tests.generation.factories import make_mri_dataset, register_small, small_resnet
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs the Redis broker"),
]

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(queue: str, name: str, media_root: Path, log: Path, **settings_env: str) -> subprocess.Popen:
    """A worker process of the real settings (`settings_env`: more environment, e.g. another REDIS_URL)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(media_root),
        "BLINDREAD_VAR_DIR": str(log.parent),
        # Redeliver an unacknowledged task 2 s after it was taken (production waits hours).
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "GENERATION_BATCH_SIZE": "1",
        "GENERATION_DEVICE": "cpu",
        "OMP_NUM_THREADS": "1",
        **settings_env,
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", "solo",
               "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
               "-n", f"{name}@%h", "-l", "info"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_generation_jobs_go_to_the_gpu_queue_with_late_acks(monkeypatch):
    sent = []
    monkeypatch.setattr(
        app, "send_task", lambda name, args, queue, **options: sent.append((name, args, queue))
    )
    make_mri_dataset("MRI", {("p1", "t1_in"): [0.0, 6.0]}, size=32)
    checkpoint = register_small("routed", net=small_resnet(ngf=4, n_blocks=1), input_size=32)
    job = start_generation(checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="MRI"))
    assert sent == [("jobs.run_job", ["generation.GenerationJob", job.pk], "gpu")]
    assert tasks.run_job.acks_late and tasks.run_job.reject_on_worker_lost
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_a_worker_killed_mid_job_is_replaced_and_the_job_finishes_exactly_once(media_root, tmp_path):
    make_mri_dataset("MRI", {("p1", "t1_in"): [6.0 * i for i in range(12)], ("p2", "t1_in"): [6.0 * i for i in range(12)]}, size=64)  # fmt: skip
    checkpoint = register_small("slow", net=small_resnet(ngf=16, n_blocks=3), input_size=256)
    job = start_generation(checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="MRI"), enqueue=False)
    # A queue of its own, so no other worker of the test session can take the task.
    queue = f"gpu-test-{uuid.uuid4().hex[:8]}"
    logs = (tmp_path / "worker1.log", tmp_path / "worker2.log")
    first = start_worker(queue, "first", media_root, logs[0])
    second = None
    try:
        result = tasks.run_job.apply_async((GenerationJob.label(), job.pk), queue=queue)

        def progress() -> int:
            return GenerationJob.objects.get(pk=job.pk).done

        wait_until(
            lambda: progress() >= 3, timeout_s=120, what="the first worker to make 3 slices", logs=logs[:1]
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        killed = GenerationJob.objects.get(pk=job.pk)
        assert killed.status == JobStatus.RUNNING and killed.task_id == result.id
        assert 3 <= killed.done < 24, "the worker was not killed mid-job"
        made_before = dict(Slice.objects.filter(synthesis__job=job).values_list("pk", "pixels"))
        assert len(made_before) == killed.done

        second = start_worker(queue, "second", media_root, logs[1])
        wait_until(
            lambda: GenerationJob.objects.get(pk=job.pk).status == JobStatus.DONE,
            timeout_s=180,
            what="the second worker to finish the job",
            logs=logs,
        )
    finally:
        stop(first)
        if second is not None:
            stop(second)

    job.refresh_from_db()
    assert job.task_id == result.id  # the same task, delivered again
    assert "jobs.run_job" in logs[1].read_text()
    assert (job.done, job.total, job.attempts) == (24, 24, 2)
    keys = list(SyntheticSlice.objects.filter(job=job).values_list("source_key", flat=True))
    assert len(keys) == len(set(keys)) == 24
    sources = set(Slice.objects.filter(volume__dataset__name="MRI").values_list("pk", flat=True))
    assert {int(key) for key in keys} == sources
    for output in Volume.objects.filter(dataset__kind="synthetic_ct"):
        assert sorted(output.slices.values_list("index", flat=True)) == list(range(12))
    # What the first worker committed stands unchanged; nothing it left half-written remains.
    assert dict(Slice.objects.filter(pk__in=made_before).values_list("pk", "pixels")) == made_before
    synthetic = [p for p in stored_files(media_root) if p.suffix == ".npy" and "slices" in p.parts]
    outputs = {str(v.uid) for v in Volume.objects.filter(dataset__kind="synthetic_ct")}
    assert sum(1 for p in synthetic if p.parent.name in outputs) == 24
