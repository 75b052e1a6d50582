"""A worker process on the object store (its own empty local folder, nothing shared but PostgreSQL, Redis and the
store) loses the store in the middle of a generation job: the job fails with one line, every synthetic slice it
recorded is whole in the store and nothing is in the store that no row names; once the store is back, a retry
finishes the job with every slice exactly once."""

import hashlib
import io
import uuid

import numpy as np
import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from benchmarks.object_store import SeaweedServer
from config.celery import app
from generation.models import GenerationJob, SyntheticSlice
from generation.services import start_generation
from imaging.models import Dataset, Slice, Volume
from jobs import tasks
from jobs.models import JobStatus
from jobs.services import retry
from storage.backends import object_store_settings
from tests.conftest import stored_files
from tests.generation.factories import make_mri_dataset, register_small, small_resnet
from tests.generation.test_killed_worker import start_worker, stop
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs the Redis broker"),
]


@pytest.fixture
def store(tmp_path, settings, media_root):
    server = SeaweedServer(tmp_path / "seaweedfs").start()
    settings.STORAGES = {**settings.STORAGES, "default": object_store_settings(server.environment("study"))}
    yield server
    server.stop()


def synthetic_keys(store) -> set[str]:
    outputs = {str(v.uid) for v in Volume.objects.filter(dataset__kind="synthetic_ct")}
    return {key.removeprefix("study/") for key in store.keys("study/slices") if key.split("/")[2] in outputs}


def test_a_worker_that_loses_the_object_store_fails_the_job_in_one_line_and_a_retry_finishes_it(
    store, tmp_path
):
    make_mri_dataset("MRI", {("p1", "t1_in"): [6.0 * i for i in range(12)], ("p2", "t1_in"): [6.0 * i for i in range(12)]}, size=64)  # fmt: skip
    checkpoint = register_small("slow", net=small_resnet(ngf=16, n_blocks=3), input_size=256)
    job = start_generation(checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="MRI"), enqueue=False)
    queue = f"gpu-test-{uuid.uuid4().hex[:8]}"
    worker_folder = tmp_path / "worker-media"
    worker_folder.mkdir()
    log = tmp_path / "worker.log"
    worker = start_worker(queue, "store-lost", worker_folder, log, **store.environment("study"))
    try:
        tasks.run_job.apply_async((GenerationJob.label(), job.pk), queue=queue)
        wait_until(
            lambda: GenerationJob.objects.get(pk=job.pk).done >= 3,
            timeout_s=120,
            what="the worker to make 3 slices",
            logs=[log],
        )
        store.stop()
        wait_until(
            lambda: GenerationJob.objects.get(pk=job.pk).status == JobStatus.FAILED,
            timeout_s=120,
            what="the job to fail",
            logs=[log],
        )
        failed = GenerationJob.objects.get(pk=job.pk)
        assert "\n" not in failed.error and len(failed.error) < 500
        assert "object store unreachable" in failed.error, failed.error
        assert 3 <= failed.done < 24, "the store was not lost mid-job"

        store.start()
        recorded = set(Slice.objects.filter(synthesis__job=job).values_list("pixels", flat=True))
        assert len(recorded) == SyntheticSlice.objects.filter(job=job).count()
        # Every recorded slice is whole in the store, and nothing is there that no row names.
        assert synthetic_keys(store) == recorded
        for name in recorded:
            with default_storage.open(name, "rb") as handle:
                assert np.load(io.BytesIO(handle.read())).shape == (256, 256)

        app.control.purge()
        retry(failed, enqueue=False)
        tasks.run_job.apply_async((GenerationJob.label(), job.pk), queue=queue)
        wait_until(
            lambda: GenerationJob.objects.get(pk=job.pk).status == JobStatus.DONE,
            timeout_s=180,
            what="the retried job to finish",
            logs=[log],
        )
    finally:
        stop(worker)

    job.refresh_from_db()
    assert (job.done, job.total) == (24, 24)
    keys = list(SyntheticSlice.objects.filter(job=job).values_list("source_key", flat=True))
    assert len(keys) == len(set(keys)) == 24
    names = set(Slice.objects.filter(synthesis__job=job).values_list("pixels", flat=True))
    assert synthetic_keys(store) == names and len(names) == 24
    digests = set()
    for name in names:
        with default_storage.open(name, "rb") as handle:
            digests.add(hashlib.sha256(handle.read()).hexdigest())
    assert len(digests) == 24
    # The worker wrote nothing to its own disk: the store is the only place its files went.
    assert stored_files(worker_folder) == []
