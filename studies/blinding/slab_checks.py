"""The blinding audit's checks of slab items (studies.slabs): every slab, real or synthetic, on the survey's one
grid, measured against its own source volume.

- slab-thickness: every payload holds the slab's n planes and every item's volume covers the whole slab;
- slab-z-spacing: the planes lie where the survey's z spacing puts them: for each item, of the slabs of n planes
  at the design's spacing and at 0.5, 0.75, 1.25, 1.5 and 2 times it (those its volume covers), the one the
  payload's planes away from the middle match best must be the design's;
- slab-interpolation: the planes between source slices are the linear interpolation along z the survey uses, not
  the nearest slice (the payload matches the linear slab better than the nearest-slice one);
- slab-view-geometry: every page tells the viewer the same slab geometry (thickness, z spacing, mm per pixel:
  the coronal and sagittal views' aspect), the design's and the policy's;
- slab-centring: the body sits alike in the coronal and sagittal views of real and synthetic slabs (its centre
  across each view, through the middle of the slab; as the axial centring check, AUC and a tolerance).

A planted difference in any of them fails the audit (tests/studies/test_slab_blinding.py).
"""

from dataclasses import dataclass

import numpy as np

from studies.blinding.measurement import (
    AUC_LIMIT,
    CENTRE_TOLERANCE_PIXELS,
    BlindingReport,
    describe,
    median_gap,
)
from studies.blinding.walk import Observation
from studies.models import Survey
from studies.rendering import body_extent
from studies.selectors import StackMissing, render_slab_source, slab_source
from studies.slabs import SLAB_Z_INTERPOLATION, Z_INTERPOLATIONS, SlabGrid, has_room, reformat

SPACING_FACTORS = (1.0, 0.5, 0.75, 1.25, 1.5, 2.0)  # the design's first: it wins a tie


@dataclass(frozen=True)
class Centring:
    truth: str
    coronal: float  # pixels between the body's centre across the view and the view's centre
    sagittal: float


