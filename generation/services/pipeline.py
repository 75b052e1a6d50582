"""The generation pipeline: MRI slices through the generator in batches, each batch's synthetic slices stored
through the image library in one transaction with their provenance rows.

While batch k runs on the device, batch k-1 is copied back and its pixel files are written by writer threads, and
batch k-2's rows are committed; loader threads read and normalise the next volumes. A synthetic slice is unique
per (checkpoint, source slices) and each batch commits in one transaction, so a run killed at any point and started
again finishes with no slice missing and none twice.
"""

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from django.conf import settings
from django.db import IntegrityError, transaction

from generation.models import GenerationJob, SyntheticSlice
from generation.pairing import PairGroup, SlicePair
from generation.preprocessing import normalisation_rule, normalise_volume
from generation.services.registry import GenerationError
from imaging.dicom import generated_slice_uid
from imaging.pixels import load_slice_pixels
from imaging.services import NewSlice, add_slices, discard_pixels, write_slice_pixels
from jobs.services import advance


@dataclass
class _Launched:
    volume: object  # imaging Volume
    pairs: list[SlicePair]
    indices: list[int]
    hu: torch.Tensor  # on the device, possibly still being computed


@dataclass
class _Batch:
    volume: object
    pairs: list[SlicePair]
    indices: list[int]
    futures: list[Future]


def generate_batches(
    job: GenerationJob, generator, todo_groups, output_volume, batch_size: int, report=None
) -> None:
    """Generate every pair of `todo_groups` ([(group, pairs to make)]) into its output volume
    (`output_volume(group)`), committing batch by batch."""
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
            volume = output_volume(group)
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
                    _commit(job, writing, report)
                    writing = None
                if on_device is not None:
                    writing = _write(on_device, writer, threads)
                on_device = launched
        if writing is not None:
            _commit(job, writing, report)
        if on_device is not None:
            _commit(job, _write(on_device, writer, threads), report)


def _write(launched: _Launched, writer: ThreadPoolExecutor, threads: int) -> _Batch:
    """Copy a batch's HU back from the device and start writing its files on the writer threads."""
    hu = launched.hu.cpu().numpy()
    step = -(-len(launched.indices) // threads)
    futures = [
        writer.submit(
            _write_pixels, launched.volume, launched.indices[first : first + step], hu[first : first + step]
        )
        for first in range(0, len(launched.indices), step)
    ]
    return _Batch(launched.volume, launched.pairs, launched.indices, futures)


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


def _write_pixels(volume, indices: list[int], hu: np.ndarray) -> list[str]:
    """Write one file per slice (runs in the writer thread while the next batch is computed)."""
    return [write_slice_pixels(volume, index, plane) for index, plane in zip(indices, hu, strict=True)]


def _commit(job: GenerationJob, batch: _Batch, report) -> None:
    """One batch's slices (through the image library), their provenance rows and the job's progress, in one
    transaction."""
    names = [name for future in batch.futures for name in future.result()]
    try:
        with transaction.atomic():
            slices = add_slices(
                volume=batch.volume,
                slices=[
                    NewSlice(
                        index=index,
                        z_mm=pair.primary.z_mm,
                        axial_layer=pair.primary.axial_layer,
                        pixels=name,
                        sop_instance_uid=generated_slice_uid(batch.volume.uid, index),
                    )
                    for pair, index, name in zip(batch.pairs, batch.indices, names, strict=True)
                ],
                details={"generation_job": job.pk, "checkpoint": job.checkpoint.name},
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
                        device=job.device,
                        software_version=job.software_version,
                    )
                    for pair, output in zip(batch.pairs, slices, strict=True)
                ]
            )
            advance(job, done=job.done + len(slices))
    except IntegrityError:
        # Another run committed some of these first; its rows stand. Files here are ours only if no row names them.
        discard_pixels(names)
        raise GenerationError(
            f"slices of volume {batch.volume.uid} were written by another run at the same time; run the job again"
        ) from None
    if report:
        report(job)
