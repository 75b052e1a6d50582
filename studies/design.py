"""A survey's study design: what readers are asked and with which tools, beside the display policy. Pure Python.

One frozen value object, :class:`StudyDesign`, stored on the survey as JSON (`Survey.design`), chosen at creation
and changed only while the survey is a draft. It holds every per-survey reading option that is not about how the
pixels are made (that is :class:`studies.policy.DisplayPolicy`):

- the confidence rating: none, a 5-point scale (1 = certainly real .. 5 = certainly synthetic) or a 0-100 slider
  (0 = certainly real .. 100 = certainly synthetic), and whether the real / synthetic / indeterminable choice is
  asked (the paper's question) or derived from the rating (:func:`derive_choice`); when it is asked, whether a
  rating that contradicts the choice (:func:`rating_contradicts`) must be confirmed (`confirm_contradictions`);
- the window presets the viewer offers (keys 1..n), by default the five CT presets of imaging.constants;
- the number of practice items read first, each followed by feedback, never part of the test;
- stack reading: `stack_k` 0 (one slice) or 1..5, each item then a stack of 2k+1 neighbouring slices of its own
  volume that the reader scrolls through, answering for the centre slice;
- catch trials and reader quality control: `catch_items` synthetic slices with a plainly visible artefact
  (studies.catch) mixed into every reader's order, never in the statistics, and the exclusion rules the report
  applies (studies.quality): `qc_min_catch_percent`, `qc_min_median_seconds`, `qc_max_run` (each 0: off). Like
  every option they are frozen when the survey opens.
- time-limited exposure (`exposure`): off, fixed (every image shown for `exposure_ms`, then a mask) or a staircase
  per reader (start `exposure_ms`, a step of `exposure_step_ms` or `exposure_step_percent`, bounds
  `exposure_min_ms`..`exposure_max_ms`, rule `exposure_up`-up/`exposure_down`-down, the threshold the mean of the
  last `exposure_reversals` reversals): see studies.exposure.
- slab reading: `slab_thickness_mm` 0 (off) or a slab of that many mm along z from one volume, resampled at
  `slab_spacing_mm` (studies.slabs), read in axial, coronal and sagittal views, answering for the whole slab.
- the task (`task`): "single" (one slice at a time, the paper's question) or "2afc" (two-alternative forced choice:
  one real and one synthetic slice of the same axial layer side by side, "which one is real?"; studies.pairs). A
  2AFC survey reads single slices with unlimited time, no practice and no repeat reading; its only rating is the
  optional 5-point confidence (1 = a guess .. 5 = certain).

Every option is the same for every item of a survey, real or synthetic: nothing here may depend on the truth.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from imaging.constants import CT_WINDOW_PRESETS, WindowPreset
from studies.exposure import Staircase
from studies.quality import QualityRules

RATING_NONE = "none"
RATING_FIVE_POINT = "five_point"
RATING_SLIDER = "slider"
RATING_SCALES = {
    RATING_NONE: "No confidence rating",
    RATING_FIVE_POINT: "5-point scale (1 = certainly real .. 5 = certainly synthetic)",
    RATING_SLIDER: "0-100 slider (0 = certainly real .. 100 = certainly synthetic)",
}
# Lowest and highest rating of each scale, and the value that means "cannot tell" (derived: indeterminable).
RATING_RANGES = {RATING_FIVE_POINT: (1, 5), RATING_SLIDER: (0, 100)}
RATING_MIDPOINTS = {RATING_FIVE_POINT: 3, RATING_SLIDER: 50}
MAX_PRACTICE_ITEMS = 10
REPEAT_OFF = "off"
REPEAT_ALL = "all"
REPEAT_SUBSET = "subset"
REPEATS = {
    REPEAT_OFF: "No repeat reading",
    REPEAT_ALL: "Repeat every item in a second reading",
    REPEAT_SUBSET: "Repeat a random subset of m items in a second reading",
}
MAX_WASHOUT_DAYS = 365
MAX_STACK_K = 5  # a stack of at most 2 * 5 + 1 = 11 slices
MAX_WINDOW_PRESETS = 9  # keys 1..9
PRESET_NAME_CHARS = 32
PRESET_WIDTH_RANGE = (1, 5000)
PRESET_LEVEL_RANGE = (-2000, 4000)
MAX_CATCH_ITEMS = 50
MAX_QC_MEDIAN_SECONDS = 600
EXPOSURE_OFF = "off"
EXPOSURE_FIXED = "fixed"
EXPOSURE_STAIRCASE = "staircase"
EXPOSURES = {
    EXPOSURE_OFF: "Unlimited viewing time",
    EXPOSURE_FIXED: "Fixed exposure, then a mask",
    EXPOSURE_STAIRCASE: "Adaptive exposure (up-down staircase per reader), then a mask",
}
EXPOSURE_MS_RANGE = (50, 10_000)  # at least three frames at 60 Hz; at most ten seconds
MAX_EXPOSURE_RUN = 5  # up to 5-up or 5-down
MAX_EXPOSURE_REVERSALS = 50
MAX_EXPOSURE_STEP_PERCENT = 100
SLAB_THICKNESS_RANGE_MM = (10, 400)
SLAB_SPACING_RANGE_MM = (0.5, 10.0)
MAX_SLAB_SLICES = 401
DEFAULT_SLAB_SPACING_MM = 2.5
TASK_SINGLE = "single"
TASK_2AFC = "2afc"
TASKS = {
    TASK_SINGLE: "One slice at a time: real, synthetic or indeterminable",
    TASK_2AFC: "Two-alternative forced choice: which of two slices side by side is real",
}


class DesignError(ValueError):
    """A study design that cannot be used; the message is one line naming the option."""


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DesignError(f"{name} must be a whole number, not {value!r}")
    return value


def _preset(value) -> WindowPreset:
    if isinstance(value, WindowPreset):
        value = dataclasses.asdict(value)
    if isinstance(value, list | tuple) and len(value) == 3:
        value = dict(zip(("name", "width", "level"), value, strict=True))
    if not isinstance(value, dict) or set(value) != {"name", "width", "level"}:
        raise DesignError("a window preset is a name, a width and a level")
    name = value["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > PRESET_NAME_CHARS:
        raise DesignError(f"a window preset needs a name of 1..{PRESET_NAME_CHARS} characters")
    if not name.isprintable() or any(c in name for c in "<>&\"'"):
        raise DesignError(f"window preset name {name!r} has characters that are not allowed")
    width = _whole(f"the width of preset {name!r}", value["width"])
    level = _whole(f"the level of preset {name!r}", value["level"])
    if not PRESET_WIDTH_RANGE[0] <= width <= PRESET_WIDTH_RANGE[1]:
        raise DesignError(
            f"the width of preset {name!r} must be {PRESET_WIDTH_RANGE[0]}..{PRESET_WIDTH_RANGE[1]} HU"
        )
    if not PRESET_LEVEL_RANGE[0] <= level <= PRESET_LEVEL_RANGE[1]:
        raise DesignError(
            f"the level of preset {name!r} must be {PRESET_LEVEL_RANGE[0]}..{PRESET_LEVEL_RANGE[1]} HU"
        )
    return WindowPreset(name.strip(), width, level)


@dataclass(frozen=True)
class StudyDesign:
    rating: str = RATING_NONE
    choice_from_rating: bool = False
    window_presets: tuple[WindowPreset, ...] = CT_WINDOW_PRESETS
    practice_items: int = 0
    repeat: str = REPEAT_OFF
    repeat_items: int = 0  # m, with repeat = subset
    washout_days: int = 0  # days between the end of the first reading and the second
    stack_k: int = 0  # 0: one slice; k: a stack of 2k+1 slices, k neighbours on each side of the centre
    # With a rating and an asked choice: a rating that leans against the choice is confirmed by the reader first.
    confirm_contradictions: bool = True
    # Catch trials and the exclusion rules of reader quality control (studies.catch, studies.quality); 0: off.
    catch_items: int = 0
    qc_min_catch_percent: int = 0
    qc_min_median_seconds: float = 0.0
    qc_max_run: int = 0
    # Time-limited exposure (studies.exposure); every option but `exposure` is the default while it is off.
    exposure: str = EXPOSURE_OFF
    exposure_ms: int = 0  # fixed: the exposure; staircase: its start
    exposure_step_ms: int = 0  # staircase: a linear step (ms) ...
    exposure_step_percent: int = 0  # ... or a multiplicative one (x or / by 1 + p/100)
    exposure_min_ms: int = 0
    exposure_max_ms: int = 0
    exposure_up: int = 0  # wrong answers in a row that lengthen the exposure (1 in 1-up/3-down)
    exposure_down: int = 0  # correct answers in a row that shorten it (3 in 1-up/3-down)
    exposure_reversals: int = 0  # the last reversals averaged into a reader's threshold
    # Slab reading: 0 = off; else a slab this many mm thick (first to last plane), planes slab_spacing_mm apart.
    slab_thickness_mm: int = 0
    slab_spacing_mm: float = DEFAULT_SLAB_SPACING_MM
    # "single" (one slice, the paper's question) or "2afc" (a real and a synthetic slice side by side).
    task: str = TASK_SINGLE

    def __post_init__(self):
        if self.rating not in RATING_SCALES:
            raise DesignError(
                f"unknown confidence rating {self.rating!r} (one of {', '.join(RATING_SCALES)})"
            )
        if not isinstance(self.choice_from_rating, bool):
            raise DesignError("choice_from_rating must be true or false")
        if self.choice_from_rating and self.rating == RATING_NONE:
            raise DesignError("the choice can be derived from the rating only when there is a rating")
        if isinstance(self.window_presets, str) or not isinstance(self.window_presets, list | tuple):
            raise DesignError("window presets must be a list")
        presets = tuple(_preset(p) for p in self.window_presets)
        if not 1 <= len(presets) <= MAX_WINDOW_PRESETS:
            raise DesignError(f"a survey has 1..{MAX_WINDOW_PRESETS} window presets, not {len(presets)}")
        names = [p.name.lower() for p in presets]
        if len(set(names)) != len(names):
            raise DesignError("window preset names must differ")
        object.__setattr__(self, "window_presets", presets)
        practice = _whole("practice_items", self.practice_items)
        if not 0 <= practice <= MAX_PRACTICE_ITEMS:
            raise DesignError(f"practice items must be 0..{MAX_PRACTICE_ITEMS}, not {practice}")
        if self.repeat not in REPEATS:
            raise DesignError(f"unknown repeat reading {self.repeat!r} (one of {', '.join(REPEATS)})")
        repeat_items = _whole("repeat_items", self.repeat_items)
        if self.repeat == REPEAT_SUBSET and repeat_items < 1:
            raise DesignError("a repeated subset needs at least 1 item")
        if self.repeat != REPEAT_SUBSET and repeat_items != 0:
            raise DesignError("the number of repeated items applies to a repeated subset only")
        washout = _whole("washout_days", self.washout_days)
        if not 0 <= washout <= MAX_WASHOUT_DAYS:
            raise DesignError(f"the wash-out must be 0..{MAX_WASHOUT_DAYS} days, not {washout}")
        if washout and self.repeat == REPEAT_OFF:
            raise DesignError("a wash-out applies to a repeat reading only")
        if not isinstance(self.confirm_contradictions, bool):
            raise DesignError("confirm_contradictions must be true or false")
        stack_k = _whole("stack_k", self.stack_k)
        if not 0 <= stack_k <= MAX_STACK_K:
            raise DesignError(
                f"stack_k must be 0 (one slice) or 1..{MAX_STACK_K} (a stack of 2k+1 slices), not {stack_k}"
            )
        self._check_quality_control()
        self._check_exposure()
        self._check_slab()
        self._check_task()

    def _check_task(self):
        if self.task not in TASKS:
            raise DesignError(f"unknown task {self.task!r} (one of {', '.join(TASKS)})")
        if self.task != TASK_2AFC:
            return
        refusals = (
            (self.is_stack, "stack_k must be 0"),
            (self.is_slab, "slab_thickness_mm must be 0"),
            (self.exposure != EXPOSURE_OFF, "exposure must be off"),
            (self.practice_items, "practice_items must be 0"),
            (self.repeat != REPEAT_OFF, "repeat must be off"),
            (self.rating not in (RATING_NONE, RATING_FIVE_POINT), "rating must be none or five_point"),
            (self.choice_from_rating, "choice_from_rating must be false"),
        )
        for refused, what in refusals:
            if refused:
                raise DesignError(f"a 2afc task shows two single slices side by side: {what}")

    def _check_quality_control(self):
        catch = _whole("catch_items", self.catch_items)
        if not 0 <= catch <= MAX_CATCH_ITEMS:
            raise DesignError(f"catch_items must be 0..{MAX_CATCH_ITEMS}, not {catch}")
        percent = _whole("qc_min_catch_percent", self.qc_min_catch_percent)
        if not 0 <= percent <= 100:
            raise DesignError(f"qc_min_catch_percent must be 0..100 (0: no rule), not {percent}")
        if percent and not catch:
            raise DesignError("qc_min_catch_percent needs catch items (catch_items at least 1)")
        if catch and (self.exposure != EXPOSURE_OFF or self.slab_thickness_mm or self.task != TASK_SINGLE):
            raise DesignError(
                "catch items are drawn on single slices and stacks: exposure must be off, slab_thickness_mm 0 "
                "and the task single"
            )
        seconds = self.qc_min_median_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
            raise DesignError(f"qc_min_median_seconds must be a number of seconds, not {seconds!r}")
        if not 0 <= seconds <= MAX_QC_MEDIAN_SECONDS:
            raise DesignError(
                f"qc_min_median_seconds must be 0..{MAX_QC_MEDIAN_SECONDS} (0: no rule), not {seconds:g}"
            )
        object.__setattr__(self, "qc_min_median_seconds", float(seconds))
        run = _whole("qc_max_run", self.qc_max_run)
        if run < 0 or run == 1:
            raise DesignError(f"qc_max_run must be 0 (no rule) or at least 2, not {run}")

    def _check_exposure(self):
        if self.exposure not in EXPOSURES:
            raise DesignError(f"unknown exposure {self.exposure!r} (one of {', '.join(EXPOSURES)})")
        names = [f.name for f in dataclasses.fields(self) if f.name.startswith("exposure_")]
        values = {name: _whole(name, getattr(self, name)) for name in names}
        staircase_only = [n for n in names if n != "exposure_ms"]
        if self.exposure == EXPOSURE_OFF:
            given = [n for n in names if values[n]]
            if given:
                raise DesignError(
                    f"{given[0]} applies to a time-limited exposure only (exposure fixed or staircase)"
                )
            return
        if self.is_stack or self.slab_thickness_mm:
            raise DesignError(
                "a time-limited exposure shows one slice: stack_k and slab_thickness_mm must be 0"
            )
        low, high = EXPOSURE_MS_RANGE

        def in_range(name):
            if not low <= values[name] <= high:
                raise DesignError(f"{name} must be {low}..{high} ms, not {values[name]}")

        in_range("exposure_ms")
        if self.exposure == EXPOSURE_FIXED:
            given = [n for n in staircase_only if values[n]]
            if given:
                raise DesignError(f"{given[0]} applies to a staircase only (exposure staircase)")
            return
        in_range("exposure_min_ms")
        in_range("exposure_max_ms")
        if not values["exposure_min_ms"] <= values["exposure_ms"] <= values["exposure_max_ms"]:
            raise DesignError(
                "the staircase starts (exposure_ms) between exposure_min_ms and exposure_max_ms"
            )
        if values["exposure_min_ms"] == values["exposure_max_ms"]:
            raise DesignError("a staircase needs exposure_min_ms below exposure_max_ms")
        if (values["exposure_step_ms"] > 0) == (values["exposure_step_percent"] > 0):
            raise DesignError(
                "a staircase steps by exposure_step_ms or by exposure_step_percent (one of them)"
            )
        if values["exposure_step_ms"] < 0 or values["exposure_step_ms"] > high:
            raise DesignError(f"exposure_step_ms must be 1..{high}")
        if not 0 <= values["exposure_step_percent"] <= MAX_EXPOSURE_STEP_PERCENT:
            raise DesignError(f"exposure_step_percent must be 1..{MAX_EXPOSURE_STEP_PERCENT}")
        for name in ("exposure_up", "exposure_down"):
            if not 1 <= values[name] <= MAX_EXPOSURE_RUN:
                raise DesignError(f"{name} must be 1..{MAX_EXPOSURE_RUN} (1-up/3-down: up 1, down 3)")
        if not 1 <= values["exposure_reversals"] <= MAX_EXPOSURE_REVERSALS:
            raise DesignError(f"exposure_reversals must be 1..{MAX_EXPOSURE_REVERSALS}")

    def _check_slab(self):
        thickness = _whole("slab_thickness_mm", self.slab_thickness_mm)
        spacing = self.slab_spacing_mm
        if isinstance(spacing, bool) or not isinstance(spacing, int | float) or not math.isfinite(spacing):
            raise DesignError(f"slab_spacing_mm must be a number, not {spacing!r}")
        object.__setattr__(self, "slab_spacing_mm", float(spacing))
        low, high = SLAB_SPACING_RANGE_MM
        if not low <= spacing <= high:
            raise DesignError(f"slab_spacing_mm must be {low:g}..{high:g} mm, not {spacing:g}")
        if thickness == 0:
            return
        low, high = SLAB_THICKNESS_RANGE_MM
        if not low <= thickness <= high:
            raise DesignError(f"slab_thickness_mm must be 0 (no slab) or {low}..{high} mm, not {thickness}")
        if self.stack_k:
            raise DesignError("a survey reads stacks (stack_k) or slabs (slab_thickness_mm), not both")
        ratio = thickness / spacing
        if not math.isclose(ratio, round(ratio), abs_tol=1e-9) or round(ratio) % 2:
            raise DesignError(
                f"slab_thickness_mm ({thickness}) must be an even number of slab_spacing_mm ({spacing:g}), "
                "so the slab has a middle plane"
            )
        if round(ratio) + 1 > MAX_SLAB_SLICES:
            raise DesignError(
                f"a slab of {thickness} mm at {spacing:g} mm has {round(ratio) + 1} planes, more than "
                f"{MAX_SLAB_SLICES}"
            )

    # --- derived values -------------------------------------------------------------------------------------

    @property
    def has_rating(self) -> bool:
        return self.rating != RATING_NONE

    @property
    def rating_range(self) -> tuple[int, int] | None:
        return RATING_RANGES.get(self.rating)

    @property
    def has_repeat(self) -> bool:
        return self.repeat != REPEAT_OFF

    def repeated_count(self, item_count: int) -> int:
        """How many items the second reading holds in a survey of `item_count` items."""
        if self.repeat == REPEAT_ALL:
            return item_count
        return self.repeat_items if self.repeat == REPEAT_SUBSET else 0

    @property
    def is_stack(self) -> bool:
        return self.stack_k > 0

    @property
    def is_slab(self) -> bool:
        return self.slab_thickness_mm > 0

    @property
    def stack_slices(self) -> int:
        """How many slices each item's payload holds: 2k+1 for a stack, thickness / spacing + 1 for a slab (1 for
        a single slice)."""
        if self.is_slab:
            return round(self.slab_thickness_mm / self.slab_spacing_mm) + 1
        return 2 * self.stack_k + 1

    @property
    def scrolls(self) -> bool:
        """Whether the reader scrolls through several slices (a stack or a slab)."""
        return self.stack_slices > 1

    @property
    def centre_slice(self) -> int:
        """The index in the payload of the item's own slice (the middle one): k for a stack, 0 for one slice."""
        return (self.stack_slices - 1) // 2

    @property
    def stack_offsets(self) -> tuple[int, ...]:
        """The offsets of an item's slices from its centre slice, in payload order: -k..k."""
        return tuple(range(-self.centre_slice, self.centre_slice + 1))

    @property
    def asks_choice(self) -> bool:
        """Whether the reader chooses real / synthetic / indeterminable (else it is derived from the rating)."""
        return not self.choice_from_rating

    @property
    def checks_contradictions(self) -> bool:
        """Whether a rating that contradicts the chosen answer is confirmed first (a rating beside an asked choice,
        the survey's option on)."""
        return self.has_rating and self.asks_choice and self.confirm_contradictions

    @property
    def has_catch(self) -> bool:
        return self.catch_items > 0

    @property
    def quality_rules(self) -> QualityRules:
        """The exclusion rules of reader quality control (studies.quality)."""
        return QualityRules(
            min_catch_percent=self.qc_min_catch_percent,
            min_median_seconds=self.qc_min_median_seconds,
            max_run=self.qc_max_run,
        )

    @property
    def has_exposure(self) -> bool:
        return self.exposure != EXPOSURE_OFF

    @property
    def staircase(self) -> Staircase | None:
        """The staircase rule of a staircase survey, else None."""
        if self.exposure != EXPOSURE_STAIRCASE:
            return None
        return Staircase(
            start_ms=self.exposure_ms,
            min_ms=self.exposure_min_ms,
            max_ms=self.exposure_max_ms,
            step_ms=self.exposure_step_ms,
            step_percent=self.exposure_step_percent,
            down=self.exposure_down,
            up=self.exposure_up,
            reversals=self.exposure_reversals,
        )

    @property
    def is_two_afc(self) -> bool:
        return self.task == TASK_2AFC

    def replace(self, **changes) -> StudyDesign:
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        parts = [RATING_SCALES[self.rating]]
        if self.choice_from_rating:
            parts.append("choice derived from the rating")
        presets = ", ".join(f"{p.name} {p.width}/{p.level}" for p in self.window_presets)
        parts.append(f"presets {presets}")
        parts.append(f"{self.practice_items} practice item(s)")
        if self.has_rating and self.asks_choice and not self.confirm_contradictions:
            parts.append("contradicting ratings not confirmed")
        if self.is_stack:
            parts.append(f"stack of {self.stack_slices} slices")
        if self.exposure == EXPOSURE_FIXED:
            parts.append(f"exposure {self.exposure_ms} ms, then a mask")
        elif self.exposure == EXPOSURE_STAIRCASE:
            step = (
                f"{self.exposure_step_ms} ms" if self.exposure_step_ms else f"{self.exposure_step_percent} %"
            )
            parts.append(
                f"exposure staircase {self.exposure_up}-up/{self.exposure_down}-down from {self.exposure_ms} ms, "
                f"steps of {step} within {self.exposure_min_ms}..{self.exposure_max_ms} ms, threshold from the "
                f"last {self.exposure_reversals} reversals"
            )
        if self.is_slab:
            parts.append(
                f"slab of {self.slab_thickness_mm} mm ({self.stack_slices} planes {self.slab_spacing_mm:g} mm "
                "apart) in axial, coronal and sagittal views"
            )
        if self.is_two_afc:
            parts.append("two-alternative forced choice (a real and a synthetic slice side by side)")
        if self.has_repeat:
            what = "every item" if self.repeat == REPEAT_ALL else f"{self.repeat_items} item(s)"
            parts.append(f"repeat reading of {what} after {self.washout_days} day(s)")
        if self.has_catch:
            parts.append(f"{self.catch_items} catch item(s)")
        if self.quality_rules.any:
            parts.append("exclusion: " + ", ".join(self.quality_rules.describe()))
        return "; ".join(parts)

    # --- storage ----------------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["window_presets"] = [dataclasses.asdict(p) for p in self.window_presets]
        return data

    @classmethod
    def from_dict(cls, data) -> StudyDesign:
        """A design from stored or submitted JSON; unknown keys are refused, missing ones take the defaults."""
        if not isinstance(data, dict):
            raise DesignError("a study design must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DesignError(f"unknown study design option(s): {', '.join(unknown)}")
        return cls(**data)


def parse_preset_line(line: str, number: int) -> dict:
    """One window preset from text: "name width level" (the name may contain spaces) or "name:width:level"; raises
    DesignError naming the preset by its `number` when it is not."""
    parts = line.replace(":", " ").split()
    if len(parts) < 3:
        raise DesignError(f"window preset {number} must be: name width level")
    try:
        width, level = int(parts[-2]), int(parts[-1])
    except ValueError:
        raise DesignError(f"window preset {number}: width and level must be whole numbers") from None
    return {"name": " ".join(parts[:-2]), "width": width, "level": level}


def check_rating(design: StudyDesign, rating) -> int | None:
    """The rating of one submission, validated against the survey's scale: None without a scale; raises
    DesignError (one line) for a missing, non-integer or out-of-range rating, or a rating the survey does not ask."""
    if not design.has_rating:
        if rating is not None:
            raise DesignError("this survey asks for no rating")
        return None
    low, high = design.rating_range
    if rating is None:
        raise DesignError(f"rating is required ({low}..{high})")
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise DesignError(f"rating must be a whole number {low}..{high}")
    if not low <= rating <= high:
        raise DesignError(f"rating must be between {low} and {high}")
    return rating


def derive_choice(design: StudyDesign, rating: int) -> str:
    """The real / synthetic / indeterminable choice a rating stands for: below the midpoint real, above it
    synthetic, the midpoint itself indeterminable (5-point: 1-2 real, 3 indeterminable, 4-5 synthetic)."""
    midpoint = RATING_MIDPOINTS[design.rating]
    if rating < midpoint:
        return "real"
    if rating > midpoint:
        return "synthetic"
    return "indeterminable"


def rating_contradicts(design: StudyDesign, choice: str | None, rating: int | None) -> bool:
    """Whether a rating leans against the chosen answer: it leans real or synthetic (not the scale's midpoint) and
    the choice is the other side or indeterminable (5-point: 4 with "real" or "indeterminable"). Never without a
    rating or a choice."""
    if not design.has_rating or rating is None or choice is None:
        return False
    leaning = derive_choice(design, rating)
    return leaning != "indeterminable" and leaning != choice
