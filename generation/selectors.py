"""Reads for generation: checkpoints, MRI volumes as pairing input, jobs and previews."""

from dataclasses import dataclass

from django.db.models import Count

from generation.models import Checkpoint, GenerationJob, SyntheticSlice
from generation.pairing import SliceRef, VolumeRef
from imaging import selectors as images
from projects.selectors import visible_to


def checkpoint_by_name(name: str) -> Checkpoint | None:
    return Checkpoint.objects.filter(name=name).first()


def checkpoints(user):
    """The checkpoints used by the projects where ``user`` is a researcher or more, by name (a queryset)."""
    return visible_to(Checkpoint.objects.all(), user, through="projects").order_by("name")


def volume_refs(dataset, modalities: list[str]) -> list[VolumeRef]:
    """The dataset's volumes of the given modalities with their slices, ready for `pair_slices`."""
    volumes = images.volumes_of(dataset, modalities=modalities)
    slices = images.volume_slices(volume.pk for volume in volumes)
    return [
        VolumeRef(
            volume_id=volume.pk,
            patient=volume.patient,
            modality=volume.modality,
            slices=tuple(SliceRef(s.slice_id, s.index, s.z_mm, s.pixels, s.layer) for s in slices[volume.pk]),
            rows=volume.rows,
            columns=volume.columns,
            uid=str(volume.uid),
        )
        for volume in volumes
    ]


def done_source_keys(checkpoint: Checkpoint) -> set[str]:
    return set(SyntheticSlice.objects.filter(checkpoint=checkpoint).values_list("source_key", flat=True))


def jobs_with_counts(user):
    """The generation jobs ``user`` sees (GenerationJob.visible_to), with their synthetic slice counts."""
    return (
        GenerationJob.visible_to(user)
        .select_related("checkpoint", "mri_dataset", "output_dataset")
        .annotate(synthetic_count=Count("synthetic_slices"))
    )


def output_volumes(jobs) -> list:
    """The synthetic volumes the jobs made, by patient."""
    ids = SyntheticSlice.objects.filter(job__in=list(jobs)).values_list("output_id", flat=True)
    return images.volumes_with_slices(ids)


@dataclass(frozen=True)
class PreviewRow:
    synthetic: object  # the synthetic slice (imaging Slice)
    sources: list  # its MRI source slices, in input order


def job_preview(job: GenerationJob, *, limit: int = 24) -> list[PreviewRow]:
    """Up to `limit` synthetic slices of the job, spread evenly over what was made, with their MRI inputs."""
    made = list(
        SyntheticSlice.objects.filter(job=job)
        # A slice's own ordering: dataset, patient, modality, volume, index.
        .order_by("output")
        .values_list("pk", flat=True)
    )
    if not made:
        return []
    step = max(len(made) / limit, 1.0)
    chosen = sorted({made[int(i * step)] for i in range(min(limit, len(made)))})
    records = list(SyntheticSlice.objects.filter(pk__in=chosen))
    slices = images.slices_by_ids(
        {record.output_id for record in records} | {i for record in records for i in record.source_slice_ids}
    )
    rows = [
        PreviewRow(slices[record.output_id], [slices[i] for i in record.source_slice_ids if i in slices])
        for record in records
    ]
    return sorted(
        rows, key=lambda row: (row.synthetic.volume.patient, row.synthetic.volume_id, row.synthetic.index)
    )


@dataclass(frozen=True)
class Derivation:
    """One synthetic slice and what made it: the checkpoint (and the dataset it wrote), its MRI source slices in
    input order (with their modalities, the checkpoint's input modalities)."""

    checkpoint: str
    input_modalities: tuple[str, ...]
    output_dataset_id: int
    output_slice_id: int
    source_slice_ids: tuple[int, ...]


def derivations_into(datasets) -> list[Derivation]:
    """Every synthetic slice generated into ``datasets`` (synthetic CT datasets; an imported one has none), with
    its sources, by checkpoint and output slice."""
    rows = (
        SyntheticSlice.objects.filter(job__output_dataset__in=list(datasets))
        .order_by("checkpoint__name", "output_id")
        .values_list(
            "checkpoint__name",
            "checkpoint__input_modalities",
            "job__output_dataset_id",
            "output_id",
            "source_slice_ids",
        )
    )
    return [
        Derivation(name, tuple(modalities), dataset_id, output_id, tuple(sources))
        for name, modalities, dataset_id, output_id, sources in rows
    ]
