"""Generation jobs: checkpoint x MRI dataset -> synthetic CT dataset, one job per pair, on the `gpu` queue.

`start_generation` creates (or reopens) the job and queues it; its runner, `generation.services.runs.
run_generation_job`, is loaded only where a job runs (a worker, a command, the demo), so that web processes that
start jobs never import PyTorch.
"""

from django.db import transaction

from generation.models import Checkpoint, GenerationJob
from generation.services.registry import GenerationError
from imaging import selectors as images
from imaging.constants import DatasetKind
from jobs.services import execute, queue_job, reopen


def default_output_name(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.name} synthetic CT"[:128]


def start_generation(
    *,
    checkpoint: Checkpoint,
    mri_dataset,
    output_dataset_name: str | None = None,
    z_tolerance_mm: float | None = None,
    actor=None,
    enqueue: bool = True,
) -> GenerationJob:
    """Create (or reopen) the job for checkpoint x MRI dataset and queue it on the `gpu` queue.

    Idempotent: the same request again returns the same job; a finished job is reopened and its run skips
    every slice already made (so it only adds slices for MRI imported since).
    """
    if mri_dataset.kind != DatasetKind.MRI:
        raise GenerationError(f"dataset {mri_dataset.name!r} holds {mri_dataset.get_kind_display()}, not MRI")
    if z_tolerance_mm is not None and not z_tolerance_mm > 0:
        raise GenerationError(f"the z tolerance must be positive, not {z_tolerance_mm}")
    with transaction.atomic():
        job = (
            GenerationJob.objects.select_for_update()
            .filter(checkpoint=checkpoint, mri_dataset=mri_dataset)
            .first()
        )
        name = (
            output_dataset_name or (job.output_dataset_name if job else default_output_name(checkpoint))
        ).strip()
        if job is not None and name != job.output_dataset_name:
            raise GenerationError(
                f"checkpoint {checkpoint.name!r} on {mri_dataset.name!r} already writes to {job.output_dataset_name!r}"
            )
        _check_output_dataset(name, checkpoint)
        if job is None:
            return queue_job(
                GenerationJob,
                actor=actor,
                enqueue=enqueue,
                details={"checkpoint": checkpoint.name, "mri_dataset": mri_dataset.name, "output": name},
                checkpoint=checkpoint,
                mri_dataset=mri_dataset,
                output_dataset_name=name,
                z_tolerance_mm=z_tolerance_mm,
            )
        if job.is_running and not job.is_stale:
            return job
        if z_tolerance_mm is not None and z_tolerance_mm != job.z_tolerance_mm:
            GenerationJob.objects.filter(pk=job.pk).update(z_tolerance_mm=z_tolerance_mm)
        return reopen(job, actor=actor, enqueue=enqueue)


def _check_output_dataset(name: str, checkpoint: Checkpoint) -> None:
    """One synthetic dataset holds one model's output: refuse a name another checkpoint (or an import) uses."""
    if not name or len(name) > 128:
        raise GenerationError("the synthetic dataset needs a name of 1 to 128 characters")
    if GenerationJob.objects.filter(output_dataset_name=name).exclude(checkpoint=checkpoint).exists():
        raise GenerationError(f"dataset {name!r} already holds another model's synthetic CT")
    existing = images.dataset_named(name)
    if existing is None:
        return
    if existing.kind != DatasetKind.SYNTHETIC_CT:
        raise GenerationError(
            f"dataset {name!r} exists and holds {existing.get_kind_display()}, not synthetic CT"
        )
    if images.has_volumes(existing) and not GenerationJob.objects.filter(output_dataset_name=name).exists():
        raise GenerationError(f"dataset {name!r} already holds another model's synthetic CT")


def generate_now(job: GenerationJob, **options) -> GenerationJob | None:
    """Run the job in this process (a command, the demo, a test); None when another live run holds it.

    `options`: device, batch_size, precision, report (called with the job after each committed batch)."""
    status = execute(GenerationJob.label(), job.pk, **options)
    return None if status == "skipped" else GenerationJob.objects.get(pk=job.pk)
