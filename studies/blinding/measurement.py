"""What the blinding audit measures, with no Django: how well a value separates real from synthetic items, the
geometry of a displayed image (scale, body extent, centring, padding), its background, mask and grey-level step,
and the report the checks write. Plain numbers and arrays in, named results out, so each measure can be tested on
its own; the checks (studies.blinding.checks, studies.blinding.pixel_checks) decide what counts as a leak.
"""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from studies.policy import DisplayPolicy
from studies.rendering import BODY_THRESHOLD_HU, body_extent, body_mask, circle_mask

REAL = "real"
SYNTHETIC = "synthetic"
# A feature whose values separate real from synthetic items better than this (area under the ROC curve of the
# best threshold, either direction) counts as a leak.
AUC_LIMIT = 0.6
BORDER_PIXELS = 2
# What rounding and resampling give between items that are shown alike; a larger gap can be a cue.
SCALE_TOLERANCE = 0.01  # relative
BODY_TOLERANCE_PIXELS = 2.0
CENTRE_TOLERANCE_PIXELS = 2.0
PADDING_TOLERANCE = 0.02
STACK_SCALE_TOLERANCE = 0.03  # relative body size of the neighbours against the centre slice


@dataclass(frozen=True)
class Finding:
    check: str
    message: str

    def __str__(self):
        return f"[{self.check}] {self.message}"


@dataclass
class BlindingReport:
    survey: str
    items: int
    checks: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # What the audit measured that a reader of the report should see, passed or not: (check, text).
    measurements: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings

    def leak(self, check: str, message: str) -> None:
        self.findings.append(Finding(check, message))

    def measure(self, check: str, message: str) -> None:
        self.measurements.append((check, message))

    def text(self) -> str:
        lines = [f"Blinding audit of {self.survey!r}: {self.items} items"]
        failed = {f.check for f in self.findings}
        for check in self.checks:
            if check not in failed:
                lines.append(f"PASS {check}")
        lines += [f"MEASURED [{check}] {message}" for check, message in self.measurements]
        lines += [f"LEAK {finding}" for finding in self.findings]
        lines.append("PASSED" if self.passed else f"FAILED: {len(self.findings)} leak(s)")
        return "\n".join(lines)


def separation_auc(first, second) -> float:
    """How well one threshold on a value separates two groups: max(AUC, 1 - AUC), 0.5 = not at all."""
    a = np.asarray(list(first), dtype=np.float64)
    b = np.asarray(list(second), dtype=np.float64)
    if a.size == 0 or b.size == 0:
        return 0.5
    greater = (a[:, None] > b[None, :]).sum()
    ties = (a[:, None] == b[None, :]).sum()
    auc = (greater + 0.5 * ties) / (a.size * b.size)
    return float(max(auc, 1.0 - auc))


def split_by_truth(values_by_item: list[tuple[str, object]]) -> tuple[list, list]:
    real = [v for truth, v in values_by_item if truth == REAL]
    synthetic = [v for truth, v in values_by_item if truth == SYNTHETIC]
    return real, synthetic


def describe(values_by_item: list[tuple[str, object]]) -> str:
    """'a' on 10 real items, 'b' on 10 synthetic items — how a differing value splits by truth."""
    counts = Counter((repr(value), truth) for truth, value in values_by_item)
    parts = [f"{value} on {n} {truth} item(s)" for (value, truth), n in sorted(counts.items())]
    return "; ".join(parts[:6]) + ("; ..." if len(parts) > 6 else "")


def payload_shape(matrix: int, slices: int) -> str:
    return f"{matrix}x{matrix} int16" if slices == 1 else f"{slices} x {matrix}x{matrix} int16, a stack"


@dataclass(frozen=True)
class Shape:
    """What the audit measures of one displayed item."""

    truth: str
    mm_per_pixel: float
    body_rows: int
    body_columns: int
    centre_offset: float  # pixels between the body's centre and the image's centre
    padding: float  # share of the pixels outside the body that are exactly the background value


def measure_shape(truth: str, image: np.ndarray, mm_per_pixel: float, policy: DisplayPolicy) -> Shape:
    extent = body_extent(image, hu_min=policy.hu_min)
    centre = (policy.matrix_size - 1) / 2
    outside = ~body_mask(image, hu_min=policy.hu_min) if extent is not None else np.ones(image.shape, bool)
    padding = float(np.mean(image[outside] == policy.background_hu)) if outside.any() else 1.0
    if extent is None:
        return Shape(truth, mm_per_pixel, 0, 0, 0.0, padding)
    offset = float(np.hypot(extent.centre_row - centre, extent.centre_column - centre))
    return Shape(truth, mm_per_pixel, extent.rows, extent.columns, offset, padding)


def median_gap(shapes: list[Shape], value) -> tuple[float, float, float, float]:
    """(AUC, |median gap|, median real, median synthetic) of a measured value between real and synthetic."""
    real = [value(s) for s in shapes if s.truth == REAL]
    synthetic = [value(s) for s in shapes if s.truth == SYNTHETIC]
    if not real or not synthetic:
        return 0.5, 0.0, float("nan"), float("nan")
    median_real, median_synthetic = float(np.median(real)), float(np.median(synthetic))
    return separation_auc(real, synthetic), abs(median_real - median_synthetic), median_real, median_synthetic


def neighbour_scale(stack: np.ndarray, *, hu_min: int) -> float | None:
    """The body's size in a stack's neighbouring slices against the centre slice's: the median over the
    neighbours of sqrt(body area / centre body area); None when the centre or every neighbour shows no body."""
    centre = body_extent(stack[len(stack) // 2], hu_min=hu_min)
    if centre is None:
        return None
    values = []
    for offset, image in enumerate(stack):
        extent = body_extent(image, hu_min=hu_min)
        if offset != len(stack) // 2 and extent is not None:
            values.append(np.sqrt(extent.area / centre.area))
    return float(np.median(values)) if values else None


def border_pixels(image: np.ndarray) -> np.ndarray:
    b = BORDER_PIXELS
    return np.concatenate(
        [image[:b].ravel(), image[-b:].ravel(), image[b:-b, :b].ravel(), image[b:-b, -b:].ravel()]
    )


def most_common_value(values: np.ndarray) -> int:
    uniques, counts = np.unique(values, return_counts=True)
    return int(uniques[np.argmax(counts)])


def outside_mask_is_background(policy: DisplayPolicy, image: np.ndarray) -> bool:
    background = policy.hu_min
    if policy.mask == "circle":
        return bool(np.all(image[~circle_mask(policy.matrix_size)] == background))
    # Body mask: at the image border there is either background or body, never air that escaped the mask.
    border = border_pixels(image)
    threshold = max(BODY_THRESHOLD_HU, policy.hu_min)
    return bool(np.all((border == background) | (border > threshold)))


def quantisation_step(image: np.ndarray) -> int:
    """The greatest common divisor of the gaps between the grey levels used: 1 for ordinary CT."""
    levels = np.unique(image.astype(np.int64))
    if levels.size < 2:
        return 0
    return int(np.gcd.reduce(np.diff(levels)))
