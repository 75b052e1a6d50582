"""Writes for generation: registering checkpoints, starting and running generation jobs.

Every write runs in one transaction with its audit row. Generation is exactly-once in effect: a synthetic
slice is unique per (checkpoint, source slices), each batch of slices is committed in one transaction, and a
run skips what is already there, so a run killed at any point and started again finishes with no slice
missing and none twice.
"""

import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import torch
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit.services import record_event
from generation.checkpoints import (
    Architecture,
    CheckpointRefused,
    load_weights,
    prepare_checkpoint,
    sha256_hex,
)
from generation.inference import GENERATORS, describe_device, resolve_device
from generation.models import Checkpoint, GenerationJob, SyntheticSlice
from generation.pairing import PairGroup, SlicePair, pair_slices
from generation.preprocessing import HU_RANGE_DEFAULT, check_hu_range, normalisation_rule, normalise_volume
from generation.selectors import done_source_keys, job_progress, volume_refs
from imaging.dicom import generated_slice_uid
from imaging.models import Dataset, Modality, Slice, Volume
from imaging.pixels import delete_stored_files, load_slice_pixels, save_slice_pixels, slice_storage_name

MRI_MODALITIES = (Modality.T1_IN.value, Modality.T1_OUT.value, Modality.T2.value)
UNPAIRED_KEPT = 1000  # unpaired slices listed on the job; the count covers them all


class GenerationError(ValueError):
    """A generation request that cannot be served; the message is one line saying why."""


def software_version() -> str:
    try:
        blindread = version("blindread")
    except PackageNotFoundError:
        blindread = "unknown"
    return f"blindread {blindread}, torch {torch.__version__}"


# --- Checkpoint registry -------------------------------------------------------------------------------------


def parse_inputs(text: str | list[str]) -> list[str]:
    """'t1_in,t1_out' -> ['t1_in', 't1_out']; CheckpointRefused (one line) for unknown or repeated names."""
    names = [part.strip() for part in text.split(",")] if isinstance(text, str) else [str(p) for p in text]
    names = [name for name in names if name]
    if not names:
        raise CheckpointRefused(f"--inputs needs one to three of {', '.join(MRI_MODALITIES)}")
    for name in names:
        if name not in MRI_MODALITIES:
            raise CheckpointRefused(f"unknown input modality {name!r}; use {', '.join(MRI_MODALITIES)}")
    if len(set(names)) != len(names):
        raise CheckpointRefused(f"input modalities repeat: {','.join(names)}")
    return names


def weights_storage_name(sha256: str) -> str:
    return f"checkpoints/{sha256}.safetensors"


