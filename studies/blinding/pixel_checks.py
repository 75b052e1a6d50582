"""The blinding audit's checks on the pixels a reader receives: every payload's size, Content-Length, dtype, HU
clip range, background and mask, grey-level step; that each is what the survey's display policy makes of its source
slice (every slice of a stack); and the geometry that could give the source away: scale, body extent, centring,
padding, and a stack's neighbours against its centre slice. The measures are studies.blinding.measurement's.
"""

from dataclasses import dataclass

import numpy as np

from studies.blinding.measurement import (
    AUC_LIMIT,
    BODY_TOLERANCE_PIXELS,
    CENTRE_TOLERANCE_PIXELS,
    PADDING_TOLERANCE,
    SCALE_TOLERANCE,
    STACK_SCALE_TOLERANCE,
    BlindingReport,
    Shape,
    border_pixels,
    describe,
    measure_shape,
    median_gap,
    most_common_value,
    neighbour_scale,
    outside_mask_is_background,
    payload_shape,
    quantisation_step,
    separation_auc,
    split_by_truth,
)
from studies.blinding.slab_checks import check_slabs
from studies.blinding.walk import Observation
from studies.design import StudyDesign
from studies.models import Survey
from studies.policy import DisplayPolicy
from studies.rendering import decode_payload
from studies.selectors import StackMissing, rendered_item, rendered_stack


def check_payloads(survey: Survey, observations: list[Observation], report: BlindingReport) -> None:
    """Size, headers and pixels of every payload; for a stack, every slice of every stack."""
    policy = survey.display_policy
    matrix = policy.matrix_size
    slices = survey.design.stack_slices
    report.checks.append("payload-size")
    sizes = [(o.truth, len(o.payload)) for o in observations]
    wrong = [(truth, size) for truth, size in sizes if size != survey.payload_bytes]
    if wrong:
        report.leak(
            "payload-size",
            f"payloads must be exactly {survey.payload_bytes} bytes ({payload_shape(matrix, slices)}): {describe(wrong)}",
        )
    auc = separation_auc(*split_by_truth(sizes))
    if auc > AUC_LIMIT:
        report.leak("payload-size", f"payload sizes separate real from synthetic (AUC {auc:.2f})")
    lengths = [(o.truth, o.pixels_headers.get("content-length")) for o in observations]
    if any(value != str(len(o.payload)) for o, (_, value) in zip(observations, lengths, strict=True)):
        report.leak("payload-size", f"Content-Length does not match the payload: {describe(lengths)}")
    report.checks.append("dtype")
    decoded: list[tuple[Observation, np.ndarray]] = []  # each payload as (slices, matrix, matrix)
    for observation in observations:
        try:
            decoded.append((observation, decode_payload(observation.payload, matrix, slices)))
        except ValueError:
            continue
    if len(decoded) < len(observations):
        report.leak(
            "dtype",
            f"{len(observations) - len(decoded)} payload(s) do not decode as {payload_shape(matrix, slices)} "
            "(little-endian)",
        )
    if not decoded:
        return
    # Every slice of every stack is checked as an image of its own.
    images = [(observation.truth, image) for observation, stack in decoded for image in stack]
    report.checks.append("clip-range")
    outside = [
        (truth, f"{int(image.min())}..{int(image.max())}")
        for truth, image in images
        if image.min() < policy.hu_min or image.max() > policy.hu_max
    ]
    if outside:
        report.leak(
            "clip-range",
            f"values outside the HU clip range {policy.hu_min}..{policy.hu_max}: {describe(outside)}",
        )
    report.checks.append("background")
    borders = [(truth, border_pixels(image)) for truth, image in images]
    modes = [(truth, most_common_value(border)) for truth, border in borders]
    auc = separation_auc(*split_by_truth(modes))
    if auc > AUC_LIMIT:
        report.leak("background", f"the background value differs (AUC {auc:.2f}): {describe(modes)}")
    if policy.mask != "none":
        leaking = [
            (truth, "not masked") for truth, image in images if not outside_mask_is_background(policy, image)
        ]
        if leaking:
            report.leak(
                "background",
                f"pixels outside the {policy.mask} mask are not all the background value {policy.hu_min}: "
                f"{describe(leaking)}",
            )
    report.checks.append("quantisation")
    steps = [(truth, quantisation_step(image)) for truth, image in images]
    auc = separation_auc(*split_by_truth(steps))
    if auc > AUC_LIMIT:
        report.leak(
            "quantisation", f"the HU step between grey levels differs (AUC {auc:.2f}): {describe(steps)}"
        )
    check_geometry(policy, decoded, report, design=survey.design)
    if survey.design.is_slab:
        check_slabs(survey, observations, decoded, report)


