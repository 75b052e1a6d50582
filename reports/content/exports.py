"""Tidy exports of a reader study and of image-distribution metrics: CSV, data dictionary, JSON; no Django.

One :class:`AnswerRow` per answer (a reader's current answer to one item) and one :class:`MetricRow` per stored
metric result; the column lists below are the data dictionaries, written next to the data and documented in
``docs/statistics.md``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metrics.measures.vocabulary import AVERAGE_LAYER, LOWER_IS_BETTER, METRIC_LABELS

if TYPE_CHECKING:
    from readerstats import AnswerTable

# A cell that starts with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    values: str = ""


ANSWER_COLUMNS = (
    Column("survey", "text", "Name of the survey."),
    Column(
        "model_alias", "text", "Short name of the model under test in the survey (never shown to readers)."
    ),
    Column("model", "text", "Name of the synthetic CT dataset the survey's synthetic items come from."),
    Column(
        "reader",
        "text",
        "Pseudonym of the reader: the same reader has the same pseudonym in every survey and download; it "
        "cannot be turned back into an account without the server's secret key.",
    ),
    Column("reader_specialty", "text", "Specialty the reader stated; empty if not stated.", "see values"),
    Column(
        "reader_years_of_experience", "integer", "Years of experience the reader stated; empty if not stated."
    ),
    Column("item", "text", "Opaque public id of the item (one slice in one survey), as the reader saw it."),
    Column("truth", "text", "Whether the item is a real or a synthetic CT slice.", "real | synthetic"),
    Column("answer", "text", "The reader's current answer.", "real | synthetic | indeterminable"),
    Column(
        "correct",
        "integer",
        "1 if answer equals truth, else 0 (an indeterminable answer is 0 here; the statistics report accuracy "
        "both with indeterminable excluded and counted as wrong).",
        "0 | 1",
    ),
    Column(
        "reason",
        "text",
        "Why the reader answered so, in their words; empty if not given. A reason starting with = + - @ is "
        "written with a leading apostrophe so that spreadsheet programs do not run it as a formula.",
    ),
    Column("seconds_on_slice", "number", "Seconds the slice was on screen before the current answer."),
    Column("window_width", "number", "Window width (HU) on screen when the reader answered."),
    Column("window_level", "number", "Window level (HU) on screen when the reader answered."),
    Column("window_changed", "integer", "1 if the reader changed the window on this slice, else 0.", "0 | 1"),
    Column("zoom", "number", "Zoom factor on screen when the reader answered (1 = fit)."),
    Column(
        "invert_used",
        "integer",
        "1 if the reader inverted the grey scale on this slice before the current answer, else 0.",
        "0 | 1",
    ),
    Column(
        "axial_layer", "integer", "Axial layer of the slice: 1 (lower abdomen) .. 10 (lung bases).", "1..10"
    ),
    Column(
        "revisions",
        "integer",
        "How many times the reader submitted an answer to this item (1 = never changed).",
    ),
    Column("answered_at", "timestamp", "When the current answer was given (ISO 8601, UTC)."),
    Column(
        "round",
        "integer",
        "Reading round: 1 for the first reading (the only one in the statistics), 2 for a repeat reading of the "
        "same item by the same reader (surveys with repeat reading; for intra-reader agreement).",
        "1 | 2",
    ),
    Column(
        "rating_scale",
        "text",
        "The survey's confidence scale: none, five_point (1 = certainly real .. 5 = certainly synthetic) or "
        "slider (0 = certainly real .. 100 = certainly synthetic).",
        "none | five_point | slider",
    ),
    Column(
        "rating",
        "integer",
        "How sure the reader was that the image is synthetic, on the survey's scale; empty when the survey asks "
        "for no rating.",
        "1..5 | 0..100",
    ),
    Column(
        "choice_derived",
        "integer",
        "1 if the survey derives the answer from the rating (below the midpoint real, above it synthetic, the "
        "midpoint indeterminable) instead of asking it, else 0.",
        "0 | 1",
    ),
    Column(
        "stack_slices",
        "integer",
        "How many slices the item showed: 1 for a single slice, 2k+1 for a stack the reader scrolled through "
        "(the answer is for the centre slice).",
        "1 | 3 | 5 | 7 | 9 | 11",
    ),
    Column(
        "slices_visited",
        "text",
        "Stack reading: the offsets from the centre slice the reader looked at before the current answer, in the "
        "order first seen, separated by spaces (0 = the centre, where the stack opens; -1 the slice below it, 1 "
        "the slice above); empty for a single slice. A list in the JSON export.",
        "-k..k",
    ),
    Column(
        "seconds_per_slice",
        "text",
        "Stack reading: seconds each slice was on screen before the current answer, from offset -k to +k, "
        "separated by spaces; empty for a single slice. A list in the JSON export.",
    ),
    Column(
        "exposure_requested_ms",
        "integer",
        "Time-limited exposure: how long the server asked the page to show the image (ms), the survey's fixed "
        "exposure or the reader's staircase level; empty without an exposure.",
    ),
    Column(
        "exposure_measured_ms",
        "number",
        "Time-limited exposure: how long the image was on screen as the reader's page measured it (ms, from the "
        "first frame painted with the image to the first painted with the mask); empty without an exposure.",
    ),
    Column(
        "exposure_rejected",
        "integer",
        "1 if the measured exposure differed from the requested one by more than two frames (34 ms): the answer "
        "moved no staircase and counts in no threshold; else 0.",
        "0 | 1",
    ),
)

PRACTICE_COLUMNS = (
    Column("survey", "text", "Name of the survey."),
    Column("reader", "text", "Pseudonym of the reader, the same as in the answers CSV."),
    Column(
        "practice_item",
        "text",
        "Opaque public id of the practice item (a slice never used as a test item of the survey).",
    ),
    Column(
        "truth",
        "text",
        "Whether the practice slice is real or synthetic (the reader was told).",
        "real | synthetic",
    ),
    Column("answer", "text", "The reader's answer before the feedback.", "real | synthetic | indeterminable"),
    Column(
        "rating", "integer", "The reader's rating on the survey's scale; empty without one.", "1..5 | 0..100"
    ),
    Column("seconds_on_slice", "number", "Seconds the practice slice was on screen before the answer."),
    Column("answered_at", "timestamp", "When the practice answer was given (ISO 8601, UTC)."),
    # The viewer's state at answer time, as in the answers CSV; every one of them is empty for a practice answer
    # stored before practice answers recorded it.
    Column("window_width", "number", "Window width (HU) on screen when the reader answered."),
    Column("window_level", "number", "Window level (HU) on screen when the reader answered."),
    Column(
        "window_changed",
        "integer",
        "1 if the reader changed the window on this practice slice, else 0.",
        "0 | 1",
    ),
    Column("zoom", "number", "Zoom factor on screen when the reader answered (1 = fit)."),
    Column(
        "invert_used",
        "integer",
        "1 if the reader inverted the grey scale on this practice slice before the answer, else 0.",
        "0 | 1",
    ),
    Column(
        "stack_slices",
        "integer",
        "How many slices the practice item showed: 1 for a single slice, 2k+1 for a stack.",
        "1 | 3 | 5 | 7 | 9 | 11",
    ),
    Column(
        "slices_visited",
        "text",
        "Stack reading: the offsets from the centre slice the reader looked at before the answer, in the order "
        "first seen, separated by spaces (0 = the centre); empty for a single slice.",
        "-k..k",
    ),
    Column(
        "seconds_per_slice",
        "text",
        "Stack reading: seconds each slice was on screen before the answer, from offset -k to +k, separated by "
        "spaces; empty for a single slice.",
    ),
)

METRIC_COLUMNS = (
    Column("model", "text", "Name of the synthetic CT dataset (the model under test)."),
    Column(
        "real_dataset", "text", "Name of the real CT dataset: split into a reference and a held-out half."
    ),
    Column(
        "layer", "integer", "Axial layer 1..10; 0 is the mean over the layers that have a score.", "0..10"
    ),
    Column("metric", "text", "Metric code.", " | ".join(METRIC_LABELS)),
    Column("metric_label", "text", "Metric name."),
    Column("lower_is_better", "integer", "1 for distances (FID, KID, KL), 0 for similarities.", "0 | 1"),
    Column("value", "number", "metric(reference real half, synthetic); empty when unavailable (see note)."),
    Column("baseline", "number", "metric(reference real half, held-out real half) at the same sample size."),
    Column(
        "normalised",
        "number",
        "value / baseline (layer 0: mean value / mean baseline); empty unless the baseline is positive.",
    ),
    Column("n_synthetic", "integer", "Synthetic slices compared (summed over layers for layer 0)."),
    Column("n_reference", "integer", "Real slices drawn from the reference half."),
    Column("n_held_out", "integer", "Real slices drawn from the held-out half."),
    Column(
        "note", "text", "Why a value is missing ('unavailable: <reason>'), or which layers the mean covers."
    ),
    Column("computed_at", "timestamp", "When the result was computed (ISO 8601, UTC)."),
)


@dataclass(frozen=True)
class AnswerRow:
    """One reader's current answer to one item, with everything the analysis needs about it."""

    survey: str
    model_alias: str
    model: str
    reader: str
    reader_specialty: str
    reader_years_of_experience: int | None
    item: str
    truth: str
    answer: str
    reason: str
    seconds_on_slice: float
    window_width: float
    window_level: float
    window_changed: bool
    zoom: float
    axial_layer: int
    revisions: int
    answered_at: datetime | None
    rating_scale: str = "none"
    rating: int | None = None
    choice_derived: bool = False
    invert_used: bool = False
    round: int = 1
    stack_slices: int = 1
    slices_visited: tuple[int, ...] = ()
    seconds_per_slice: tuple[float, ...] = ()
    exposure_requested_ms: int | None = None
    exposure_measured_ms: float | None = None
    exposure_rejected: bool = False

    @property
    def correct(self) -> bool:
        return self.truth == self.answer


