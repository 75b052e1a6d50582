"""Slab reading: a slab of fixed physical size from one volume, resampled onto one grid. Pure NumPy (and the display
pipeline of studies.rendering), no Django.

A slab of thickness T mm at slice spacing s mm is n = T / s + 1 axial planes (T / s a whole, even number, so n is
odd and the item's own slice is the middle one) at the patient z positions ``centre + (i - (n - 1) / 2) * s``,
i = 0..n-1, inferior first (the order of a volume's slices, index 0 the most inferior). The first and the last plane
are T mm apart. Every plane is interpolated along z from the two source slices around it (linear: weighted by the
distance; nearest: the closer one), then drawn by the display pipeline in-plane under the centre plane's geometry
(the survey's field of view, centred on the body of the centre plane), so every slab of a survey, real or
synthetic, is (n, matrix, matrix) int16 at the same mm per pixel and the same z spacing.

A volume can give a slab around one of its slices only when its slices reach T / 2 mm on both sides of that slice
and no two neighbouring slices inside the slab are further apart than ``MAX_GAP_FACTOR`` times the volume's median
slice spacing (a volume with missing slices would otherwise be bridged by a long interpolation that real volumes do
not have).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from studies.policy import DisplayPolicy
from studies.rendering import DisplayGeometry, render_under
from studies.sampling import Candidate, room_gaps

Z_INTERPOLATIONS = ("linear", "nearest")
SLAB_Z_INTERPOLATION = "linear"  # the one every slab of every survey is resampled with along z
MAX_GAP_FACTOR = 1.5
Z_TOLERANCE_MM = 1e-6
VIEWS = ("axial", "coronal", "sagittal")


class SlabOutOfVolume(ValueError):
    """A slab its volume cannot give (it leaves the volume, or spans missing slices); one line."""


@dataclass(frozen=True)
class SlabGrid:
    """The z grid every slab of a survey is resampled onto."""

    thickness_mm: float
    spacing_mm: float

    @property
    def slices(self) -> int:
        return round(self.thickness_mm / self.spacing_mm) + 1

    @property
    def offsets_mm(self) -> np.ndarray:
        """Each plane's z offset from the centre, inferior first."""
        half = (self.slices - 1) // 2
        return np.arange(-half, half + 1, dtype=np.float64) * self.spacing_mm

    def positions(self, centre_z_mm: float) -> np.ndarray:
        return centre_z_mm + self.offsets_mm


@dataclass(frozen=True)
class ViewGeometry:
    """The shape of one view of a slab and the mm one displayed pixel covers along its rows and columns."""

    view: str
    rows: int
    columns: int
    row_mm: float
    column_mm: float


def view_geometries(grid: SlabGrid, policy: DisplayPolicy) -> tuple[ViewGeometry, ...]:
    """The axial, coronal and sagittal views of every slab under the grid and the policy (one survey-wide field of
    view): axial matrix x matrix; coronal and sagittal n x matrix, a row per plane (superior at the top)."""
    mm = float(policy.mm_per_pixel)
    matrix = policy.matrix_size
    return (
        ViewGeometry("axial", matrix, matrix, mm, mm),
        ViewGeometry("coronal", grid.slices, matrix, grid.spacing_mm, mm),
        ViewGeometry("sagittal", grid.slices, matrix, grid.spacing_mm, mm),
    )


def reformat(slab: np.ndarray, view: str, index: int) -> np.ndarray:
    """One plane of a (n, rows, columns) slab as its view shows it: axial plane `index`; the coronal plane through
    row `index` or the sagittal plane through column `index`, each with the most superior plane at the top."""
    if view == "axial":
        return slab[index]
    if view == "coronal":
        return slab[::-1, index, :]
    if view == "sagittal":
        return slab[::-1, :, index]
    raise ValueError(f"unknown view {view!r} (one of {', '.join(VIEWS)})")


def _sorted_z(z_mm: Sequence[float]) -> np.ndarray:
    z = np.asarray(z_mm, dtype=np.float64)
    if z.ndim != 1 or z.size < 2:
        raise SlabOutOfVolume("a slab needs a volume of at least two slices")
    if np.any(np.diff(z) <= 0):
        raise SlabOutOfVolume("the volume's slices must be in patient order, inferior first, without repeats")
    return z


def median_spacing_mm(z_mm: Sequence[float]) -> float:
    return float(np.median(np.diff(_sorted_z(z_mm))))


def check_room(z_mm: Sequence[float], centre_z_mm: float, grid: SlabGrid) -> None:
    """Raise SlabOutOfVolume (one line) unless the volume's slices at `z_mm` can give the slab around `centre_z_mm`."""
    z = _sorted_z(z_mm)
    low, high = centre_z_mm - grid.thickness_mm / 2, centre_z_mm + grid.thickness_mm / 2
    if low < z[0] - Z_TOLERANCE_MM or high > z[-1] + Z_TOLERANCE_MM:
        raise SlabOutOfVolume(
            f"a {grid.thickness_mm:g} mm slab around z {centre_z_mm:g} mm reaches {low:g}..{high:g} mm; "
            f"the volume covers {z[0]:g}..{z[-1]:g} mm"
        )
    inside = np.flatnonzero((z >= low - Z_TOLERANCE_MM) & (z <= high + Z_TOLERANCE_MM))
    first, last = max(int(inside[0]) - 1, 0), min(int(inside[-1]) + 1, z.size - 1)
    gaps = np.diff(z[first : last + 1])
    limit = MAX_GAP_FACTOR * median_spacing_mm(z)
    if gaps.size and gaps.max() > limit + Z_TOLERANCE_MM:
        raise SlabOutOfVolume(
            f"the volume has a gap of {gaps.max():g} mm inside the slab around z {centre_z_mm:g} mm "
            f"(more than {MAX_GAP_FACTOR:g} x its slice spacing)"
        )