def check_geometry(
    policy: DisplayPolicy,
    decoded: list[tuple[Observation, np.ndarray]],
    report,
    *,
    design: StudyDesign | None = None,
) -> None:
    """The same pipeline for every item (its payload is what the policy makes of its source slice), one scale,
    the body centred alike, and the same padding around it.

    A measured value counts as a leak when its AUC between real and synthetic items exceeds AUC_LIMIT and its
    medians differ by more than what rounding gives (a tolerance per value): small surveys give AUCs above
    0.6 by chance for values that differ by a fraction of a pixel.
    """
    report.checks.append("same-pipeline")
    shapes: list[Shape] = []
    differing = []
    stack_k = (decoded[0][1].shape[0] - 1) // 2
    for observation, stack in decoded:
        try:
            if design is not None and design.is_slab:
                expected, geometry = rendered_item(observation.item.slice, policy, design)
            else:
                expected, geometry = rendered_stack(observation.item.slice, policy, stack_k)
        except StackMissing:
            differing.append((observation.truth, "neighbours missing"))
            continue
        if not np.array_equal(expected, stack):
            differing.append((observation.truth, "differs"))
        shapes += [measure_shape(observation.truth, image, geometry.mm_per_pixel, policy) for image in stack]
    if differing:
        report.leak(
            "same-pipeline",
            f"{len(differing)} payload(s) are not what the survey's display policy makes of their source "
            f"slice{'s' if stack_k else ''}: {describe(differing)}",
        )
    if stack_k:
        check_stack_scale(policy, decoded, report)

    report.checks.append("scale")
    scales = sorted({round(s.mm_per_pixel, 9) for s in shapes})
    auc, gap, real, synthetic = median_gap(shapes, lambda s: s.mm_per_pixel)
    if policy.per_slice_field_of_view:
        report.measure(
            "scale",
            f"mm per displayed pixel: real median {real:.3f}, synthetic median {synthetic:.3f} (AUC {auc:.2f})",
        )
        if auc > AUC_LIMIT and gap > SCALE_TOLERANCE * max(real, synthetic):
            report.leak(
                "scale",
                f"each slice keeps its own field of view and real and synthetic items are shown at different "
                f"scales: {real:.3f} vs {synthetic:.3f} mm per pixel (median, AUC {auc:.2f})",
            )
    elif len(scales) != 1:
        report.leak(
            "scale", f"items are shown at {len(scales)} different scales, not one: {scales[:4]} mm per pixel"
        )
    else:
        report.measure("scale", f"{scales[0]:.4f} mm per displayed pixel in every item")

    report.checks.append("body-extent")
    auc_rows, gap_rows, real_rows, synthetic_rows = median_gap(shapes, lambda s: s.body_rows)
    auc_columns, gap_columns, real_columns, synthetic_columns = median_gap(shapes, lambda s: s.body_columns)
    auc = max(auc_rows, auc_columns)
    report.measure(
        "body-extent",
        f"body extent in the payload (median rows x columns): real {real_rows:.0f} x {real_columns:.0f}, "
        f"synthetic {synthetic_rows:.0f} x {synthetic_columns:.0f} pixels (AUC {auc:.2f})",
    )
    separates = (auc_rows > AUC_LIMIT and gap_rows > BODY_TOLERANCE_PIXELS) or (
        auc_columns > AUC_LIMIT and gap_columns > BODY_TOLERANCE_PIXELS
    )
    if separates and policy.per_slice_field_of_view:
        report.leak(
            "body-extent",
            f"bodies are drawn at different sizes (AUC {auc:.2f}): median {real_rows:.0f} x {real_columns:.0f} "
            f"pixels real vs {synthetic_rows:.0f} x {synthetic_columns:.0f} synthetic",
        )
    elif separates:
        report.measure(
            "body-extent",
            "bodies differ in size between the pools although every item has the same scale: the patients' "
            "anatomy differs, not the display; consider real and synthetic pools of similar patients",
        )

    report.checks.append("centring")
    auc, gap, real, synthetic = median_gap(shapes, lambda s: s.centre_offset)
    report.measure(
        "centring", f"body centre offset: real median {real:.1f}, synthetic median {synthetic:.1f} pixels"
    )
    if auc > AUC_LIMIT and gap > CENTRE_TOLERANCE_PIXELS:
        report.leak(
            "centring",
            f"the body sits at a different place in real and synthetic items (AUC {auc:.2f}): "
            f"{real:.1f} vs {synthetic:.1f} pixels from the centre (median)",
        )

    report.checks.append("padding")
    auc, gap, real, synthetic = median_gap(shapes, lambda s: s.padding)
    if auc > AUC_LIMIT and gap > PADDING_TOLERANCE:
        report.leak(
            "padding",
            f"the area around the body differs (AUC {auc:.2f}): {real:.0%} vs {synthetic:.0%} of it is exactly "
            f"the background value in real vs synthetic items (a reconstruction circle, or padding where the "
            f"field of view leaves the slice)",
        )


@dataclass(frozen=True)
class Ratio:
    truth: str
    value: float


def check_stack_scale(policy: DisplayPolicy, decoded: list[tuple[Observation, np.ndarray]], report) -> None:
    """Neighbours at the centre slice's scale: in each stack, the body's extent in the neighbours against the
    centre's (median ratio over the neighbours); real and synthetic stacks must not differ in it (neighbours
    zoomed or shrunk in one pool only would show as a jump the reader sees while scrolling)."""
    report.checks.append("stack-scale")
    ratios = []
    for observation, stack in decoded:
        ratio = neighbour_scale(stack, hu_min=policy.hu_min)
        if ratio is not None:
            ratios.append(Ratio(observation.truth, ratio))
    auc, gap, real, synthetic = median_gap(ratios, lambda r: r.value)
    report.measure(
        "stack-scale",
        f"body size in the neighbours against the centre slice: real median {real:.3f}, synthetic median "
        f"{synthetic:.3f} (AUC {auc:.2f})",
    )
    if auc > AUC_LIMIT and gap > STACK_SCALE_TOLERANCE:
        report.leak(
            "stack-scale",
            f"the neighbouring slices of real and synthetic stacks are drawn at different scales (AUC {auc:.2f}): "
            f"body size {real:.3f} vs {synthetic:.3f} of the centre slice's (median)",
        )
