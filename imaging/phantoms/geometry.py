"""Scan geometry of a phantom patient: matrices, pixel and slice spacing, and the z positions of each stack.

At the default matrices CT pixel spacing is 0.70-0.80 mm and slice spacing 3.00-3.20 mm; MR pixel spacing
1.36-1.89 mm and slice spacing 6.0-9.0 mm, chosen so the MR stacks cover about the CT range. Pixel spacing scales
with 512/ct_matrix and 256/mr_matrix, so the field of view stays the same at any matrix.
"""

from dataclasses import dataclass

import numpy as np

from imaging.phantoms.anatomy import PhantomAnatomy

DEFAULT_CT_MATRIX = 512
DEFAULT_MR_MATRIX = 256
DEFAULT_CT_SLICES = 90
DEFAULT_MR_SLICES = 36
MIN_MATRIX = 32
MAX_MATRIX = 2048
MAX_SLICES = 1000

CT_PIXEL_MM = (0.70, 0.80)
CT_SLICE_MM = (3.00, 3.20)
MR_PIXEL_MM = (1.36, 1.89)
MR_SLICE_MM = (6.0, 9.0)


@dataclass(frozen=True)
class ScanPlan:
    """One patient's pixel and slice spacings and slice positions (mm): CT, T1 (both echoes) and T2."""

    ct_pixel_mm: float
    ct_slice_mm: float
    ct_z_mm: tuple[float, ...]
    mr_pixel_mm: float
    t1_slice_mm: float
    t1_z_mm: tuple[float, ...]
    t2_slice_mm: float
    t2_z_mm: tuple[float, ...]

    def z_fractions(self, z_mm: tuple[float, ...]) -> tuple[float, ...]:
        first, span = self.ct_z_mm[0], self.ct_z_mm[-1] - self.ct_z_mm[0]
        return tuple((z - first) / span for z in z_mm)


def _stack(first: float, spacing: float, count: int) -> tuple[float, ...]:
    return tuple(round(first + i * spacing, 3) for i in range(count))


def scan_plan(
    rng: np.random.Generator,
    anatomy: PhantomAnatomy,
    ct_matrix: int,
    mr_matrix: int,
    ct_slices: int,
    mr_slices: int,
) -> ScanPlan:
    """Draw the scan geometry from `rng` (after the anatomy): the field of view holds the widest part of the body."""
    # The field of view must hold the widest part of the body with a margin.
    needed_fov = 2 * anatomy.widest_half_width_mm + 24
    ct_pixel = max(rng.uniform(*CT_PIXEL_MM), needed_fov / DEFAULT_CT_MATRIX)
    mr_pixel = max(rng.uniform(*MR_PIXEL_MM), needed_fov / DEFAULT_MR_MATRIX)
    ct_pixel = round(ct_pixel * DEFAULT_CT_MATRIX / ct_matrix, 4)
    mr_pixel = round(mr_pixel * DEFAULT_MR_MATRIX / mr_matrix, 4)
    ct_slice = round(rng.uniform(*CT_SLICE_MM), 2)
    ct_first = round(rng.uniform(-260, -160), 1)
    ct_z = _stack(ct_first, ct_slice, ct_slices)
    ct_centre = (ct_z[0] + ct_z[-1]) / 2
    ct_span = ct_z[-1] - ct_z[0]
    low, high = MR_SLICE_MM
    t1_slice = round(
        min(max(ct_span / max(mr_slices - 1, 1) * rng.uniform(0.97, 1.0), low + 0.4), high - 0.4), 2
    )
    # T2 is a separate acquisition: a slightly different spacing, shifted by a third of the T1 spacing.
    change = rng.uniform(0.15, 0.35)
    t2_slice = round(t1_slice - change if t1_slice - change >= low + 0.05 else t1_slice + change, 2)
    t1_first = ct_centre - t1_slice * (mr_slices - 1) / 2
    t2_first = ct_centre - t2_slice * (mr_slices - 1) / 2 + t1_slice / 3
    return ScanPlan(
        ct_pixel_mm=ct_pixel,
        ct_slice_mm=ct_slice,
        ct_z_mm=ct_z,
        mr_pixel_mm=mr_pixel,
        t1_slice_mm=t1_slice,
        t1_z_mm=_stack(t1_first, t1_slice, mr_slices),
        t2_slice_mm=t2_slice,
        t2_z_mm=_stack(t2_first, t2_slice, mr_slices),
    )