@dataclass(frozen=True)
class PracticeRow:
    """One reader's answer to one practice item: never part of the answers CSV or of any statistic."""

    survey: str
    reader: str
    practice_item: str
    truth: str
    answer: str
    rating: int | None
    seconds_on_slice: float
    answered_at: datetime | None
    # The viewer's state at answer time; None (every one) for a practice answer stored before it was recorded.
    window_width: float | None = None
    window_level: float | None = None
    window_changed: bool | None = None
    zoom: float | None = None
    invert_used: bool | None = None
    stack_slices: int = 1
    slices_visited: tuple[int, ...] | None = None
    seconds_per_slice: tuple[float, ...] | None = None


@dataclass(frozen=True)
class MetricRow:
    """One stored image-distribution metric result."""

    model: str
    real_dataset: str
    layer: int
    metric: str
    value: float | None
    baseline: float | None
    normalised: float | None
    n_synthetic: int
    n_reference: int
    n_held_out: int
    note: str = ""
    computed_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def metric_label(self) -> str:
        return METRIC_LABELS.get(self.metric, self.metric)

    @property
    def is_average(self) -> bool:
        return self.layer == AVERAGE_LAYER


def answer_table(rows: Iterable[AnswerRow]) -> AnswerTable:
    """The statistics' input: truth, answer, reader, survey and item of every row."""
    from readerstats import AnswerTable  # here: loads SciPy, which web processes never import

    rows = list(rows)
    return AnswerTable(
        truth=[row.truth for row in rows],
        answer=[row.answer for row in rows],
        reader=[row.reader for row in rows],
        survey=[row.survey for row in rows],
        item=[row.item for row in rows],
    )


