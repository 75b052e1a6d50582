"""The workers of one machine (jobs.workers, what `make run` starts): what people wait for goes to a worker of its
own, so a blinding audit runs at once while machine observer CNNs keep the other worker busy."""

import os
import time

import pytest
from django.conf import settings

from imaging.models import Dataset, ImportJob
from jobs import workers
from jobs.models import JobStatus
from metrics.models import MachineObserverJob
from metrics.services import start_machine_observer
from reports.models import ReportJob
from studies.models import BlindingAudit
from studies.policy import DisplayPolicy
from studies.services import create_survey, request_blinding_audit
from studies.survey_input import SurveyInput
from tests.generation.test_killed_worker import database_url
from tests.metrics.factories import make_ct_dataset
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_queue_a_job_goes_to_has_a_worker_group_and_interactive_work_has_its_own():
    groups = dict(workers.WORKER_GROUPS)
    assert groups["interactive"] == ("interactive",)
    consumed = {queue for queues in groups.values() for queue in queues}
    assert consumed == set(workers.QUEUES) == {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert (ImportJob.queue, BlindingAudit.queue, ReportJob.queue) == ("interactive",) * 3
    command = workers.worker_command("interactive", groups["interactive"])
    assert command[command.index("-Q") + 1] == "interactive" and "solo" in command


def test_a_blinding_audit_runs_while_cnn_observers_keep_the_other_worker_busy(
    own_broker, media_root, tmp_path, settings
):
    real = make_ct_dataset(
        "Real CT", patients=4, layers=[1, 2], slices_per_layer=4, seed=1, patient_prefix="P"
    )
    model = make_ct_dataset(
        "Model", kind=Dataset.Kind.SYNTHETIC_CT, patients=4, layers=[1, 2], slices_per_layer=4, seed=2,
        patient_prefix="P",
    )  # fmt: skip
    survey = create_survey(
        options=SurveyInput(
            name="Audited while busy",
            model=model.name,
            real_dataset=real.name,
            real=4,
            synthetic=4,
            seed=1,
            display_policy=DisplayPolicy(matrix_size=32, field_of_view_mm=24.0),
        )
    ).survey

    log = tmp_path / "workers.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": own_broker.url,
        "MEDIA_ROOT": str(media_root),
        "BLINDREAD_VAR_DIR": str(tmp_path),
        "OMP_NUM_THREADS": "1",
    }
    processes = workers.start_workers(env=env, cwd=settings.BASE_DIR, loglevel="info", stdout=log.open("w"))
    try:
        # Two CNN observers with far more steps than the test lasts: the main worker runs one, the other waits.
        cnn_jobs = [
            start_machine_observer(
                model_name=model.name,
                real_dataset_name=real.name,
                classifiers=["cnn"],
                cnn_steps=1_000_000,
                seed=seed,
                policy=DisplayPolicy(matrix_size=32, field_of_view_mm=24.0),
            )[0]
            for seed in (0, 1)
        ]
        wait_until(
            lambda: MachineObserverJob.objects.filter(status=JobStatus.RUNNING).exists(),
            timeout_s=120,
            what="a CNN observer to start on the main worker",
            logs=[log],
        )
        audit = request_blinding_audit(survey=survey, actor=None)
        asked = time.monotonic()
        wait_until(
            lambda: BlindingAudit.objects.get(pk=audit.pk).is_finished,
            timeout_s=120,
            what="the blinding audit to finish",
            logs=[log],
        )
        waited = time.monotonic() - asked
        audit.refresh_from_db()
        assert audit.status == JobStatus.DONE and audit.passed, audit.error
        # It did not wait behind the observers: both are unfinished, one still running, one still queued.
        observers = MachineObserverJob.objects.filter(pk__in=[job.pk for job in cnn_jobs])
        assert sorted(observers.values_list("status", flat=True)) == [JobStatus.QUEUED, JobStatus.RUNNING]
        started = (audit.started_at - audit.created_at).total_seconds()
        print(f"blinding audit started {started:.1f} s and finished {waited:.1f} s after it was asked for")
    finally:
        workers.stop_workers(processes, timeout_s=0)
