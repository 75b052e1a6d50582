"""Whole CT volumes for the measures of realism along z (workers only: it loads the pixels of every slice)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from imaging import selectors as images
from imaging.constants import CT
from imaging.pixels import load_slice_pixels
from imaging.selectors import StoredSlice
from metrics.measures.zconsistency import MIN_SLICES, VolumeGrid, resample_volume


class WholeVolume(NamedTuple):
    """A CT volume of a dataset as the z-consistency measure reads it: its unit of the held-out split and its
    spacings (slice spacing from the slices' z when the volume does not say it)."""

    volume_id: int
    patient: str
    uid: str
    slices: list[StoredSlice]
    slice_mm: float
    row_mm: float
    column_mm: float


def whole_volumes(dataset) -> list[WholeVolume]:
    """The dataset's CT volumes with at least ``MIN_SLICES`` slices and a slice spacing."""
    volumes = images.volumes_of(dataset, modalities=[CT])
    slices = images.volume_slices(volume.pk for volume in volumes)
    found = []
    for volume in volumes:
        stored = slices[volume.pk]
        if len(stored) < MIN_SLICES:
            continue
        spacing = volume.slice_spacing_mm or float(np.median(np.abs(np.diff([s.z_mm for s in stored]))))
        if not spacing or spacing <= 0:
            continue
        found.append(
            WholeVolume(
                volume.pk,
                volume.patient,
                str(volume.uid),
                stored,
                float(spacing),
                float(volume.row_spacing_mm),
                float(volume.column_spacing_mm),
            )
        )
    return found


def on_grid(volume: WholeVolume, grid: VolumeGrid) -> np.ndarray:
    """The volume's HU, read from storage and resampled to ``grid`` (float32)."""
    hu = np.stack([load_slice_pixels(stored.pixels) for stored in volume.slices])
    return resample_volume(
        hu, slice_mm=volume.slice_mm, row_mm=volume.row_mm, column_mm=volume.column_mm, grid=grid
    )


def grid_index(volume: WholeVolume, index: int, grid: VolumeGrid) -> int:
    """Where slice ``index`` of the volume (its position in ``volume.slices``) lies on ``grid`` along z."""
    factor = volume.slice_mm / grid.slice_mm
    return int(round((index + 0.5) * factor - 0.5))