def register_checkpoint(
    *,
    name: str,
    data: bytes,
    inputs: str | list[str],
    contrast: bool,
    hu_range: tuple[int, int] = HU_RANGE_DEFAULT,
    arch: str = "auto",
    normalisation: str = "percentile_0_5_99_5",
    input_size: int = 256,
    provenance: dict | None = None,
    actor=None,
) -> Checkpoint:
    """Check a generator file against what is declared about it and store it; CheckpointRefused otherwise.

    Nothing is stored unless every check passes: weights as safetensors (storage name by sha256), and the
    Checkpoint row with its audit row in one transaction.
    """
    name = (name or "").strip()
    if not name:
        raise CheckpointRefused("a checkpoint name is required")
    if len(name) > 128:
        raise CheckpointRefused(f"the checkpoint name is {len(name)} characters long; at most 128")
    if Checkpoint.objects.filter(name=name).exists():
        raise CheckpointRefused(f"a checkpoint named {name!r} is already registered")
    modalities = parse_inputs(inputs)
    if not isinstance(contrast, bool):
        raise CheckpointRefused(
            "say whether the CT it imitates is contrast-enhanced (--contrast or --no-contrast)"
        )
    try:
        check_hu_range(*hu_range)
        normalisation_rule(normalisation)
    except (TypeError, ValueError) as exc:
        raise CheckpointRefused(str(exc)) from None
    limit = settings.GENERATION_CHECKPOINT_MAX_BYTES
    if len(data) > limit:
        raise CheckpointRefused(f"the file is {len(data)} bytes, more than the {limit} bytes allowed")
    prepared = prepare_checkpoint(data, inputs=modalities, arch=arch, input_size=input_size)
    storage_name = weights_storage_name(prepared.sha256)
    wrote = False
    try:
        if not default_storage.exists(storage_name):
            saved = default_storage.save(storage_name, ContentFile(prepared.weights))
            wrote = True
            if saved != storage_name:  # a concurrent registration of the same weights got there first
                default_storage.delete(saved)
                wrote = False
        with transaction.atomic():
            checkpoint = Checkpoint.objects.create(
                name=name,
                architecture=prepared.architecture.kind,
                architecture_config=prepared.architecture.config,
                input_modalities=modalities,
                normalisation=normalisation,
                input_size=input_size,
                hu_min=int(hu_range[0]),
                hu_max=int(hu_range[1]),
                contrast_enhanced=contrast,
                weights=storage_name,
                sha256=prepared.sha256,
                parameter_count=prepared.parameter_count,
                output_fingerprint=prepared.fingerprint,
                provenance={
                    **(provenance or {}),
                    "source_format": prepared.source_format,
                    "source_sha256": prepared.source_sha256,
                    "load_notes": prepared.notes,
                    "registered_with": software_version(),
                },
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
            record_event(
                actor=actor,
                verb="checkpoint.registered",
                target=checkpoint,
                details={
                    "name": name,
                    "sha256": prepared.sha256,
                    "architecture": prepared.architecture.describe(),
                    "inputs": modalities,
                },
            )
    except IntegrityError:
        if wrote and not Checkpoint.objects.filter(sha256=prepared.sha256).exists():
            default_storage.delete(storage_name)
        raise CheckpointRefused(f"a checkpoint named {name!r} is already registered") from None
    except BaseException:
        if wrote and not Checkpoint.objects.filter(sha256=prepared.sha256).exists():
            default_storage.delete(storage_name)
        raise
    return checkpoint


def checkpoint_architecture(checkpoint: Checkpoint) -> Architecture:
    return Architecture(kind=checkpoint.architecture, config=dict(checkpoint.architecture_config))


def load_checkpoint_weights(checkpoint: Checkpoint) -> tuple[Architecture, dict, dict]:
    """The stored weights, verified against the registered sha256 (for `GeneratorCache.get`)."""
    with default_storage.open(checkpoint.weights, "rb") as handle:
        data = handle.read()
    if sha256_hex(data) != checkpoint.sha256:
        raise GenerationError(f"stored weights of {checkpoint.name!r} do not match their registered sha256")
    return checkpoint_architecture(checkpoint), load_weights(data), checkpoint.output_fingerprint


# --- Starting a job ------------------------------------------------------------------------------------------


def default_output_name(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.name} synthetic CT"[:128]


def start_generation(
    *,
    checkpoint: Checkpoint,
    mri_dataset: Dataset,
    output_dataset_name: str | None = None,
    z_tolerance_mm: float | None = None,
    actor=None,
    enqueue: bool = True,
) -> GenerationJob:
    """Create (or reopen) the job for checkpoint x MRI dataset and queue it on the `gpu` queue.

    Idempotent: the same request again returns the same job; a finished job is reopened and its run skips
    every slice already made (so it only adds slices for MRI imported since).
    """
    if mri_dataset.kind != Dataset.Kind.MRI:
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
            job = GenerationJob.objects.create(
                checkpoint=checkpoint,
                mri_dataset=mri_dataset,
                output_dataset_name=name,
                z_tolerance_mm=z_tolerance_mm,
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
            record_event(
                actor=actor,
                verb="generation.queued",
                target=job,
                details={"checkpoint": checkpoint.name, "mri_dataset": mri_dataset.name, "output": name},
            )
        elif job.status == GenerationJob.Status.RUNNING and not _is_stale(job):
            return job
        else:
            if z_tolerance_mm is not None:
                job.z_tolerance_mm = z_tolerance_mm
            job.status = GenerationJob.Status.QUEUED
            job.message = ""
            job.finished_at = None
            job.save(update_fields=["status", "message", "finished_at", "z_tolerance_mm"])
            record_event(actor=actor, verb="generation.requeued", target=job, details={})
        if enqueue:
            from generation import tasks

            job_id = job.pk
            transaction.on_commit(lambda: tasks.run_generation_job.delay(job_id))
    return job


def _check_output_dataset(name: str, checkpoint: Checkpoint) -> None:
    """One synthetic dataset holds one model's output: refuse a name another checkpoint (or an import) uses."""
    if not name or len(name) > 128:
        raise GenerationError("the synthetic dataset needs a name of 1 to 128 characters")
    if GenerationJob.objects.filter(output_dataset_name=name).exclude(checkpoint=checkpoint).exists():
        raise GenerationError(f"dataset {name!r} already holds another model's synthetic CT")
    existing = Dataset.objects.filter(name=name).first()
    if existing is None:
        return
    if existing.kind != Dataset.Kind.SYNTHETIC_CT:
        raise GenerationError(
            f"dataset {name!r} exists and holds {existing.get_kind_display()}, not synthetic CT"
        )
    if existing.volumes.exists() and not GenerationJob.objects.filter(output_dataset_name=name).exists():
        raise GenerationError(f"dataset {name!r} already holds another model's synthetic CT")


def _is_stale(job: GenerationJob) -> bool:
    if job.heartbeat_at is None:
        return True
    return timezone.now() - job.heartbeat_at > timedelta(seconds=settings.GENERATION_STALE_AFTER_S)


# --- Running a job -------------------------------------------------------------------------------------------


@dataclass
class _Batch:
    volume: Volume
    pairs: list[SlicePair]
    indices: list[int]
    names: list[str]
    futures: list[Future]


ProgressCallback = Callable[[GenerationJob], None]


def _claim(job_id: int, task_id: str, device_label: str) -> GenerationJob | None:
    """Mark the job running for this run; None if another live run holds it."""
    with transaction.atomic():
        job = (
            GenerationJob.objects.select_for_update()
            .select_related("checkpoint", "mri_dataset")
            .get(pk=job_id)
        )
        if job.status == GenerationJob.Status.RUNNING and job.task_id != task_id and not _is_stale(job):
            return None
        now = timezone.now()
        job.status = GenerationJob.Status.RUNNING
        job.task_id = task_id
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.run_started_at = now
        job.finished_at = None
        job.device = device_label
        job.software_version = software_version()
        job.message = "pairing slices"
        job.save()
        record_event(
            actor=None,
            verb="generation.started",
            target=job,
            details={"task": task_id, "device": device_label},
        )
    return job


def run_generation_job(
    job_id: int,
    *,
    task_id: str = "",
    device: str | None = None,
    batch_size: int | None = None,
    precision: str | None = None,
    progress: ProgressCallback | None = None,
) -> GenerationJob | None:
    """Generate every synthetic slice of the job that does not exist yet (called by the worker, or directly).

    Returns the finished job, or None when another live run of the same job holds it.
    """
    torch_device = resolve_device(device or settings.GENERATION_DEVICE)
    job = _claim(job_id, task_id or f"local-{os.getpid()}", describe_device(torch_device))
    if job is None:
        return None
    try:
        _run(
            job,
            torch_device,
            batch_size or settings.GENERATION_BATCH_SIZE,
            precision or settings.GENERATION_PRECISION,
            progress,
        )
    except Exception as exc:
        _finish(job, GenerationJob.Status.FAILED, _one_line(exc))
        raise
    return GenerationJob.objects.get(pk=job.pk)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text}"[:500] if not isinstance(exc, GenerationError) else text[:500]


def _run(job: GenerationJob, device: torch.device, batch_size: int, precision: str, progress) -> None:
    checkpoint = job.checkpoint
    inputs = list(checkpoint.input_modalities)
    plan = pair_slices(volume_refs(job.mri_dataset, inputs), inputs, job.z_tolerance_mm)
    done = done_source_keys(checkpoint)
    already = sum(1 for group in plan.groups for pair in group.pairs if pair.source_key in done)
    output_dataset = _ensure_output_dataset(job)
    GenerationJob.objects.filter(pk=job.pk).update(
        slices_total=plan.pair_count,
        slices_done=already,
        run_started_done=already,
        unpaired_count=len(plan.unpaired),
        unpaired=[item.as_dict() for item in plan.unpaired[:UNPAIRED_KEPT]],
        output_dataset=output_dataset,
        message="generating" if plan.pair_count else "nothing to generate",
    )
    job.refresh_from_db()
    if progress:
        progress(job)
    todo_groups = [
        (group, [pair for pair in group.pairs if pair.source_key not in done]) for group in plan.groups
    ]
    todo_groups = [(group, todo) for group, todo in todo_groups if todo]
    if todo_groups:
        generator = GENERATORS.get(
            checkpoint.sha256,
            device=device,
            precision=precision,
            loader=lambda: load_checkpoint_weights(checkpoint),
        )
        _generate(job, generator, todo_groups, output_dataset, batch_size, progress)
    made = SyntheticSlice.objects.filter(job=job).count()
    unpaired_note = f"; {len(plan.unpaired)} MRI slice(s) had no partner" if plan.unpaired else ""
    _finish(
        job, GenerationJob.Status.DONE, f"{made} synthetic slices in {output_dataset.name!r}{unpaired_note}"
    )


def _generate(job, generator, todo_groups, output_dataset, batch_size: int, progress) -> None:
    """Batches through the generator in a pipeline that keeps the device busy.

    While batch k runs on the device, batch k-1 is copied back and its files are written by the writer
    threads, and batch k-2's rows are committed; the loader threads read and normalise the next volumes.
    """
    checkpoint = job.checkpoint
    rule = normalisation_rule(checkpoint.normalisation)
    threads = max(1, settings.GENERATION_IO_THREADS)
    with (
        ThreadPoolExecutor(threads, thread_name_prefix="mri-loader") as loader,
        ThreadPoolExecutor(threads, thread_name_prefix="slice-writer") as writer,
    ):
        loads = [loader.submit(_load_group, group, rule) for group, _ in todo_groups[:threads]]
        on_device: _Launched | None = None
        writing: _Batch | None = None
        for position, (group, todo) in enumerate(todo_groups):
            normalised = loads[position].result()
            loads[position] = None  # let the volume's arrays go once its batches are made
            if position + threads < len(todo_groups):
                loads.append(loader.submit(_load_group, todo_groups[position + threads][0], rule))
            volume = _ensure_output_volume(job, group, output_dataset)
            index_of = {pair.source_key: index for index, pair in enumerate(group.pairs)}
            rows = [{s.slice_id: row for row, s in enumerate(v.slices)} for v in group.volumes]
            for start in range(0, len(todo), batch_size):
                pairs = todo[start : start + batch_size]
                inputs = [
                    torch.from_numpy(
                        normalised[channel][[rows[channel][p.slices[channel].slice_id] for p in pairs]]
                    )
                    for channel in range(len(group.volumes))
                ]
                launched = _Launched(
                    volume,
                    pairs,
                    [index_of[p.source_key] for p in pairs],
                    generator.launch(
                        inputs, size=checkpoint.input_size, hu_min=checkpoint.hu_min, hu_max=checkpoint.hu_max
                    ),
                )
                if writing is not None:
                    _commit(job, writing, progress)
                    writing = None
                if on_device is not None:
                    writing = _write(on_device, writer, threads)
                on_device = launched
        if writing is not None:
            _commit(job, writing, progress)
        if on_device is not None:
            _commit(job, _write(on_device, writer, threads), progress)


@dataclass
class _Launched:
    volume: Volume
    pairs: list[SlicePair]
    indices: list[int]
    hu: torch.Tensor  # on the device, possibly still being computed


def _write(launched: _Launched, writer: ThreadPoolExecutor, threads: int) -> "_Batch":
    """Copy a batch's HU back from the device and start writing its files on the writer threads."""
    hu = launched.hu.cpu().numpy()
    names = [slice_storage_name(launched.volume.uid, index) for index in launched.indices]
    step = -(-len(names) // threads)
    futures = [
        writer.submit(_write_pixels, names[first : first + step], hu[first : first + step])
        for first in range(0, len(names), step)
    ]
    return _Batch(launched.volume, launched.pairs, launched.indices, names, futures)


def _load_group(group: PairGroup, rule) -> list[np.ndarray]:
    """Pixels of each source volume of the group, normalised per volume (runs in the loader thread)."""
    arrays = []
    for volume in group.volumes:
        planes = [load_slice_pixels(s.pixels) for s in volume.slices]
        shapes = {plane.shape for plane in planes}
        if len(shapes) != 1:
            raise GenerationError(f"volume {volume.uid} has slices of different sizes {sorted(shapes)}")
        arrays.append(normalise_volume(np.stack(planes), rule))
    return arrays


def _write_pixels(names: list[str], hu: np.ndarray) -> list[str]:
    """Write one .npy per slice (runs in the writer thread while the next batch is computed).

    A file left at the same name by a run killed before its commit is replaced: no row refers to it.
    """
    written = []
    for name, plane in zip(names, hu, strict=True):
        if default_storage.exists(name):
            default_storage.delete(name)
        written.append(save_slice_pixels(name, plane))
    return written


def _commit(job: GenerationJob, batch: _Batch, progress) -> None:
    """Rows of one batch, the job's progress and the audit row in one transaction."""
    names = [name for future in batch.futures for name in future.result()]
    device, software = job.device, job.software_version
    try:
        with transaction.atomic():
            slices = Slice.objects.bulk_create(
                [
                    Slice(
                        volume=batch.volume,
                        index=index,
                        z_mm=pair.primary.z_mm,
                        axial_layer=pair.primary.axial_layer,
                        pixels=name,
                        sop_instance_uid=generated_slice_uid(batch.volume.uid, index),
                    )
                    for pair, index, name in zip(batch.pairs, batch.indices, names, strict=True)
                ]
            )
            SyntheticSlice.objects.bulk_create(
                [
                    SyntheticSlice(
                        checkpoint_id=job.checkpoint_id,
                        job=job,
                        source_key=pair.source_key,
                        source_slice_ids=[s.slice_id for s in pair.slices],
                        primary_source_id=pair.primary.slice_id,
                        output=output,
                        device=device,
                        software_version=software,
                    )
                    for pair, output in zip(batch.pairs, slices, strict=True)
                ]
            )
            GenerationJob.objects.filter(pk=job.pk).update(
                slices_done=F("slices_done") + len(slices), heartbeat_at=timezone.now()
            )
            record_event(
                actor=None,
                verb="generation.slices_written",
                target=job,
                details={
                    "volume": str(batch.volume.uid),
                    "indices": [batch.indices[0], batch.indices[-1]],
                    "count": len(slices),
                },
            )
    except IntegrityError:
        # Another run committed some of these first; its rows stand. Files here are ours only if no row names them.
        taken = set(Slice.objects.filter(pixels__in=names).values_list("pixels", flat=True))
        delete_stored_files([name for name in names if name not in taken])
        raise GenerationError(
            f"slices of volume {batch.volume.uid} were written by another run at the same time; run the job again"
        ) from None
    if progress:
        job.refresh_from_db()
        progress(job)


def _ensure_output_dataset(job: GenerationJob) -> Dataset:
    checkpoint = job.checkpoint
    with transaction.atomic():
        dataset, created = Dataset.objects.get_or_create(
            name=job.output_dataset_name,
            defaults={
                "kind": Dataset.Kind.SYNTHETIC_CT,
                "contrast_enhanced": checkpoint.contrast_enhanced,
                "source": (
                    f"Generated by checkpoint {checkpoint.name} (sha256 {checkpoint.sha256}) "
                    f"from MRI dataset {job.mri_dataset.name}"
                ),
            },
        )
        if dataset.kind != Dataset.Kind.SYNTHETIC_CT:
            raise GenerationError(
                f"dataset {dataset.name!r} holds {dataset.get_kind_display()}, not synthetic CT"
            )
        if created:
            record_event(
                actor=None,
                verb="dataset.created",
                target=dataset,
                details={"kind": dataset.kind, "checkpoint": checkpoint.name},
            )
    return dataset


def _ensure_output_volume(job: GenerationJob, group: PairGroup, dataset: Dataset) -> Volume:
    """The synthetic volume made from the group's leading MRI volume (created on its first batch)."""
    checkpoint = job.checkpoint
    series_key = f"synthetic:checkpoint-{checkpoint.pk}:{group.primary.uid}"
    volume = Volume.objects.filter(series_key=series_key, modality=Modality.CT).first()
    if volume is not None:
        return volume
    source = Volume.objects.get(pk=group.primary.volume_id)
    size = checkpoint.input_size
    z = np.array([pair.primary.z_mm for pair in group.pairs])
    with transaction.atomic():
        volume = Volume.objects.create(
            dataset=dataset,
            patient=source.patient,
            modality=Modality.CT,
            series_key=series_key,
            source_format=Volume.SourceFormat.GENERATED,
            source_path=(
                f"checkpoint {checkpoint.name} (sha256 {checkpoint.sha256}) from MRI volume {source.uid} "
                f"({', '.join(f'{v.modality} {v.uid}' for v in group.volumes)})"
            ),
            rows=size,
            columns=size,
            row_spacing_mm=source.row_spacing_mm * source.rows / size,
            column_spacing_mm=source.column_spacing_mm * source.columns / size,
            slice_spacing_mm=float(np.median(np.diff(z))) if len(z) > 1 else None,
            orientation=source.orientation,
            slice_count=len(group.pairs),
        )
        record_event(
            actor=None,
            verb="volume.generated",
            target=volume,
            details={"job": job.pk, "checkpoint": checkpoint.name, "source_volume": str(source.uid)},
        )
    return volume


def _finish(job: GenerationJob, status: str, message: str) -> None:
    with transaction.atomic():
        GenerationJob.objects.filter(pk=job.pk).update(
            status=status, message=message, finished_at=timezone.now(), heartbeat_at=timezone.now()
        )
        job.refresh_from_db()
        record_event(
            actor=None, verb="generation.finished", target=job, details={"status": status, "message": message}
        )


def wait_for_job(
    job: GenerationJob,
    *,
    report: Callable[[str], None],
    interval_s: float = 1.0,
    timeout_s: float | None = None,
) -> GenerationJob:
    """Poll the job until it is finished, reporting progress lines; returns the finished job."""
    started = time.monotonic()
    last_line = None
    while True:
        job.refresh_from_db()
        if job.status == GenerationJob.Status.QUEUED:
            line = "queued: waiting for a worker on the gpu queue"
        else:
            line = f"{job.get_status_display()}: {job_progress(job).line()}"
        if line != last_line:
            report(line)
            last_line = line
        if job.is_finished:
            return job
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise GenerationError(f"job #{job.pk} not finished after {timeout_s:.0f} s")
        time.sleep(interval_s)
