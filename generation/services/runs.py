"""The generation job's runner: every synthetic slice of a job that does not exist yet, batch by batch through
the pipeline, stored through imaging's services. Running it again is harmless: it makes only the slices that are
not there yet (the pipeline is exactly-once in effect), so it also adds slices for MRI imported since.

This module loads PyTorch; only workers, commands and the demo import it (through the job's `runner` path).
"""

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage

from generation.checkpoints import Architecture, load_weights, sha256_hex
from generation.inference import GENERATORS, describe_device, resolve_device
from generation.models import Checkpoint, GenerationJob, SyntheticSlice
from generation.pairing import PairGroup, pair_slices
from generation.selectors import done_source_keys, volume_refs
from generation.services.pipeline import generate_batches
from generation.services.registry import GenerationError, software_version
from imaging import selectors as images
from imaging.constants import CT, DatasetKind
from imaging.services import VolumeHeader, create_volume, ensure_dataset, share_dataset
from jobs.services import JobOutcome, Progress, advance

UNPAIRED_KEPT = 1000  # unpaired slices listed on the job; the count covers them all


def checkpoint_architecture(checkpoint: Checkpoint) -> Architecture:
    return Architecture(kind=checkpoint.architecture, config=dict(checkpoint.architecture_config))


def load_checkpoint_weights(checkpoint: Checkpoint) -> tuple[Architecture, dict, dict]:
    """The stored weights, verified against the registered sha256 (for `GeneratorCache.get`)."""
    with default_storage.open(checkpoint.weights, "rb") as handle:
        data = handle.read()
    if sha256_hex(data) != checkpoint.sha256:
        raise GenerationError(f"stored weights of {checkpoint.name!r} do not match their registered sha256")
    return checkpoint_architecture(checkpoint), load_weights(data), checkpoint.output_fingerprint


def run_generation_job(
    job: GenerationJob,
    progress: Progress,
    *,
    device: str | None = None,
    batch_size: int | None = None,
    precision: str | None = None,
    report=None,
) -> JobOutcome:
    """The job's runner: generate every synthetic slice of the job that does not exist yet."""
    torch_device = resolve_device(device or settings.GENERATION_DEVICE)
    job = GenerationJob.objects.select_related("checkpoint", "mri_dataset").get(pk=job.pk)
    progress.job = job
    GenerationJob.objects.filter(pk=job.pk).update(
        device=describe_device(torch_device), software_version=software_version()
    )
    job.device, job.software_version = describe_device(torch_device), software_version()
    progress.phase("pairing slices")
    checkpoint = job.checkpoint
    inputs = list(checkpoint.input_modalities)
    plan = pair_slices(volume_refs(job.mri_dataset, inputs), inputs, job.z_tolerance_mm)
    done = done_source_keys(checkpoint)
    already = sum(1 for group in plan.groups for pair in group.pairs if pair.source_key in done)
    output_dataset = _ensure_output_dataset(job)
    GenerationJob.objects.filter(pk=job.pk).update(
        unpaired_count=len(plan.unpaired),
        unpaired=[item.as_dict() for item in plan.unpaired[:UNPAIRED_KEPT]],
        output_dataset=output_dataset,
        run_started_done=already,
    )
    job.output_dataset, job.run_started_done = output_dataset, already
    advance(
        job,
        done=already,
        total=plan.pair_count,
        message="generating" if plan.pair_count else "nothing to generate",
    )
    if report:
        report(job)
    todo_groups = [
        (group, [pair for pair in group.pairs if pair.source_key not in done]) for group in plan.groups
    ]
    todo_groups = [(group, todo) for group, todo in todo_groups if todo]
    if todo_groups:
        generator = GENERATORS.get(
            checkpoint.sha256,
            device=torch_device,
            precision=precision or settings.GENERATION_PRECISION,
            loader=lambda: load_checkpoint_weights(checkpoint),
        )
        generate_batches(
            job,
            generator,
            todo_groups,
            lambda group: _ensure_output_volume(job, group, output_dataset),
            batch_size or settings.GENERATION_BATCH_SIZE,
            report,
        )
    made = SyntheticSlice.objects.filter(job=job).count()
    unpaired_note = f"; {len(plan.unpaired)} MRI slice(s) had no partner" if plan.unpaired else ""
    return JobOutcome(
        message=f"{made} synthetic slices in {output_dataset.name!r}{unpaired_note}",
        result={"slices": made, "unpaired": len(plan.unpaired), "output_dataset": output_dataset.name},
    )


def _ensure_output_dataset(job: GenerationJob):
    """The job's synthetic CT dataset, used by the projects that use its checkpoint (the default project for a
    checkpoint no project uses), as the job is."""
    checkpoint = job.checkpoint
    projects = list(checkpoint.projects.order_by("pk"))
    try:
        dataset = ensure_dataset(
            name=job.output_dataset_name,
            kind=DatasetKind.SYNTHETIC_CT,
            contrast=checkpoint.contrast_enhanced,
            source=(
                f"Generated by checkpoint {checkpoint.name} (sha256 {checkpoint.sha256}) "
                f"from MRI dataset {job.mri_dataset.name}"
            ),
            details={"checkpoint": checkpoint.name},
            actor=job.created_by,
            project=projects[0] if projects else None,
        )
    except ValueError as exc:
        raise GenerationError(str(exc)) from None
    for project in projects[1:]:
        share_dataset(dataset=dataset, project=project, actor=job.created_by)
    return dataset


def _ensure_output_volume(job: GenerationJob, group: PairGroup, dataset):
    """The synthetic volume made from the group's leading MRI volume (created on its first batch)."""
    checkpoint = job.checkpoint
    series_key = f"synthetic:checkpoint-{checkpoint.pk}:{group.primary.uid}"
    volume = images.volume_by_series_key(series_key, CT)
    if volume is not None:
        return volume
    source = images.volume_by_id(group.primary.volume_id)
    size = checkpoint.input_size
    z = np.array([pair.primary.z_mm for pair in group.pairs])
    return create_volume(
        dataset=dataset,
        header=VolumeHeader(
            patient=source.patient,
            modality=CT,
            series_key=series_key,
            source_format="generated",
            source_path=(
                f"checkpoint {checkpoint.name} (sha256 {checkpoint.sha256}) from MRI volume {source.uid} "
                f"({', '.join(f'{v.modality} {v.uid}' for v in group.volumes)})"
            ),
            rows=size,
            columns=size,
            row_spacing_mm=source.row_spacing_mm * source.rows / size,
            column_spacing_mm=source.column_spacing_mm * source.columns / size,
            slice_spacing_mm=float(np.median(np.diff(z))) if len(z) > 1 else None,
            orientation=tuple(source.orientation),
            slice_count=len(group.pairs),
        ),
        verb="volume.generated",
        details={"job": job.pk, "checkpoint": checkpoint.name, "source_volume": str(source.uid)},
    )
