"""A survey's display policy: how every item, real or synthetic alike, is turned into what readers see. Pure Python.

One value object, :class:`DisplayPolicy`, is what the survey stores (as JSON), what the services take, what the
admin form edits and what the renderer (:mod:`studies.rendering`) uses. It is frozen and validates itself.

Field of view: by default a survey shows every item at **one physical field of view** (mm), so one displayed pixel
is the same number of millimetres in every item whatever the source's pixel spacing; the survey chooses it at
creation from its real pool unless the admin gives one. Keeping each slice's own field of view is an explicit
choice: it can leak scale (synthetic CT inherits the MRI's geometry, real CT has the CT scanner's).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from imaging.constants import DEFAULT_CT_WINDOW, HU_MAX, HU_MIN

INTERPOLATIONS = {
    "nearest": "Nearest neighbour",
    "bilinear": "Bilinear",
    "bicubic": "Bicubic",
    "area": "Area average (box)",
}
MASKS = {
    "none": "No mask",
    "body": "Body mask (outside the body set to the background)",
    "circle": "Circular field of view (outside the inscribed circle set to the background)",
}
FIELD_OF_VIEW_SURVEY = "survey"
FIELD_OF_VIEW_PER_SLICE = "per_slice"
FIELDS_OF_VIEW = {
    FIELD_OF_VIEW_SURVEY: "One field of view for the whole survey (the same mm per pixel in every item)",
    FIELD_OF_VIEW_PER_SLICE: "Each slice's own field of view (can leak scale: real and synthetic sources differ)",
}
MATRIX_RANGE = (16, 2048)
WINDOW_WIDTH_RANGE = (1, 5000)
WINDOW_LEVEL_RANGE = (-2000, 4000)
FIELD_OF_VIEW_RANGE_MM = (1.0, 2000.0)
INT16 = (-32768, 32767)


class PolicyError(ValueError):
    """A display policy that cannot be used; the message is one line naming the field."""


@dataclass(frozen=True)
class DisplayPolicy:
    matrix_size: int = 512
    hu_min: int = HU_MIN
    hu_max: int = HU_MAX
    interpolation: str = "bilinear"
    mask: str = "body"
    field_of_view: str = FIELD_OF_VIEW_SURVEY
    # The survey's field of view in mm; None until chosen (a survey chooses it from its real pool at creation).
    field_of_view_mm: float | None = None
    default_window_width: int = DEFAULT_CT_WINDOW.width
    default_window_level: int = DEFAULT_CT_WINDOW.level

    def __post_init__(self):
        for name in ("matrix_size", "hu_min", "hu_max", "default_window_width", "default_window_level"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise PolicyError(f"{name} must be a whole number, not {value!r}")
        if not MATRIX_RANGE[0] <= self.matrix_size <= MATRIX_RANGE[1]:
            raise PolicyError(
                f"matrix size {self.matrix_size} is outside {MATRIX_RANGE[0]}..{MATRIX_RANGE[1]}"
            )
        if not self.hu_min < self.hu_max:
            raise PolicyError(f"HU range {self.hu_min}..{self.hu_max} is empty")
        if not (INT16[0] <= self.hu_min and self.hu_max <= INT16[1]):
            raise PolicyError("the HU range must fit in int16")
        if self.interpolation not in INTERPOLATIONS:
            raise PolicyError(f"unknown interpolation {self.interpolation!r}")
        if self.mask not in MASKS:
            raise PolicyError(f"unknown mask {self.mask!r}")
        if self.field_of_view not in FIELDS_OF_VIEW:
            raise PolicyError(f"unknown field of view choice {self.field_of_view!r}")
        if self.field_of_view_mm is not None:
            if isinstance(self.field_of_view_mm, bool) or not isinstance(self.field_of_view_mm, int | float):
                raise PolicyError(f"the field of view must be a number of mm, not {self.field_of_view_mm!r}")
            if not math.isfinite(self.field_of_view_mm) or self.field_of_view_mm <= 0:
                raise PolicyError("the field of view must be positive")
            if not FIELD_OF_VIEW_RANGE_MM[0] <= self.field_of_view_mm <= FIELD_OF_VIEW_RANGE_MM[1]:
                low, high = FIELD_OF_VIEW_RANGE_MM
                raise PolicyError(
                    f"the field of view must be {low:g}..{high:g} mm, not {self.field_of_view_mm:g}"
                )
            if self.field_of_view == FIELD_OF_VIEW_PER_SLICE:
                raise PolicyError("a field of view in mm applies to one field of view for the survey only")
        if not WINDOW_WIDTH_RANGE[0] <= self.default_window_width <= WINDOW_WIDTH_RANGE[1]:
            raise PolicyError(
                f"the default window width must be {WINDOW_WIDTH_RANGE[0]}..{WINDOW_WIDTH_RANGE[1]} HU"
            )
        if not WINDOW_LEVEL_RANGE[0] <= self.default_window_level <= WINDOW_LEVEL_RANGE[1]:
            raise PolicyError(
                f"the default window level must be {WINDOW_LEVEL_RANGE[0]}..{WINDOW_LEVEL_RANGE[1]} HU"
            )

    # --- derived values -------------------------------------------------------------------------------------

    @property
    def background_hu(self) -> int:
        return self.hu_min

    @property
    def payload_bytes(self) -> int:
        """Size of every item's pixel payload: matrix x matrix int16."""
        return self.matrix_size * self.matrix_size * 2

    @property
    def per_slice_field_of_view(self) -> bool:
        return self.field_of_view == FIELD_OF_VIEW_PER_SLICE

    @property
    def is_resolved(self) -> bool:
        """Whether every item's field of view is known: per slice, or a survey-wide value chosen."""
        return self.per_slice_field_of_view or self.field_of_view_mm is not None

    @property
    def mm_per_pixel(self) -> float | None:
        """Displayed mm per pixel of every item (None when each slice keeps its own field of view)."""
        if self.field_of_view_mm is None:
            return None
        return self.field_of_view_mm / self.matrix_size

    def replace(self, **changes) -> DisplayPolicy:
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        if self.per_slice_field_of_view:
            fov = "each slice's own field of view"
        elif self.field_of_view_mm is None:
            fov = "one field of view (not chosen yet)"
        else:
            fov = f"{self.field_of_view_mm:g} mm field of view ({self.mm_per_pixel:.3f} mm/pixel)"
        return (
            f"{self.matrix_size}x{self.matrix_size}, HU {self.hu_min}..{self.hu_max}, {self.interpolation}, "
            f"mask {self.mask}, {fov}, window {self.default_window_width}/{self.default_window_level}"
        )

    # --- storage ----------------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data) -> DisplayPolicy:
        """A policy from stored or submitted JSON; unknown keys are refused, missing ones take the defaults."""
        if not isinstance(data, dict):
            raise PolicyError("a display policy must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PolicyError(f"unknown display policy field(s): {', '.join(unknown)}")
        return cls(**data)


def round_field_of_view(mm: float) -> float:
    """A survey's field of view from a measured one: up to the next 10 mm (next mm below 100 mm), so the
    typical slice is not cropped."""
    if not mm > 0:
        raise PolicyError("a field of view must be positive")
    step = 10.0 if mm >= 100 else 1.0
    return float(math.ceil(mm / step - 1e-9) * step)
