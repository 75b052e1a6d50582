"""Reads of the image library: the one door through which other apps find datasets, volumes and slices.

Other apps never query imaging's models themselves: they call these (and write through `imaging.services`).
"""

import uuid
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, Q

from imaging.constants import CT, DatasetKind
from imaging.models import Dataset, ImportJob, Slice, Volume
from projects.selectors import visible_to

# --- Datasets -------------------------------------------------------------------------------------------------


def dataset_named(name: str, kind: str | None = None, *, user=None) -> Dataset | None:
    """The dataset of that name (of that kind, when given; one ``user`` sees, when given), or None."""
    found = (Dataset.objects.all() if user is None else datasets_visible_to(user)).filter(name=name)
    if kind is not None:
        found = found.filter(kind=kind)
    return found.first()


def dataset_names(kind: str, *, user=None) -> list[str]:
    """The names of the datasets of ``kind`` (those ``user`` sees, when given)."""
    found = Dataset.objects.all() if user is None else datasets_visible_to(user)
    return list(found.filter(kind=kind).order_by("name").values_list("name", flat=True))


def datasets_of_kind(kind: str, *, contrast_enhanced: bool | None = None, names: Sequence[str] | None = None):
    """Datasets of one kind by name (a queryset: forms take it as their choices)."""
    found = Dataset.objects.filter(kind=kind)
    if contrast_enhanced is not None:
        found = found.filter(contrast_enhanced=contrast_enhanced)
    if names is not None:
        found = found.filter(name__in=list(names))
    return found.order_by("name")


def models_named(names: Sequence[str], user):
    """The synthetic CT datasets (models) with these names that ``user`` sees (a queryset)."""
    return (
        datasets_visible_to(user).filter(kind=DatasetKind.SYNTHETIC_CT, name__in=list(names)).order_by("name")
    )


def datasets_by_ids(ids: Iterable[int]) -> list[Dataset]:
    return list(Dataset.objects.filter(pk__in=list(ids)).order_by("name"))


def datasets_visible_to(user):
    """The datasets used by the projects where ``user`` is a researcher or more (all for a site superuser)."""
    return visible_to(Dataset.objects.all(), user, through="projects")


def datasets_with_counts(user):
    return datasets_visible_to(user).annotate(volume_count=Count("volumes", distinct=True)).order_by("name")


def dataset_by_id(pk: int) -> Dataset | None:
    return Dataset.objects.filter(pk=pk).first()


def dataset_names_by_id(ids: Iterable[int]) -> dict[int, str]:
    """Dataset names by id (for rows of other apps that hold a dataset's id)."""
    return dict(Dataset.objects.filter(pk__in=set(ids)).values_list("pk", "name"))


def dataset_name_contains(relation: str, text: str) -> Q:
    """A condition on another app's rows: the dataset their `relation` points to has `text` in its name
    (case-insensitive)."""
    return Q(**{f"{relation}__name__icontains": text})


def has_volumes(dataset: Dataset) -> bool:
    return Volume.objects.filter(dataset=dataset).exists()


def volume_count(dataset: Dataset) -> int:
    return Volume.objects.filter(dataset=dataset).count()


def slice_count(dataset: Dataset, *, modalities: Sequence[str] | None = None) -> int:
    found = Slice.objects.filter(volume__dataset=dataset)
    if modalities is not None:
        found = found.filter(volume__modality__in=list(modalities))
    return found.count()


def fields_of_view_mm(dataset: Dataset) -> list[float]:
    """The field of view of each CT volume of the dataset: its longer side in mm."""
    rows = Volume.objects.filter(dataset=dataset, modality=CT).values_list(
        "rows", "columns", "row_spacing_mm", "column_spacing_mm"
    )
    return [max(r * row_mm, c * column_mm) for r, c, row_mm, column_mm in rows]


