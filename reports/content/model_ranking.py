"""The report's lead: the models ranked by how often readers told their slices from real CT, from the GLMM
comparison across reader panels (:func:`readerstats.compare_models`), in whatever design the surveys have (fully
crossed, split-plot: each survey its own readers, or partially overlapping panels). Pure Python; no Django.

A model is the synthetic CT dataset of a survey (several surveys of one model are pooled); it is named by its
surveys' model alias. Items are identified within their survey (each survey draws its own real slices), so the
comparison treats every model's real items as its own. The models are ranked by the GLMM accuracy of the typical
reader on the typical slice, closest to 50% (guessing) first; one sentence per pair gives the difference in
percentage points with its simultaneous 95% interval and Holm-adjusted p, and one sentence the omnibus
likelihood-ratio test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from readerstats import INDETERMINABLE, SPLIT_PLOT, compare_models, describe_design, format_p, p_text
from readerstats import MODEL_COMPARISON_METHOD as METHOD
from reports.content.exports import AnswerRow
from reports.content.wording import for_people, not_estimable

LEAD_TITLE = "Which model is hardest to tell from real CT"
LEAD_NOTE = (
    "Accuracy: how often the typical reader is right on the typical slice (indeterminable answers left out), "
    "from a model that treats readers and slices both as random samples (a logistic mixed model, GLMM, as R's "
    "lme4 fits it). 50% is guessing: the closer to 50%, the harder the model's slices are to tell from real CT. "
    "Differences are in percentage points with 95% intervals that hold for all pairs together; p-values are "
    "Holm-adjusted for the number of pairs."
)


@dataclass(frozen=True)
class RankedModel:
    """One model: its GLMM accuracy (typical reader, typical slice) with its 95% CI."""

    place: int
    model: str
    label: str
    surveys: tuple[str, ...]
    readers: int
    items: int
    answers: int
    accuracy: float
    ci_low: float
    ci_high: float

    def text(self) -> str:
        return (
            f"{self.label}: readers correct {100 * self.accuracy:.1f}% "
            f"(95% CI {100 * self.ci_low:.1f}% to {100 * self.ci_high:.1f}%; {self.readers} readers)"
        )


@dataclass(frozen=True)
class PairDifference:
    """Accuracy of ``label_a`` minus ``label_b`` in percentage points (a ranked before b)."""

    model_a: str
    model_b: str
    label_a: str
    label_b: str
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    holm_p_value: float

    def sentence(self) -> str:
        """ "In'n out vs All-in: readers 12.6 points less often correct (95% CI -20.1 to -5.0, Holm p = 0.003)" """
        direction = "less" if self.difference < 0 else "more"
        return (
            f"{self.label_a} vs {self.label_b}: readers {abs(self.difference):.1f} points {direction} often "
            f"correct (95% CI {self.ci_low:.1f} to {self.ci_high:.1f}, Holm {p_text(self.holm_p_value)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "unit": "percentage points", "sentence": self.sentence()}


@dataclass(frozen=True)
class ModelRanking:
    """The models ranked, their pairwise differences and the omnibus test; ``reason`` (with what to change in
    the design) when the comparison is not estimable."""

    estimable: bool
    reason: str | None
    design: str | None
    real_items: str | None
    method: str
    models: tuple[RankedModel, ...] = ()
    pairs: tuple[PairDifference, ...] = ()
    omnibus_statistic: float | None = None
    omnibus_df: int | None = None
    omnibus_p_value: float | None = None
    confidence: float = 0.95
    notes: tuple[str, ...] = ()

    @property
    def headline(self) -> str:
        """The verdict in one sentence."""
        if not self.estimable:
            return f"The models could not be compared: {self.reason}."
        best = self.models[0]
        return (
            f"Hardest to tell from real CT: {best.label} (readers correct {100 * best.accuracy:.1f}%, 95% CI "
            f"{100 * best.ci_low:.1f}% to {100 * best.ci_high:.1f}%; 50% is guessing)."
        )

    @property
    def omnibus_sentence(self) -> str:
        if not self.estimable or self.omnibus_p_value is None:
            return ""
        text = (
            f"Do the {len(self.models)} models differ? Likelihood-ratio test: chi-squared "
            f"{self.omnibus_statistic:.2f} on {self.omnibus_df} degree{'' if self.omnibus_df == 1 else 's'} of freedom, {p_text(self.omnibus_p_value)}: "
        )
        if self.omnibus_p_value < 0.05:
            return text + "the models differ in how often readers see through them."
        return text + "no difference was shown, which is not proof that the models are equally convincing."

    @property
    def design_sentence(self) -> str:
        if self.design is None:
            return ""
        real = f"; {self.real_items}" if self.real_items else ""
        return f"Design: {for_people(self.design)}{real}."

    def to_dict(self) -> dict[str, Any]:
        """The GLMM part of the stats JSON's ``model_comparison`` section."""
        return {
            "estimable": self.estimable,
            "reason": self.reason,
            "design": self.design,
            "real_items": self.real_items,
            "method": self.method,
            "confidence": self.confidence,
            "ranking": [
                {**entry.__dict__, "surveys": list(entry.surveys), "sentence": entry.text()}
                for entry in self.models
            ],
            "omnibus": None
            if self.omnibus_p_value is None
            else {
                "test": "likelihood ratio, correct ~ model + (1|reader) + (1|item) against correct ~ 1 + "
                "(1|reader) + (1|item)",
                "statistic": self.omnibus_statistic,
                "df": self.omnibus_df,
                "p_value": self.omnibus_p_value,
                "p_text": format_p(self.omnibus_p_value),
                "sentence": self.omnibus_sentence,
            },
            "pairwise": [pair.to_dict() for pair in self.pairs],
            "headline": self.headline,
            "notes": list(self.notes),
        }