def spreadsheet_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    return str(value)


def _csv(header: Sequence[str], records: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for record in records:
        writer.writerow([_cell(value) for value in record])
    return buffer.getvalue().encode("utf-8")


def _answer_values(row: AnswerRow, *, for_spreadsheet: bool) -> dict[str, Any]:
    values = {column.name: getattr(row, column.name, None) for column in ANSWER_COLUMNS}
    values["correct"] = row.correct
    values["slices_visited"] = list(row.slices_visited)
    values["seconds_per_slice"] = list(row.seconds_per_slice)
    if for_spreadsheet:
        values["reason"] = spreadsheet_safe(row.reason)
        values["slices_visited"] = " ".join(str(offset) for offset in row.slices_visited)
        values["seconds_per_slice"] = " ".join(_cell(float(seconds)) for seconds in row.seconds_per_slice)
    return {column.name: values[column.name] for column in ANSWER_COLUMNS}


def answers_csv(rows: Iterable[AnswerRow]) -> bytes:
    """The tidy answers CSV (UTF-8, header row, one row per answer), columns as in ``ANSWER_COLUMNS``."""
    return _csv(
        [column.name for column in ANSWER_COLUMNS],
        (list(_answer_values(row, for_spreadsheet=True).values()) for row in rows),
    )


def answers_json(rows: Iterable[AnswerRow]) -> bytes:
    """The answers CSV's rows as a JSON list of objects (same columns; reasons as written, numbers as numbers)."""
    return _json([_answer_values(row, for_spreadsheet=False) for row in rows])


def _metric_values(row: MetricRow) -> dict[str, Any]:
    values = {
        **{column.name: getattr(row, column.name, None) for column in METRIC_COLUMNS},
        "lower_is_better": row.metric in LOWER_IS_BETTER,
    }
    return {column.name: values[column.name] for column in METRIC_COLUMNS}


def _practice_values(row: PracticeRow) -> list:
    values = {column.name: getattr(row, column.name) for column in PRACTICE_COLUMNS}
    if row.slices_visited is not None:
        values["slices_visited"] = " ".join(str(offset) for offset in row.slices_visited)
    if row.seconds_per_slice is not None:
        values["seconds_per_slice"] = " ".join(_cell(float(seconds)) for seconds in row.seconds_per_slice)
    return list(values.values())


def practice_csv(rows: Iterable[PracticeRow]) -> bytes:
    """The practice answers, their own file (columns as in ``PRACTICE_COLUMNS``)."""
    return _csv([column.name for column in PRACTICE_COLUMNS], (_practice_values(row) for row in rows))


def metrics_csv(rows: Iterable[MetricRow]) -> bytes:
    """The metrics CSV, one row per (model, real dataset, layer, metric), columns as in ``METRIC_COLUMNS``."""
    return _csv(
        [column.name for column in METRIC_COLUMNS], (list(_metric_values(row).values()) for row in rows)
    )


def metrics_json(rows: Iterable[MetricRow]) -> bytes:
    """The metrics CSV's rows as a JSON list of objects (same columns)."""
    return _json([_metric_values(row) for row in rows])


def _json(records: list[dict[str, Any]]) -> bytes:
    def finite(value):
        return None if isinstance(value, float) and not math.isfinite(value) else value

    cleaned = [{name: finite(value) for name, value in record.items()} for record in records]
    return json.dumps(cleaned, allow_nan=False, default=_json_default).encode("utf-8")


def data_dictionary_csv() -> bytes:
    """What every column of the answers CSV, the practice answers CSV and the metrics CSV means."""
    records = [("answers.csv", c.name, c.type, c.values, c.description) for c in ANSWER_COLUMNS]
    records += [("practice.csv", c.name, c.type, c.values, c.description) for c in PRACTICE_COLUMNS]
    records += [("metrics.csv", c.name, c.type, c.values, c.description) for c in METRIC_COLUMNS]
    return _csv(["file", "column", "type", "values", "description"], records)


def stats_json(payload: dict[str, Any]) -> bytes:
    """``payload`` as indented JSON; NaN and infinities must already be ``None`` (``to_dict()`` does that)."""
    return json.dumps(payload, indent=2, allow_nan=False, default=_json_default).encode("utf-8")


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