def ct_pixel_spacings_mm(dataset: Dataset) -> dict[str, tuple[float, float]]:
    """The (row, column) pixel spacing in mm of each CT volume of the dataset, by volume uid."""
    rows = Volume.objects.filter(dataset=dataset, modality=CT).values_list(
        "uid", "row_spacing_mm", "column_spacing_mm"
    )
    return {str(uid): (row_mm, column_mm) for uid, row_mm, column_mm in rows}


# --- Volumes ----------------------------------------------------------------------------------------------------


def volume_by_reference(reference: str) -> Volume | None:
    """A volume by its uid or, failing that, by its series key: the SeriesInstanceUID it was stored under, or the
    original one it had before de-identification; None if none matches."""
    try:
        return Volume.objects.get(uid=uuid.UUID(reference))
    except (ValueError, Volume.DoesNotExist):
        pass
    from imaging.dicom.deidentify import Deidentifier  # pydicom: web processes rarely need it

    deidentified = Deidentifier(key=settings.PSEUDONYM_KEY.encode("utf-8")).uid(reference)
    matches = list(Volume.objects.filter(series_key__in=[reference, deidentified])[:2])
    return matches[0] if len(matches) == 1 else None


def volume_by_id(pk: int) -> Volume:
    return Volume.objects.get(pk=pk)


def volumes_with_datasets(user):
    """Every volume of the datasets ``user`` sees, with its dataset (a queryset, for lists that filter and page
    it)."""
    return (
        visible_to(Volume.objects.all(), user, through="dataset__projects")
        .select_related("dataset")
        .order_by("dataset__name", "patient", "modality", "id")
    )


def volume_by_series_key(series_key: str, modality: str) -> Volume | None:
    return Volume.objects.filter(series_key=series_key, modality=modality).first()


def volumes_of(dataset: Dataset, *, modalities: Sequence[str] | None = None) -> list[Volume]:
    """The dataset's volumes (of the given modalities), by patient, modality and creation."""
    found = Volume.objects.filter(dataset=dataset).select_related("dataset")
    if modalities is not None:
        found = found.filter(modality__in=list(modalities))
    return list(found.order_by("patient", "modality", "id"))


def volumes_with_slices(slice_ids: Iterable[int]) -> list[Volume]:
    """The volumes the given slices belong to, by patient."""
    return list(
        Volume.objects.filter(slices__in=list(slice_ids))
        .distinct()
        .select_related("dataset")
        .order_by("patient", "id")
    )


# --- Import jobs ----------------------------------------------------------------------------------------------


def import_jobs(user):
    """The import jobs ``user`` sees (ImportJob.visible_to), newest first (a queryset)."""
    return ImportJob.visible_to(user).order_by("-created_at", "-id")


# --- Slices -----------------------------------------------------------------------------------------------------


class StoredSlice(NamedTuple):
    """A slice in storage as other apps need it: its id and pixels' storage name, its axial layer and index, and
    the volume it belongs to (patient, uid, the stable series key and modality, the matrix)."""

    slice_id: int
    pixels: str
    layer: int | None
    index: int
    patient: str
    volume: str  # the volume's uid
    volume_key: str  # "<series key>/<modality>": stable across databases
    rows: int
    columns: int
    z_mm: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.columns


_STORED_FIELDS = (
    "id",
    "pixels",
    "axial_layer",
    "index",
    "volume__patient",
    "volume__uid",
    "volume__series_key",
    "volume__modality",
    "volume__rows",
    "volume__columns",
    "z_mm",
)


def _stored(rows) -> list[StoredSlice]:
    return [
        StoredSlice(pk, pixels, layer, index, patient, str(uid), f"{key}/{modality}", r, c, z)
        for pk, pixels, layer, index, patient, uid, key, modality, r, c, z in rows
    ]


def layered_ct_slices(dataset: Dataset) -> list[StoredSlice]:
    """Every CT slice of the dataset that has an axial layer, in patient, volume and slice order."""
    rows = (
        Slice.objects.filter(volume__dataset=dataset, volume__modality=CT, axial_layer__isnull=False)
        .order_by("volume__patient", "volume_id", "index")
        .values_list(*_STORED_FIELDS)
    )
    return _stored(rows)


