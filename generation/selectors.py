"""Reads for generation: checkpoints, MRI volumes as pairing input, job progress and previews."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from generation.models import Checkpoint, GenerationJob, SyntheticSlice
from generation.pairing import SliceRef, VolumeRef
from imaging.models import Dataset, Slice, Volume


def checkpoint_by_name(name: str) -> Checkpoint | None:
    return Checkpoint.objects.filter(name=name).first()


def dataset_by_name(name: str) -> Dataset | None:
    return Dataset.objects.filter(name=name).first()


def volume_refs(dataset: Dataset, modalities: list[str]) -> list[VolumeRef]:
    """The dataset's volumes of the given modalities with their slices, ready for `pair_slices`."""
    volumes = list(
        Volume.objects.filter(dataset=dataset, modality__in=modalities).order_by("patient", "modality", "id")
    )
    slices_by_volume: dict[int, list[SliceRef]] = {volume.pk: [] for volume in volumes}
    rows = (
        Slice.objects.filter(volume__in=volumes)
        .order_by("volume_id", "index")
        .values_list("volume_id", "id", "index", "z_mm", "pixels", "axial_layer")
    )
    for volume_id, slice_id, index, z_mm, pixels, layer in rows:
        slices_by_volume[volume_id].append(SliceRef(slice_id, index, z_mm, pixels, layer))
    return [
        VolumeRef(
            volume_id=volume.pk,
            patient=volume.patient,
            modality=volume.modality,
            slices=tuple(slices_by_volume[volume.pk]),
            rows=volume.rows,
            columns=volume.columns,
            uid=str(volume.uid),
        )
        for volume in volumes
    ]


def done_source_keys(checkpoint: Checkpoint) -> set[str]:
    return set(SyntheticSlice.objects.filter(checkpoint=checkpoint).values_list("source_key", flat=True))


@dataclass(frozen=True)
class JobProgress:
    done: int
    total: int
    slices_per_second: float | None
    eta: timedelta | None

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    def line(self) -> str:
        rate = f", {self.slices_per_second:.1f} slices/s" if self.slices_per_second else ""
        eta = f", ETA {format_duration(self.eta)}" if self.eta is not None else ""
        return f"{self.done}/{self.total} slices ({self.percent:.0f}%){rate}{eta}"


def format_duration(duration: timedelta) -> str:
    seconds = max(int(round(duration.total_seconds())), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def job_progress(job: GenerationJob, *, now=None) -> JobProgress:
    """Done/total and, while running, the rate of the current run and the time left at that rate."""
    rate = eta = None
    if job.status == GenerationJob.Status.RUNNING and job.run_started_at:
        elapsed = ((now or timezone.now()) - job.run_started_at).total_seconds()
        made = job.slices_done - job.run_started_done
        if elapsed > 0 and made > 0:
            rate = made / elapsed
            eta = timedelta(seconds=(job.slices_total - job.slices_done) / rate)
    return JobProgress(job.slices_done, job.slices_total, rate, eta)


def jobs_with_counts():
    return GenerationJob.objects.select_related("checkpoint", "mri_dataset", "output_dataset").annotate(
        synthetic_count=Count("synthetic_slices")
    )


@dataclass(frozen=True)
class PreviewRow:
    synthetic: Slice
    sources: list[Slice]


def job_preview(job: GenerationJob, *, limit: int = 24) -> list[PreviewRow]:
    """Up to `limit` synthetic slices of the job, spread evenly over what was made, with their MRI inputs."""
    made = list(
        SyntheticSlice.objects.filter(job=job)
        .order_by("output__volume__patient", "output__volume_id", "output__index")
        .values_list("pk", flat=True)
    )
    if not made:
        return []
    step = max(len(made) / limit, 1.0)
    chosen = sorted({made[int(i * step)] for i in range(min(limit, len(made)))})
    records = SyntheticSlice.objects.filter(pk__in=chosen).select_related("output__volume")
    source_ids = {slice_id for record in records for slice_id in record.source_slice_ids}
    sources = Slice.objects.select_related("volume").in_bulk(source_ids)
    rows = [
        PreviewRow(record.output, [sources[i] for i in record.source_slice_ids if i in sources])
        for record in records
    ]
    return sorted(
        rows, key=lambda row: (row.synthetic.volume.patient, row.synthetic.volume_id, row.synthetic.index)
    )