def has_room(z_mm: Sequence[float], centre_z_mm: float, grid: SlabGrid) -> bool:
    try:
        check_room(z_mm, centre_z_mm, grid)
    except SlabOutOfVolume:
        return False
    return True


def z_weights(z_mm: Sequence[float], targets_mm: Sequence[float], method: str = SLAB_Z_INTERPOLATION):
    """For each target z: the indices of the source slices below and above it and the weight of the upper one
    (linear: the distance from the lower slice over the gap; nearest: 0 or 1, ties to the lower slice)."""
    if method not in Z_INTERPOLATIONS:
        raise ValueError(f"unknown z interpolation {method!r} (one of {', '.join(Z_INTERPOLATIONS)})")
    z = _sorted_z(z_mm)
    targets = np.asarray(targets_mm, dtype=np.float64)
    if targets.min() < z[0] - Z_TOLERANCE_MM or targets.max() > z[-1] + Z_TOLERANCE_MM:
        raise SlabOutOfVolume(
            f"z {targets.min():g}..{targets.max():g} mm leaves the volume ({z[0]:g}..{z[-1]:g} mm)"
        )
    upper = np.clip(np.searchsorted(z, targets, side="left"), 1, z.size - 1)
    lower = upper - 1
    weight = np.clip((targets - z[lower]) / (z[upper] - z[lower]), 0.0, 1.0)
    if method == "nearest":
        weight = (weight > 0.5).astype(np.float64)
    return lower, upper, weight


def interpolate_along_z(
    planes: Sequence[np.ndarray],
    z_mm: Sequence[float],
    targets_mm: Sequence[float],
    method: str = SLAB_Z_INTERPOLATION,
) -> list[np.ndarray]:
    """The planes at `targets_mm`, each interpolated between the two source planes around it (float32 HU)."""
    if len(planes) != len(z_mm):
        raise ValueError(f"{len(planes)} planes but {len(z_mm)} z positions")
    lower, upper, weight = z_weights(z_mm, targets_mm, method)
    result = []
    for low, high, w in zip(lower.tolist(), upper.tolist(), weight.tolist(), strict=True):
        below = np.asarray(planes[low], dtype=np.float32)
        if w == 0.0:
            result.append(below.copy())
            continue
        above = np.asarray(planes[high], dtype=np.float32)
        result.append(below + np.float32(w) * (above - below))
    return result


def render_slab(
    planes: Sequence[np.ndarray],
    z_mm: Sequence[float],
    centre_z_mm: float,
    grid: SlabGrid,
    *,
    row_spacing_mm: float,
    column_spacing_mm: float,
    policy: DisplayPolicy,
    z_interpolation: str = SLAB_Z_INTERPOLATION,
    only: Sequence[int] | None = None,
) -> tuple[np.ndarray, DisplayGeometry]:
    """The slab around `centre_z_mm` as the reader will see it: (n, matrix, matrix) int16, inferior first, every
    plane drawn under the centre plane's geometry; and that geometry. `planes` are the volume's slices (at least
    those the slab reaches and one either side), at `z_mm`, in patient order. With `only` (plane indices), just
    those planes, in that order (what the blinding audit compares)."""
    check_room(z_mm, centre_z_mm, grid)
    positions = grid.positions(centre_z_mm)
    middle = (grid.slices - 1) // 2
    wanted = list(range(grid.slices)) if only is None else list(only)
    resampled = interpolate_along_z(planes, z_mm, positions[[middle, *wanted]], z_interpolation)
    return render_under(
        resampled[0],
        resampled[1:],
        row_spacing_mm=row_spacing_mm,
        column_spacing_mm=column_spacing_mm,
        policy=policy,
    )


def source_window(z_mm: Sequence[float], centre_z_mm: float, grid: SlabGrid) -> tuple[float, float]:
    """The z range of the source slices a slab needs: its thickness and one slice spacing on either side."""
    margin = MAX_GAP_FACTOR * median_spacing_mm(z_mm)
    half = grid.thickness_mm / 2
    return centre_z_mm - half - margin, centre_z_mm + half + margin


# --- candidates ---------------------------------------------------------------------------------------------------


def with_room_for_slab(
    candidates: list[Candidate], z_by_volume: dict[str, Sequence[float]], grid: SlabGrid
) -> list[Candidate]:
    """The candidates whose volume (its slices' z in `z_by_volume[candidate.volume_key]`, patient order) can give
    the slab around them."""
    return [
        c
        for c in candidates
        if c.volume_key in z_by_volume
        and len(z_by_volume[c.volume_key]) >= 2
        and has_room(z_by_volume[c.volume_key], c.z_mm, grid)
    ]


def slab_room_gaps(pools: dict[str, tuple[list[Candidate], list[Candidate]]], grid: SlabGrid) -> list[str]:
    """The axial layers both pools cover where one pool has no slice a slab fits around, one line each; `pools` is
    {pool name: (all candidates, candidates with room)}."""
    return room_gaps(
        pools,
        f"a slab of {grid.thickness_mm:g} mm needs {grid.thickness_mm / 2:g} mm of its volume on each side",
    )
