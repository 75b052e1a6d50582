"""What it takes to create a survey: one value, :class:`SurveyInput`, validated here and nowhere else. Pure Python.

Every door that creates a survey (the admin's add page, `manage.py create_survey`, `POST /api/v1/surveys/`) hands
the values it received to :func:`parse_survey_input` (through `studies.services.create_survey`), so each door takes
every option and refuses the same garbage with the same line. The options, in the API's names:

- `name` (for the study team), `model` (a synthetic CT dataset's name), `real_dataset` (a real CT dataset's name),
  `real` and `synthetic` (items per side, equal), `seed` (of the item selection): required;
- `model_alias`, `reader_title`, `instructions`, `allow_going_back`; `reader_title_it` and `instructions_it`
  (what Italian pages show; empty: the English);
- `display_policy`: the fields of :class:`studies.policy.DisplayPolicy`, each optional;
- `design`: the fields of :class:`studies.design.StudyDesign`, each optional; `window_presets` is a list of presets,
  each {"name", "width", "level"}, [name, width, level] or "name width level" (or "name:width:level"), or one text
  of such lines; `slab_thickness_mm` (whole mm, 0 = no slab) and `slab_spacing_mm` (a number of mm) make slab items.

Values may be what a command line or an HTML form gives (text) or what JSON gives (numbers, true/false, objects);
either way a whole number is a whole number and nothing else is. A refusal is a :class:`SurveyInputError` (a
`StudyError`) whose message is one line naming the option. Whether the datasets exist, the name is free and the pools are large enough
is the service's to check (`studies.services.surveys`), with the same kind of line.
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from studies.design import DesignError, StudyDesign, parse_preset_line
from studies.errors import StudyError
from studies.policy import DisplayPolicy, PolicyError

MAX_ITEMS_PER_SIDE = 500
MAX_SEED = 2**63 - 1
NAME_CHARS = 128  # the survey's name, a dataset's name, the reader title
ALIAS_CHARS = 64
INSTRUCTIONS_CHARS = 10_000
DEFAULT_READER_TITLE = "Reader study"
# What a missing whole-number option is; a missing text option is empty, and refused as such.
REQUIRED_NUMBERS = {
    "real": "the number of real items",
    "synthetic": "the number of synthetic items",
    "seed": "the seed of the item selection",
}
POLICY_OPTIONS = tuple(f.name for f in dataclasses.fields(DisplayPolicy))
DESIGN_OPTIONS = tuple(f.name for f in dataclasses.fields(StudyDesign))
_WHOLE_TEXT = re.compile(r"\s*[+-]?\d{1,30}\s*")
_NUMBER_TEXT = re.compile(r"\s*[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})\s*")


class SurveyInputError(StudyError):
    """Options a survey cannot be created from; the message is one line naming the option."""


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40


def shown(value) -> str:
    """A value as a refusal quotes it: its repr, cut short (whatever its size)."""
    text = _SHORT.repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def text_option(option: str, value, *, limit: int, lines: bool = False) -> str:
    """Text without surrounding blanks or control characters (line breaks and tabs allowed with `lines`)."""
    if not isinstance(value, str):
        raise SurveyInputError(f"{option} must be text, not {shown(value)}")
    value = value.strip()
    allowed = "\n\r\t" if lines else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise SurveyInputError(f"{option} must not contain control characters")
    if len(value) > limit:
        raise SurveyInputError(f"{option} must be at most {limit} characters, not {len(value)}")
    return value


class _Missing:
    def __repr__(self):
        return "nothing"


MISSING = _Missing()


def whole_option(option: str, value) -> int:
    """A whole number, given as a number or as its digits."""
    if value is MISSING:
        raise SurveyInputError(f"{option} is required ({REQUIRED_NUMBERS.get(option, 'a whole number')})")
    if isinstance(value, str) and _WHOLE_TEXT.fullmatch(value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SurveyInputError(f"{option} must be a whole number, not {shown(value)}")
    return value


def number_option(option: str, value) -> float | None:
    """A number (None when empty), given as a number or as its digits."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**300:
        value = float(value)
    if not isinstance(value, float) or not math.isfinite(value):
        raise SurveyInputError(f"{option} must be a number, not {shown(value)}")
    return value


