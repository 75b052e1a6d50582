"""Shared ground of the reader statistics: vocabulary, the answer table and result plumbing.

Statistics of blinded reader studies ("visual Turing test").

Each answer is one reader's verdict on one image: the truth is ``real`` or ``synthetic``, the answer ``real``,
``synthetic`` or ``indeterminable``. Everything here is pure computation over plain arrays (no Django), and
every function returns a frozen dataclass that names the statistic, the p-value, the counts and what was
assumed, with a ``to_dict()`` that is JSON-serialisable (non-finite numbers become ``None``).

Hypotheses are stated the right way round: for a truth x answer table, H0 is that the answer is independent of
the truth, i.e. readers cannot tell real from synthetic. A small p rejects H0 (readers CAN tell). A large p is
not evidence that they cannot; :func:`equivalence_test` answers that question.

"Binomial" tables use the definite answers only (``indeterminable`` excluded); "multinomial" tables keep all
three answers. Quantities that cannot be computed (a zero denominator, a table with fewer than two non-empty
rows or columns, a model with one cluster) come back as ``None`` with a ``reason``, never as an exception.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

REAL = "real"
SYNTHETIC = "synthetic"
INDETERMINABLE = "indeterminable"
TRUTHS = (REAL, SYNTHETIC)
ANSWERS = (REAL, SYNTHETIC, INDETERMINABLE)
CORRECT = "correct"
WRONG = "wrong"

ALPHA = 0.05
CONFIDENCE = 0.95
EQUIVALENCE_MARGIN = 0.1
PERMUTATION_RESAMPLES = 10_000
PERMUTATION_SEED = 0
# Below this expected cell count the chi-squared approximation is doubtful, so an exact test is also reported.
MIN_EXPECTED_COUNT = 5.0
# Cluster-robust (sandwich) standard errors are too small with few clusters.
FEW_CLUSTERS = 20
# Permutation resamples are processed in chunks of at most this many cells to bound memory.
_PERMUTATION_CHUNK_CELLS = 2_000_000


# --------------------------------------------------------------------------------------------------
# Input table


def _ordered_unique(values: np.ndarray) -> tuple:
    unique = {value.item() if isinstance(value, np.generic) else value for value in values}
    try:
        return tuple(sorted(unique))
    except TypeError:
        return tuple(sorted(unique, key=str))


@dataclass(frozen=True, eq=False)
class AnswerTable:
    """A tidy table of answers: one row per (reader, item) answer, columns as equally long arrays.

    ``truth`` holds ``real``/``synthetic``, ``answer`` holds ``real``/``synthetic``/``indeterminable``;
    ``reader``, ``survey`` and ``item`` hold ids of any hashable type. Item ids are only compared within one
    survey.
    """

    truth: np.ndarray
    answer: np.ndarray
    reader: np.ndarray
    survey: np.ndarray
    item: np.ndarray

    def __post_init__(self):
        truth = np.array([str(value) for value in self.truth], dtype=object)
        answer = np.array([str(value) for value in self.answer], dtype=object)
        columns = {"truth": truth, "answer": answer}
        for name in ("reader", "survey", "item"):
            values = np.empty(len(getattr(self, name)), dtype=object)
            values[:] = [
                value.item() if isinstance(value, np.generic) else value for value in getattr(self, name)
            ]
            columns[name] = values
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"columns differ in length: {lengths}")
        bad_truth = set(truth) - set(TRUTHS)
        if bad_truth:
            raise ValueError(f"truth must be one of {TRUTHS}, got {sorted(bad_truth)}")
        bad_answer = set(answer) - set(ANSWERS)
        if bad_answer:
            raise ValueError(f"answer must be one of {ANSWERS}, got {sorted(bad_answer)}")
        for name, values in columns.items():
            object.__setattr__(self, name, values)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> AnswerTable:
        """Build a table from mappings with the keys truth, answer, reader, survey and item."""
        rows = list(records)
        return cls(
            **{name: [row[name] for row in rows] for name in ("truth", "answer", "reader", "survey", "item")}
        )

    def __len__(self) -> int:
        return len(self.truth)

    @property
    def surveys(self) -> tuple:
        return _ordered_unique(self.survey)

    @property
    def readers(self) -> tuple:
        return _ordered_unique(self.reader)

    @property
    def correct(self) -> np.ndarray:
        return self.truth == self.answer

    @property
    def definite(self) -> np.ndarray:
        return self.answer != INDETERMINABLE

    def select(self, mask: np.ndarray) -> AnswerTable:
        mask = np.asarray(mask, dtype=bool)
        return AnswerTable(
            truth=self.truth[mask],
            answer=self.answer[mask],
            reader=self.reader[mask],
            survey=self.survey[mask],
            item=self.item[mask],
        )

    def for_survey(self, survey) -> AnswerTable:
        return self.select(self.survey == survey)


# --------------------------------------------------------------------------------------------------
# Result plumbing


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("serialise", True)
        }
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return [_jsonable(item) for item in value.tolist()]
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Result:
    def to_dict(self) -> dict:
        """Plain dict of the result, safe for ``json.dumps`` (NaN and infinities become ``None``)."""
        return _jsonable(self)


def format_p(p: float | None) -> str:
    if p is None:
        return "n/a"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def p_text(p: float | None) -> str:
    """ "p = 0.137", "p < 0.001" or "p n/a"."""
    if p is None:
        return "p n/a"
    text = format_p(p)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def _fmt_p(p: float) -> str:
    return f"{p:.3g}" if p >= 0.001 else f"{p:.2e}"


def _float_or_none(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _z(two_sided_confidence: float) -> float:
    from scipy import stats  # here: web processes use this module's constants without SciPy

    return float(stats.norm.ppf(1.0 - (1.0 - two_sided_confidence) / 2.0))
