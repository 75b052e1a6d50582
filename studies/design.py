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

Every option is the same for every item of a survey, real or synthetic: nothing here may depend on the truth.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from imaging.constants import CT_WINDOW_PRESETS, WindowPreset
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

    def _check_quality_control(self):
        catch = _whole("catch_items", self.catch_items)
        if not 0 <= catch <= MAX_CATCH_ITEMS:
            raise DesignError(f"catch_items must be 0..{MAX_CATCH_ITEMS}, not {catch}")
        percent = _whole("qc_min_catch_percent", self.qc_min_catch_percent)
        if not 0 <= percent <= 100:
            raise DesignError(f"qc_min_catch_percent must be 0..100 (0: no rule), not {percent}")
        if percent and not catch:
            raise DesignError("qc_min_catch_percent needs catch items (catch_items at least 1)")
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
    def stack_slices(self) -> int:
        """How many slices each item shows: 2k+1 (1 without a stack)."""
        return 2 * self.stack_k + 1

    @property
    def stack_offsets(self) -> tuple[int, ...]:
        """The offsets of an item's slices from its centre slice, in payload order: -k..k."""
        return tuple(range(-self.stack_k, self.stack_k + 1))

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