def flag_option(option: str, value) -> bool:
    """True or false (JSON's, or the words)."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise SurveyInputError(f"{option} must be true or false, not {shown(value)}")
    return value


def _options(values, known: tuple[str, ...], *, shape: str) -> dict:
    if not isinstance(values, Mapping):
        raise SurveyInputError(f"{shape}, not {shown(values)}")
    unknown = sorted(str(name) for name in values if name not in known)
    if unknown:
        listed = ", ".join(shown(name).strip("'") for name in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise SurveyInputError(f"unknown option(s): {listed}{more}")
    return {name: value for name, value in values.items() if value is not None}


def _prefixed(prefix: str, parse, values):
    try:
        return parse(values)
    except (SurveyInputError, PolicyError, DesignError) as exc:
        raise SurveyInputError(f"{prefix}: {exc}") from None


def _policy(values) -> DisplayPolicy:
    given = _options(values, POLICY_OPTIONS, shape="give its options as a JSON object")
    for name, value in given.items():
        if name == "field_of_view_mm":
            given[name] = number_option(name, value)
        elif name in ("interpolation", "mask", "field_of_view"):
            given[name] = text_option(name, value, limit=32)
        else:
            given[name] = whole_option(name, value)
    return DisplayPolicy(**given)


def parse_display_policy(values) -> DisplayPolicy:
    """A display policy from the options given (the defaults for the rest); a refusal starts "display policy: "."""
    if isinstance(values, DisplayPolicy):
        return values
    return _prefixed("display policy", _policy, values)


def _presets(value) -> list:
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list | tuple):
        raise SurveyInputError(f"window_presets must be a list of presets, not {shown(value)}")
    if len(value) > 100:
        raise SurveyInputError(f"window_presets must be a short list, not {len(value)} presets")
    return [parse_preset_line(p, number) if isinstance(p, str) else p for number, p in enumerate(value, 1)]


def _design(values) -> StudyDesign:
    given = _options(values, DESIGN_OPTIONS, shape="give its options as a JSON object")
    for name, value in given.items():
        if name in ("rating", "repeat", "exposure", "task"):
            given[name] = text_option(name, value, limit=32)
        elif name in ("choice_from_rating", "confirm_contradictions"):
            given[name] = flag_option(name, value)
        elif name == "window_presets":
            given[name] = _presets(value)
        elif name == "qc_min_median_seconds":
            given[name] = number_option(name, value) or 0.0
        elif name == "slab_spacing_mm":
            given[name] = number_option(name, value)
            if given[name] is None:
                del given[name]
        else:
            given[name] = whole_option(name, value)
    return StudyDesign(**given)


def parse_study_design(values) -> StudyDesign:
    """A study design from the options given (the defaults for the rest); a refusal starts "study design: "."""
    if isinstance(values, StudyDesign):
        return values
    return _prefixed("study design", _design, values)


@dataclass(frozen=True)
class SurveyInput:
    """Everything a new survey is made from. Constructing one validates (and normalises) every option, whether it
    comes as Python values or as a door's text; `display_policy` and `design` take their value objects or the
    mappings of their options."""

    name: str
    model: str  # the synthetic CT dataset under test, by name
    real_dataset: str  # real CT of the same contrast kind, by name
    real: int
    synthetic: int
    seed: int
    model_alias: str = ""
    reader_title: str = DEFAULT_READER_TITLE
    instructions: str = ""
    reader_title_it: str = ""
    instructions_it: str = ""
    allow_going_back: bool = False
    display_policy: DisplayPolicy = field(default_factory=DisplayPolicy)
    design: StudyDesign = field(default_factory=StudyDesign)

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        put("name", text_option("name", self.name, limit=NAME_CHARS))
        if not self.name:
            raise SurveyInputError("a survey needs a name")
        for name, kind in (("model", "synthetic CT"), ("real_dataset", "real CT")):
            put(name, text_option(name, getattr(self, name), limit=NAME_CHARS))
            if not getattr(self, name):
                raise SurveyInputError(f"{name} must name a {kind} dataset")
        put("real", whole_option("real", self.real))
        put("synthetic", whole_option("synthetic", self.synthetic))
        if self.real != self.synthetic:
            raise SurveyInputError(
                f"a survey is balanced: real ({self.real}) and synthetic ({self.synthetic}) must be equal"
            )
        if not 1 <= self.real <= MAX_ITEMS_PER_SIDE:
            raise SurveyInputError(
                f"the number of items per side must be 1..{MAX_ITEMS_PER_SIDE}, not {self.real}"
            )
        put("seed", whole_option("seed", self.seed))
        if not 0 <= self.seed <= MAX_SEED:
            raise SurveyInputError(f"seed must be between 0 and 2**63 - 1, not {self.seed}")
        put("model_alias", text_option("model_alias", self.model_alias, limit=ALIAS_CHARS))
        put("reader_title", text_option("reader_title", self.reader_title, limit=NAME_CHARS))
        if not self.reader_title:
            raise SurveyInputError("readers need a title for the survey (reader_title)")
        put(
            "instructions",
            text_option("instructions", self.instructions, limit=INSTRUCTIONS_CHARS, lines=True),
        )
        put("reader_title_it", text_option("reader_title_it", self.reader_title_it, limit=NAME_CHARS))
        put(
            "instructions_it",
            text_option("instructions_it", self.instructions_it, limit=INSTRUCTIONS_CHARS, lines=True),
        )
        put("allow_going_back", flag_option("allow_going_back", self.allow_going_back))
        put("display_policy", parse_display_policy(self.display_policy))
        put("design", parse_study_design(self.design))
        if self.design.is_slab and self.display_policy.per_slice_field_of_view:
            raise SurveyInputError(
                "slab reading needs one field of view for the survey (display policy field_of_view 'survey'), "
                "so every slab has the same mm per pixel"
            )
        if self.design.repeat_items > self.item_count:
            raise SurveyInputError(
                f"a repeated subset of {self.design.repeat_items} items is larger than the survey "
                f"({self.item_count} items)"
            )
        if self.design.is_two_afc and self.allow_going_back:
            raise SurveyInputError(
                "a 2afc task keeps each pair's first answer: allow_going_back must be false"
            )
        if self.design.catch_items > self.synthetic:
            raise SurveyInputError(
                f"{self.design.catch_items} catch items are more than the survey's synthetic items "
                f"({self.synthetic}); at most one per synthetic item"
            )
        if self.design.has_exposure and self.allow_going_back:
            raise SurveyInputError(
                "a time-limited exposure shows each image once: allow_going_back must be false"
            )

    @property
    def item_count(self) -> int:
        return self.real + self.synthetic

    def to_values(self) -> dict:
        """The options as JSON values: what `parse_survey_input` takes back."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**values, "display_policy": self.display_policy.to_dict(), "design": self.design.to_dict()}


OPTIONS = tuple(f.name for f in dataclasses.fields(SurveyInput))


def parse_survey_input(values) -> SurveyInput:
    """The survey input a door received (a mapping of option names to values; an option absent or None, here or in
    `display_policy` and `design`, takes its default); raises SurveyInputError with one line naming the first bad option."""
    given = _options(values, OPTIONS, shape="a survey's options must be a JSON object")
    for name in ("name", "model", "real_dataset"):
        given.setdefault(name, "")
    for name in REQUIRED_NUMBERS:
        given.setdefault(name, MISSING)
    return SurveyInput(**given)