def diagnostic_planes(slices: int) -> list[int]:
    """The planes compared against the source: both ends, the quarter planes and the middle one's neighbours
    (the middle one is the item's own slice whatever the spacing; its neighbours lie between source slices
    unless the source's spacing divides the slab's)."""
    middle = (slices - 1) // 2
    return sorted({0, slices // 4, middle - 1, middle + 1, slices - 1 - slices // 4, slices - 1} - {middle})


def _error(payload: np.ndarray, expected: np.ndarray) -> float:
    return float(np.mean(np.abs(payload.astype(np.float64) - expected.astype(np.float64))))


def check_slabs(survey: Survey, observations: list[Observation], decoded, report: BlindingReport) -> None:
    """The slab checks above; `decoded` is each payload that decoded as the survey's slab, (observation, planes)."""
    design, policy = survey.design, survey.display_policy
    grid = SlabGrid(design.slab_thickness_mm, design.slab_spacing_mm)
    slices = grid.slices
    report.checks += ["slab-thickness", "slab-z-spacing", "slab-interpolation"]
    short = len(observations) - len(decoded)
    if short:
        report.leak(
            "slab-thickness",
            f"{short} payload(s) do not hold the {slices} planes of a {grid.thickness_mm:g} mm slab at "
            f"{grid.spacing_mm:g} mm",
        )
    indices = diagnostic_planes(slices)
    uncovered, spacings, interpolations, centrings = [], [], [], []
    for observation, slab in decoded:
        try:
            source = slab_source(observation.item.slice, grid)
        except StackMissing:
            uncovered.append((observation.truth, "volume too short"))
            continue
        payload = slab[indices]
        best_spacing, best_error = None, None
        for factor in SPACING_FACTORS:
            spacing = grid.spacing_mm * factor
            candidate = SlabGrid((slices - 1) * spacing, spacing)
            if not has_room(source.z_mm, source.centre_z_mm, candidate):
                continue
            expected, _ = render_slab_source(source, candidate, policy, only=indices)
            error = _error(payload, expected)
            if best_error is None or error < best_error:
                best_spacing, best_error = spacing, error
        if best_spacing is not None and not np.isclose(best_spacing, grid.spacing_mm):
            spacings.append((observation.truth, f"{best_spacing:g} mm"))
        errors = {
            method: _error(
                payload, render_slab_source(source, grid, policy, z_interpolation=method, only=indices)[0]
            )
            for method in Z_INTERPOLATIONS
        }
        if errors[SLAB_Z_INTERPOLATION] > min(errors.values()):
            interpolations.append((observation.truth, min(errors, key=errors.get)))
        centrings.append(_centring(observation.truth, slab, policy.hu_min))
    if uncovered:
        report.leak(
            "slab-thickness",
            f"{len(uncovered)} item(s) come from volumes that do not cover a {grid.thickness_mm:g} mm slab: "
            f"{describe(uncovered)}",
        )
    if spacings:
        report.leak(
            "slab-z-spacing",
            f"{len(spacings)} slab(s) have their planes at another z spacing than {grid.spacing_mm:g} mm: "
            f"{describe(spacings)}",
        )
    else:
        report.measure("slab-z-spacing", f"every slab's planes are {grid.spacing_mm:g} mm apart")
    if interpolations:
        report.leak(
            "slab-interpolation",
            f"{len(interpolations)} slab(s) are not interpolated {SLAB_Z_INTERPOLATION}ly along z: "
            f"{describe(interpolations)}",
        )
    check_view_geometry(survey, observations, report)
    check_view_centring(centrings, report)


def _centring(truth: str, slab: np.ndarray, hu_min: int) -> Centring:
    middle = slab.shape[1] // 2
    offsets = []
    for view in ("coronal", "sagittal"):
        image = reformat(slab, view, middle)
        extent = body_extent(image, hu_min=hu_min)
        offsets.append(0.0 if extent is None else abs(extent.centre_column - (image.shape[1] - 1) / 2))
    return Centring(truth, *offsets)


def check_view_geometry(survey: Survey, observations: list[Observation], report: BlindingReport) -> None:
    report.checks.append("slab-view-geometry")
    design, policy = survey.design, survey.display_policy
    expected = {
        "thicknessMm": design.slab_thickness_mm,
        "spacingMm": design.slab_spacing_mm,
        "mmPerPixel": policy.mm_per_pixel,
    }
    told = [(o.truth, str(o.config.get("slab"))) for o in observations if o.config.get("slab") != expected]
    if told:
        report.leak(
            "slab-view-geometry",
            f"{len(told)} page(s) give the slab viewer another geometry than {expected}: {describe(told)}",
        )
    else:
        matrix, mm = policy.matrix_size, policy.mm_per_pixel
        report.measure(
            "slab-view-geometry",
            f"axial {matrix}x{matrix} at {mm:.3f} mm; coronal and sagittal {design.stack_slices}x{matrix} at "
            f"{design.slab_spacing_mm:g} x {mm:.3f} mm, in every item",
        )


def check_view_centring(centrings: list[Centring], report: BlindingReport) -> None:
    report.checks.append("slab-centring")
    for view in ("coronal", "sagittal"):
        auc, gap, real, synthetic = median_gap(centrings, lambda c, view=view: getattr(c, view))
        report.measure(
            "slab-centring",
            f"{view} view: body centre offset real median {real:.1f}, synthetic median {synthetic:.1f} pixels",
        )
        if auc > AUC_LIMIT and gap > CENTRE_TOLERANCE_PIXELS:
            report.leak(
                "slab-centring",
                f"the body sits at a different place in the {view} view of real and synthetic slabs "
                f"(AUC {auc:.2f}): {real:.1f} vs {synthetic:.1f} pixels from the centre (median)",
            )
