"""Generation through the gpu queue with a real Celery worker: the command's --wait and the admin actions."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from generation.models import GenerationJob, SyntheticSlice
from imaging.models import Dataset
from jobs.models import JobStatus
from tests.generation.factories import make_mri_dataset, register_small
from tests.waiting import finished_job

pytestmark = pytest.mark.django_db(transaction=True)

Z = [0.0, 6.0, 12.0, 18.0]


def wait_for(job_id: int, timeout_s: float = 60) -> GenerationJob:
    return finished_job(GenerationJob.objects.get(pk=job_id), timeout_s=timeout_s)


def test_generate_queues_a_task_and_wait_prints_progress_until_done(media_root, celery_worker):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z})
    register_small("queued")
    out = io.StringIO()
    call_command(
        "generate",
        "--checkpoint",
        "queued",
        "--mri-dataset",
        "MRI",
        "--wait",
        "--interval",
        "0.05",
        stdout=out,
    )
    text = out.getvalue()
    assert re.search(r"generation job #\d+ queued on the gpu queue", text)
    assert "Running: " in text or "Done: 4 synthetic slices" in text
    assert text.rstrip().endswith("Done: 4 synthetic slices in 'queued synthetic CT'")
    job = GenerationJob.objects.get()
    assert job.task_id and job.status == JobStatus.DONE
    assert SyntheticSlice.objects.count() == 4


def test_the_admin_action_starts_generation_on_the_worker(client, admin_user, media_root, celery_worker):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z})
    checkpoint = register_small("from admin")
    client.force_login(admin_user)
    chosen = client.post(
        reverse("admin:generation_checkpoint_changelist"),
        {"action": "generate_action", "_selected_action": [checkpoint.pk]},
    )
    assert chosen.status_code == 302
    page = client.get(chosen["Location"])
    assert "from admin" in page.content.decode()
    started = client.post(
        chosen["Location"],
        {"mri_dataset": Dataset.objects.get(name="MRI").pk, "output_dataset": "Admin sCT", "z_tolerance": ""},
    )
    job = GenerationJob.objects.get()
    assert started["Location"] == reverse("admin:generation_generationjob_change", args=[job.pk])
    job = wait_for(job.pk)
    assert job.status == JobStatus.DONE and job.output_dataset.name == "Admin sCT"
    assert job.created_by == admin_user


def test_the_admin_refuses_a_real_ct_dataset_as_output_in_one_line(client, admin_user, media_root):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z})
    checkpoint = register_small("x")
    Dataset.objects.create(name="Real CT", kind=Dataset.Kind.REAL_CT, contrast_enhanced=True)
    client.force_login(admin_user)
    url = reverse("admin:generation_checkpoint_generate") + f"?ids={checkpoint.pk}"
    page = client.post(url, {"mri_dataset": Dataset.objects.get(name="MRI").pk, "output_dataset": "Real CT"})
    assert (
        "x: dataset &#x27;Real CT&#x27; exists and holds Real CT, not synthetic CT" in page.content.decode()
    )
    assert GenerationJob.objects.count() == 0


def test_the_new_job_page_and_resume_action_queue_the_job(client, admin_user, media_root, celery_worker):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z[:2]})
    checkpoint = register_small("new")
    client.force_login(admin_user)
    assert client.get(reverse("admin:generation_generationjob_add"))["Location"] == reverse(
        "admin:generation_generationjob_new"
    )
    response = client.post(
        reverse("admin:generation_generationjob_new"),
        {"checkpoint": checkpoint.pk, "mri_dataset": Dataset.objects.get(name="MRI").pk},
    )
    job = wait_for(GenerationJob.objects.get().pk)
    assert response.status_code == 302 and job.done == 2
    client.post(
        reverse("admin:generation_generationjob_changelist"),
        {"action": "resume_action", "_selected_action": [job.pk]},
    )
    job = wait_for(job.pk)
    assert job.status == JobStatus.DONE and SyntheticSlice.objects.count() == 2
