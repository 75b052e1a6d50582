"""Faults survived: the Celery broker (Redis, without persistence) is down. A job queued before it stopped lost its
message with it; one queued while it was down could not be sent (the queueing call returns at once, no error).
A real worker started once Redis is back sends both again (its start-up sweep, jobs.sweeper) and runs each
exactly once; a further duplicate message is a no-op. The test runs a Redis of its own on PORT."""

import logging
import time
import uuid

import pytest
from django.conf import settings

from audit.models import AuditEvent
from generation.models import GenerationJob, SyntheticSlice
from generation.services import start_generation
from imaging.models import Dataset, Slice, Volume
from jobs.models import JobStatus
from tests.generation.factories import make_mri_dataset, register_small
from tests.generation.test_killed_worker import start_worker, stop
from tests.jobs.broker import OwnBroker
from tests.waiting import wait_until

PORT = 6391
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs the Redis broker"),
]


def events(job, verb: str) -> int:
    return AuditEvent.objects.filter(
        object_type="generation.generationjob", object_id=str(job.pk), verb=f"generation.{verb}"
    ).count()


def test_jobs_queued_before_and_while_the_broker_is_down_run_once_when_it_is_back(
    media_root, tmp_path, caplog
):
    make_mri_dataset("MRI", {("p1", "t1_in"): [0.0, 6.0, 12.0]})
    sources = Slice.objects.filter(volume__dataset__name="MRI").count()
    mri = Dataset.objects.get(name="MRI")
    first_checkpoint, second_checkpoint = register_small("before"), register_small("during")
    broker = OwnBroker(PORT)
    broker.start()
    log = tmp_path / "worker.log"
    worker = None
    try:
        with broker.current() as app:
            before = start_generation(checkpoint=first_checkpoint, mri_dataset=mri)
            assert broker.waiting("gpu") == 1  # its message is in Redis, and no worker runs yet

            broker.stop()  # no persistence: the message is lost
            with caplog.at_level(logging.WARNING, logger="jobs.services"):
                started = time.monotonic()
                during = start_generation(checkpoint=second_checkpoint, mri_dataset=mri)
                queueing_s = time.monotonic() - started
            assert queueing_s < 5, f"queueing took {queueing_s:.1f} s with the broker down"
            assert f"job generation.GenerationJob #{during.pk} queued; broker unreachable" in caplog.text
            during.refresh_from_db()
            assert during.status == JobStatus.QUEUED and during.send_failed

            broker.start()
            assert broker.waiting("gpu") == 0
            # Redis is back; a worker starts (its sweep sends both again: one failed, one sent 2 s ago).
            wait_until(
                lambda: (time.time() - before.sent_at.timestamp()) > 2, timeout_s=10, what="2 s to pass"
            )
            worker = start_worker(
                "gpu",
                f"sweeper-{uuid.uuid4().hex[:6]}",
                media_root,
                log,
                REDIS_URL=broker.url,
                JOBS_RESEND_AFTER_S="2",
                JOBS_RESEND_EVERY_S="1",
            )
            jobs = (before, during)

            def both_done():
                return all(GenerationJob.objects.get(pk=j.pk).status == JobStatus.DONE for j in jobs)

            wait_until(both_done, timeout_s=180, what="both jobs to finish", logs=[log])

            # One more copy of a finished job's message: the worker takes it and skips it.
            app.send_task(
                "jobs.run_job", args=[GenerationJob.label(), before.pk], queue="gpu", ignore_result=True
            )
            wait_until(lambda: broker.waiting("gpu") == 0, timeout_s=30, what="the duplicate to be taken")
            wait_until(
                lambda: "'skipped'" in log.read_text(), timeout_s=30, what="the duplicate skipped", logs=[log]
            )
    finally:
        if worker is not None:
            stop(worker)
        broker.stop()

    text = log.read_text()
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.DONE, 1)
        assert (events(job, "started"), events(job, "finished")) == (1, 1)
        assert events(job, "resent") >= 1
        assert f"job generation.GenerationJob #{job.pk} (queued) sent again to the gpu queue" in text
        keys = list(SyntheticSlice.objects.filter(job=job).values_list("source_key", flat=True))
        assert len(keys) == len(set(keys)) == sources
        output = Volume.objects.get(dataset__name=job.output_dataset_name)
        assert sorted(output.slices.values_list("index", flat=True)) == list(range(sources))