def ct_slice_indices(dataset: Dataset) -> dict[str, set[int]]:
    """The indices of every slice of each CT volume of the dataset, by volume key ("<series key>/<modality>", as
    :class:`StoredSlice`), layered or not: where an item's neighbouring slices can come from."""
    found: dict[str, set[int]] = {}
    rows = Slice.objects.filter(volume__dataset=dataset, volume__modality=CT).values_list(
        "volume__series_key", "volume__modality", "index"
    )
    for key, modality, index in rows:
        found.setdefault(f"{key}/{modality}", set()).add(index)
    return found


def ct_slice_z(dataset: Dataset) -> dict[str, list[float]]:
    """The z (mm) of every slice of each CT volume of the dataset, in index (patient) order, by volume key
    ("<series key>/<modality>", as :class:`StoredSlice`): where a slab around an item can come from."""
    found: dict[str, list[float]] = {}
    rows = (
        Slice.objects.filter(volume__dataset=dataset, volume__modality=CT)
        .order_by("volume_id", "index")
        .values_list("volume__series_key", "volume__modality", "z_mm")
    )
    for key, modality, z_mm in rows:
        found.setdefault(f"{key}/{modality}", []).append(z_mm)
    return found


def slices_in_z_range(slice_: Slice, low_mm: float, high_mm: float) -> list[Slice]:
    """The slices of `slice_`'s volume whose z lies in low_mm..high_mm, in index order, with their volume."""
    return list(
        Slice.objects.filter(volume_id=slice_.volume_id, z_mm__range=(low_mm, high_mm))
        .select_related("volume")
        .order_by("index")
    )


def neighbouring_slices(slice_: Slice, k: int) -> list[Slice]:
    """The slices of `slice_`'s volume from index - k to index + k, in index order, with their volume (fewer when
    the volume has no slice at some of those indices)."""
    return list(
        Slice.objects.filter(volume_id=slice_.volume_id, index__range=(slice_.index - k, slice_.index + k))
        .select_related("volume")
        .order_by("index")
    )


def volume_slices(volume_ids: Iterable[int]) -> dict[int, list[StoredSlice]]:
    """The slices of each given volume, in index order, by volume id."""
    found: dict[int, list[StoredSlice]] = {pk: [] for pk in volume_ids}
    rows = Slice.objects.filter(volume_id__in=list(found)).order_by("volume_id", "index")
    for volume_id, *fields in rows.values_list("volume_id", *_STORED_FIELDS):
        found[volume_id].extend(_stored([fields]))
    return found


def slices_by_ids(ids: Iterable[int]) -> dict[int, Slice]:
    """Slices (with their volumes) by id."""
    return Slice.objects.select_related("volume").in_bulk(list(ids))


def slice_uids(ids: Iterable[int]) -> dict[int, str]:
    """SOP instance UIDs of slices, by id."""
    return dict(Slice.objects.filter(pk__in=list(ids)).values_list("pk", "sop_instance_uid"))


def slices_of(volume: Volume) -> list[Slice]:
    return list(volume.slices.order_by("index"))


def slices_of_items(slice_ids: Iterable[int]) -> list[Slice]:
    """The slices with these ids, with their volumes (what a survey shows)."""
    return list(Slice.objects.filter(pk__in=list(slice_ids)).select_related("volume"))


def with_their_slices(rows, relation: str = "slice"):
    """Another app's rows (a queryset) with the slice each points to by `relation`, that slice's volume and the
    volume's dataset, fetched in the same query. Other apps never name imaging's relations themselves: this is the
    join they need, kept beside imaging's tables."""
    return rows.select_related(f"{relation}__volume__dataset")


def by_layer(slices: Iterable[StoredSlice]) -> dict[int, list[StoredSlice]]:
    grouped: dict[int, list[StoredSlice]] = {}
    for stored in slices:
        grouped.setdefault(stored.layer, []).append(stored)
    return grouped