def _labels(rows: Sequence[AnswerRow]) -> dict[str, str]:
    aliases: dict[str, list[str]] = {}
    for row in rows:
        mine = aliases.setdefault(row.model, [])
        if row.model_alias and row.model_alias not in mine:
            mine.append(row.model_alias)
    return {model: " / ".join(names) if names else model for model, names in aliases.items()}


def model_ranking(rows: Sequence[AnswerRow]) -> ModelRanking | None:
    """The models of ``rows`` ranked by the GLMM comparison; None with fewer than two models (nothing to rank)."""
    models = list(dict.fromkeys(row.model for row in rows))
    if len(models) < 2:
        return None
    labels = _labels(rows)
    scored = [row for row in rows if row.answer != INDETERMINABLE]
    readers = {model: len({row.reader for row in scored if row.model == model}) for model in models}
    few = [model for model in models if readers[model] < 2]
    if few:
        names = ", ".join(f"{labels[model]} ({readers[model]})" for model in few)
        return ModelRanking(
            estimable=False,
            reason=not_estimable(
                f"not estimable because these models have fewer than 2 readers with a definite answer: {names}"
            ),
            design=None,
            real_items=None,
            method=METHOD,
        )
    result = compare_models(
        [float(row.correct) for row in scored],
        [row.reader for row in scored],
        [f"{row.survey}/{row.item}" for row in scored],
        [row.model for row in scored],
        truth=[row.truth for row in scored],
    )
    if not result.estimable:
        return ModelRanking(
            estimable=False,
            reason=not_estimable(result.reason),
            design=result.design,
            real_items=result.real_items,
            method=result.method,
            confidence=result.confidence,
        )
    order = sorted(result.accuracies, key=lambda entry: (abs(entry.accuracy - 0.5), labels[entry.model]))
    ranked = tuple(
        RankedModel(
            place=place,
            model=entry.model,
            label=labels[entry.model],
            surveys=tuple(dict.fromkeys(row.survey for row in rows if row.model == entry.model)),
            readers=entry.reader_count,
            items=entry.item_count,
            answers=entry.answer_count,
            accuracy=entry.accuracy,
            ci_low=entry.ci_low,
            ci_high=entry.ci_high,
        )
        for place, entry in enumerate(order, start=1)
    )
    found = {(d.model_a, d.model_b): d for d in result.differences}
    pairs = []
    for i, first in enumerate(ranked):
        for second in ranked[i + 1 :]:
            if (first.model, second.model) in found:
                d, sign = found[(first.model, second.model)], 1.0
            else:
                d, sign = found[(second.model, first.model)], -1.0
            low, high = sorted((sign * d.ci_low, sign * d.ci_high))
            pairs.append(
                PairDifference(
                    model_a=first.model,
                    model_b=second.model,
                    label_a=first.label,
                    label_b=second.label,
                    difference=sign * d.difference,
                    ci_low=low,
                    ci_high=high,
                    p_value=d.p_value,
                    holm_p_value=d.holm_p_value,
                )
            )
    numbers = [v for entry in ranked for v in (entry.accuracy, entry.ci_low, entry.ci_high)]
    numbers += [v for pair in pairs for v in (pair.difference, pair.ci_low, pair.ci_high, pair.holm_p_value)]
    if not all(math.isfinite(v) for v in numbers):
        return ModelRanking(
            estimable=False,
            reason=not_estimable("not estimable because the readers' spread could not be estimated"),
            design=result.design,
            real_items=result.real_items,
            method=result.method,
        )
    omnibus = result.omnibus
    return ModelRanking(
        estimable=True,
        reason=None,
        design=result.design,
        real_items=result.real_items,
        method=result.method,
        models=ranked,
        pairs=tuple(pairs),
        omnibus_statistic=None if omnibus is None else omnibus.statistic,
        omnibus_df=None if omnibus is None else omnibus.df,
        omnibus_p_value=None if omnibus is None else omnibus.p_value,
        confidence=result.confidence,
        notes=tuple(for_people(note) for note in result.notes),
    )


def panel_design(rows: Sequence[AnswerRow]) -> str:
    """How the reader panels of ``rows``' surveys relate, in readerstats' words (fully crossed, split-plot, or
    partially overlapping)."""
    design, _ = describe_design(
        np.asarray([row.reader for row in rows], dtype=object),
        np.asarray([row.survey for row in rows], dtype=object),
        np.asarray([row.item for row in rows], dtype=object),
    )
    return design


def is_split_plot(rows: Sequence[AnswerRow]) -> bool:
    """Each survey of ``rows`` read by its own readers (no reader in two surveys)."""
    return panel_design(rows) == SPLIT_PLOT
