"""Models side by side: readers' accuracy beside the machine observer's AUC and the feature that gives synthetic
slices away, and the models ranked by every image-distribution metric. Pure Python; no Django.

:func:`compare_models` takes the report's answers (tidy rows), the stored metric rows and the machine observer
rows of the models, and returns a :class:`ModelComparison`. The readers' accuracy of a model pools the answers
to every survey of that model in the report (indeterminable answers excluded; Wilson interval).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metrics.measures.vocabulary import LOWER_IS_BETTER, METRIC_LABELS, METRICS
from reports.content.exports import AnswerRow, MetricRow

if TYPE_CHECKING:
    from readerstats import ProportionEstimate

INTERPRETABLE, CNN = "interpretable", "cnn"
OBSERVER_LABELS = {INTERPRETABLE: "logistic regression on image features", CNN: "small CNN"}
DONE, COMPUTING, NOT_RUN = "done", "computing", "not run"
READERS_RANKING = "readers"
OBSERVER_RANKING = "machine_observer"
RANKING_LABELS = {
    READERS_RANKING: "Readers' accuracy",
    OBSERVER_RANKING: "Machine observer AUC, logistic regression",
    **{metric: METRIC_LABELS[metric] for metric in METRICS},
}


@dataclass(frozen=True)
class ObserverRow:
    """One machine observer of one model: ``status`` done (with AUC, CI, the telling sentence), computing (a job
    is queued or running) or not run."""

    model: str
    classifier: str
    status: str
    auc: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    summary: str = ""
    n_real: int = 0
    n_synthetic: int = 0
    n_patients: int = 0

    def text(self) -> str:
        """ "AUC 0.99 [0.97, 1.00]", "computing" or "not run"."""
        if self.status != DONE or self.auc is None:
            return self.status
        ci = "" if self.ci_low is None else f" [{self.ci_low:.2f}, {self.ci_high:.2f}]"
        return f"AUC {self.auc:.2f}{ci}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "text": self.text()}


@dataclass(frozen=True)
class ModelLine:
    """One model: its aliases in the report's surveys, its readers' accuracy and its machine observers."""

    model: str
    aliases: tuple[str, ...]
    surveys: tuple[str, ...]
    readers: int
    accuracy: ProportionEstimate
    observers: tuple[ObserverRow, ...]

    @property
    def interpretable(self) -> ObserverRow | None:
        return next((row for row in self.observers if row.classifier == INTERPRETABLE), None)

    @property
    def cnn(self) -> ObserverRow | None:
        return next((row for row in self.observers if row.classifier == CNN), None)

    def readers_text(self) -> str:
        accuracy = self.accuracy
        if accuracy.proportion is None:
            return "readers: no answers"
        return f"readers: {100 * accuracy.proportion:.0f}% [{100 * accuracy.ci_low:.0f}%, {100 * accuracy.ci_high:.0f}%]"

    def machine_text(self) -> str:
        observer = self.interpretable
        if observer is None:
            return "machine observer: not run"
        if observer.status != DONE:
            return f"machine observer: {observer.status}"
        text = f"machine: {observer.text()}"
        return f"{text}, {observer.summary}" if observer.summary else text

    def sentence(self) -> str:
        """ "readers: 55% [45%, 65%]; machine: AUC 0.99 [0.97, 1.00], synthetic slices are smoother: ..." """
        return f"{self.readers_text()}; {self.machine_text()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "aliases": list(self.aliases),
            "surveys": list(self.surveys),
            "readers": self.readers,
            "readers_accuracy": self.accuracy.to_dict(),
            "machine_observers": [row.to_dict() for row in self.observers],
            "sentence": self.sentence(),
        }


@dataclass(frozen=True)
class RankedModel:
    rank: int
    model: str
    value: float | None
    note: str = ""


@dataclass(frozen=True)
class Ranking:
    """The models ordered by one measure, most realistic first (ties share a rank; models without a value
    last, unranked)."""

    measure: str
    label: str
    direction: str
    entries: tuple[RankedModel, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "label": self.label,
            "direction": self.direction,
            "entries": [entry.__dict__ for entry in self.entries],
        }


@dataclass(frozen=True)
class ModelComparison:
    models: tuple[ModelLine, ...]
    rankings: tuple[Ranking, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": [line.to_dict() for line in self.models],
            "rankings": [ranking.to_dict() for ranking in self.rankings],
            "notes": [
                "readers' accuracy: the answers to every survey of the model in this report pooled, "
                "indeterminable excluded, 95% Wilson interval (answers are clustered in readers; see the MRMC "
                "analysis for the interval that allows for it)",
                "machine observer: cross-validated AUC of telling the model's synthetic slices from real ones, "
                "folds grouped by patient, 95% CI from resampling patients",
                "metrics: the mean over axial layers, normalised by the real-vs-real baseline where it has one",
            ],
        }


def _rank(measure: str, label: str, direction: str, values: dict[str, float | None], key) -> Ranking:
    known = sorted(
        (model for model, value in values.items() if value is not None), key=lambda m: (key(values[m]), m)
    )
    entries, rank, previous = [], 0, None
    for position, model in enumerate(known, start=1):
        score = key(values[model])
        if previous is None or score != previous:
            rank, previous = position, score
        entries.append(RankedModel(rank=rank, model=model, value=values[model]))
    entries += [
        RankedModel(rank=0, model=model, value=None, note="not available")
        for model in sorted(values)
        if values[model] is None
    ]
    return Ranking(measure=measure, label=label, direction=direction, entries=tuple(entries))


def _metric_value(row: MetricRow) -> float | None:
    return row.normalised if row.normalised is not None else row.value


def compare_models(
    rows: Sequence[AnswerRow],
    models: Sequence[str],
    metric_rows: Sequence[MetricRow] = (),
    observer_rows: Sequence[ObserverRow] = (),
) -> ModelComparison:
    """Each of ``models`` (in that order) with its readers' accuracy and machine observers, and the models ranked
    by readers' accuracy (closest to 50%), by the observer's AUC (closest to 0.5) and by every metric's mean over
    layers (normalised; distances lowest first, similarities highest first)."""
    from readerstats import (
        INDETERMINABLE,
        proportion_estimate,
    )  # here: loads SciPy, which web processes never import

    lines = []
    for model in models:
        mine = [row for row in rows if row.model == model]
        definite = [row for row in mine if row.answer != INDETERMINABLE]
        observers = tuple(
            next(
                (row for row in observer_rows if row.model == model and row.classifier == classifier),
                ObserverRow(model=model, classifier=classifier, status=NOT_RUN),
            )
            for classifier in (INTERPRETABLE, CNN)
        )
        lines.append(
            ModelLine(
                model=model,
                aliases=tuple(dict.fromkeys(row.model_alias for row in mine)),
                surveys=tuple(dict.fromkeys(row.survey for row in mine)),
                readers=len({row.reader for row in mine}),
                accuracy=proportion_estimate(
                    sum(row.correct for row in definite), len(definite), label=f"readers' accuracy on {model}"
                ),
                observers=observers,
            )
        )
    rankings = [
        _rank(
            READERS_RANKING,
            RANKING_LABELS[READERS_RANKING],
            "closest to 50% first",
            {line.model: line.accuracy.proportion for line in lines},
            lambda value: abs(value - 0.5),
        ),
        _rank(
            OBSERVER_RANKING,
            RANKING_LABELS[OBSERVER_RANKING],
            "closest to 0.5 first",
            {
                line.model: line.interpretable.auc
                if line.interpretable is not None and line.interpretable.status == DONE
                else None
                for line in lines
            },
            lambda value: abs(value - 0.5),
        ),
    ]
    averages = {(row.model, row.metric): row for row in metric_rows if row.is_average}
    for metric in METRICS:
        values = {
            model: _metric_value(averages[(model, metric)]) if (model, metric) in averages else None
            for model in models
        }
        lower = metric in LOWER_IS_BETTER
        rankings.append(
            _rank(
                metric,
                RANKING_LABELS[metric],
                "lowest first" if lower else "highest first",
                values,
                (lambda value: value) if lower else (lambda value: -value),
            )
        )
    return ModelComparison(models=tuple(lines), rankings=tuple(rankings))
