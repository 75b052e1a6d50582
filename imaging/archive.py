"""Imaging's part of a study archive: what an item's source slice, volume and dataset write into it, and how an
item's pixels are restored as a volume of their own on import (through imaging's services, with their audit rows).

An archive never holds a source volume: each item carries its source's description (`items.json` -> `source`) and
the pixels exactly as shown; on import those pixels (a stack's centre slice) become a one-slice CT volume in a
dataset named as the original. The declarations below say which field of each model is written and why the others
are left out (tests/archives/test_archive_format.py holds every field to them).
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from audit.archive import ArchivedFields
from imaging.models import Dataset, Slice, Volume
from imaging.selectors import dataset_named, slices_of
from imaging.services import store_volume
from imaging.volumes import VolumeData

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)

DATASETS = ArchivedFields(
    Dataset,
    "survey.json (model_dataset, real_dataset)",
    copied=("name", "kind", "contrast_enhanced"),
    left_out={
        "id": "the row's number on the exporting site",
        "source": "where the exporting site got the images; the archive holds the items as shown, not the source",
        "created_at": "when the exporting site first imported images; restored datasets are new here",
        "projects": "teams of the exporting site, which mean nothing here",
    },
)
VOLUMES = ArchivedFields(
    Volume,
    "items.json (source)",
    related={"uid": "volume_uid", "patient": "patient", "dataset": "dataset"},
    left_out={
        "id": "the row's number on the exporting site",
        "modality": "every item is CT",
        "series_key": "the source series' key on the exporting site; the restored volume has its own",
        "source_format": "the restored volume is made from the item's pixels",
        "source_path": "where the exporting site read the series",
        "rows": "the item's pixels as shown are archived, not the source matrix",
        "columns": "the item's pixels as shown are archived, not the source matrix",
        "row_spacing_mm": "the displayed pixel size is archived (mm_per_pixel)",
        "column_spacing_mm": "the displayed pixel size is archived (mm_per_pixel)",
        "slice_spacing_mm": "one slice of the volume is archived",
        "orientation": "items are axial",
        "slice_count": "one slice of the volume is archived",
        "created_at": "when the exporting site imported the series",
    },
)
SLICES = ArchivedFields(
    Slice,
    "items.json (source)",
    copied=("z_mm", "sop_instance_uid"),
    related={"id": "slice_id", "index": "slice_index", "volume": "volume_uid"},
    left_out={
        "axial_layer": "the item's own axial layer (when it was selected) is archived",
        "pixels": "the storage name on the exporting site; the pixels as shown are archived",
    },
)
ARCHIVED = (DATASETS, VOLUMES, SLICES)


def dataset_description(dataset: Dataset) -> dict:
    return DATASETS.dump(dataset)


@dataclass(frozen=True)
class SliceSource:
    """What an archive says of an item's source slice, and the side of its volume's field of view (mm)."""

    description: dict
    field_of_view_mm: float


def slice_sources(slice_ids: Iterable[int]) -> dict[int, SliceSource]:
    """The source of each slice, by slice id."""
    rows = Slice.objects.filter(pk__in=list(slice_ids)).select_related("volume__dataset")
    return {
        row.pk: SliceSource(
            description={
                "dataset": row.volume.dataset.name,
                "volume_uid": str(row.volume.uid),
                "patient": row.volume.patient,
                "slice_id": row.pk,
                "slice_index": row.index,
                **SLICES.dump(row),
            },
            field_of_view_mm=max(
                row.volume.rows * row.volume.row_spacing_mm, row.volume.columns * row.volume.column_spacing_mm
            ),
        )
        for row in rows
    }


def free_dataset_name(name: str, *, suffix: str) -> str:
    """`name`, or `name [suffix]` when a dataset of that name exists here (shortened to fit a dataset's name)."""
    return name if dataset_named(name) is None else f"{name[: 125 - len(suffix)]} [{suffix}]"


def restore_item_slice(
    *,
    dataset_name: str,
    synthetic: bool,
    contrast: bool | None,
    patient: str,
    series_key: str,
    source_path: str,
    pixels: np.ndarray,
    z_mm: float,
    mm_per_pixel: float,
    actor=None,
    project=None,
) -> Slice:
    """An archived item's pixels (one 2-D HU image) as a one-slice CT volume of `dataset_name` (created on first
    use, for ``project``: the default project when none is named), stored through imaging's services with their
    audit rows; its one slice."""
    volume = store_volume(
        dataset_name=dataset_name,
        kind="sct" if synthetic else "ct",
        contrast=contrast,
        data=VolumeData(
            patient=patient,
            modality="ct",
            series_key=series_key,
            source_format="dicom",
            source_path=source_path,
            pixels=pixels.astype(np.int16)[np.newaxis],
            z_mm=np.array([float(z_mm)]),
            row_spacing_mm=float(mm_per_pixel),
            column_spacing_mm=float(mm_per_pixel),
            orientation=AXIAL,
        ),
        actor=actor,
        project=project,
    )
    return slices_of(volume)[0]
