"""Time-limited exposure: per-reader staircase thresholds, per-model median threshold, and the HYPE_inf error rate.

Pure computation over plain sequences (no Django); the staircase itself is run by the server (studies.exposure).

- A reader's **trials** are their answers in their order: the exposure requested (whole ms), whether the answer was
  right (an "indeterminable" is wrong) and whether its measured exposure was refused (refused trials are left out:
  they moved nothing). The **reversals** are the turns of the requested exposure: a trial after which the exposure
  changes in the other direction from its last change; the reversal's level is that trial's exposure (Levitt 1971).
  A turn triggered by the reader's very last answer shows in no stored exposure and is not counted.
- A reader's **threshold** is the mean of their last `last` reversal levels (all of them when there are fewer; none
  without a reversal), the geometric mean (the mean in log space) when the steps are multiplicative, as the levels
  then lie evenly on a log scale. A 1-up/3-down staircase converges on the exposure at which the reader is right
  79.4 % of the time.
- A model's threshold is the **median** of its readers' thresholds, with a seeded two-way bootstrap interval over
  readers and items (HYPE, Zhou et al. NeurIPS 2019): each resample draws readers with replacement and items with
  replacement; a reversal counts as many times as its item was drawn (not at all when it was not), and each drawn
  reader's threshold is recomputed from what is left.
- **HYPE_inf** (unlimited time): the proportion of wrong answers, with a seeded two-way bootstrap interval over
  readers and items (each resample's answers are those of the drawn readers to the drawn items, with multiplicity).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20191208  # HYPE's NeurIPS 2019; any fixed seed makes the intervals reproducible
CONFIDENCE = 0.95


@dataclass(frozen=True)
class ExposureTrial:
    """One answer of a reader on a time-limited exposure survey, in the reader's order."""

    item: str
    requested_ms: float
    correct: bool
    rejected: bool = False


@dataclass(frozen=True)
class ReaderThreshold:
    reader: str
    threshold_ms: float | None  # None without a reversal
    reversals: tuple[float, ...]  # every reversal level, in order
    used: int  # how many of the last reversals were averaged
    asked: int  # how many the survey averages
    trials: int  # accepted trials
    rejected: int  # refused trials

    @property
    def converged(self) -> bool:
        """Whether the reader reached the number of reversals the survey averages."""
        return self.used == self.asked


@dataclass(frozen=True)
class ModelThreshold:
    """A model's median threshold over its readers, with a bootstrap interval over readers and items."""

    median_ms: float | None
    low_ms: float | None
    high_ms: float | None
    readers: int  # readers with a threshold
    resamples: int
    confidence: float
    method: str


@dataclass(frozen=True)
class ErrorRate:
    """HYPE_inf: the proportion of wrong answers, with a bootstrap interval over readers and items."""

    rate: float | None
    low: float | None
    high: float | None
    wrong: int
    answers: int
    readers: int
    items: int
    resamples: int
    confidence: float
    method: str


def reversal_indices(requested_ms: Sequence[float]) -> list[int]:
    """The positions of the reversals in a sequence of requested exposures (accepted trials only)."""
    found = []
    last_direction = 0
    for index in range(len(requested_ms) - 1):
        change = requested_ms[index + 1] - requested_ms[index]
        direction = (change > 0) - (change < 0)
        if direction == 0:
            continue
        if last_direction != 0 and direction != last_direction:
            found.append(index)
        last_direction = direction
    return found


def mean_of_levels(
    levels: Sequence[float], weights: Sequence[float] | None = None, *, log: bool
) -> float | None:
    """The (weighted) arithmetic or geometric mean; None when nothing weighs."""
    values = np.asarray(levels, dtype=float)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=float)
    if values.size == 0 or w.sum() <= 0:
        return None
    if log:
        return float(math.exp(np.sum(w * np.log(values)) / w.sum()))
    return float(np.sum(w * values) / w.sum())


def reader_threshold(
    reader: str, trials: Sequence[ExposureTrial], *, last: int, log: bool
) -> ReaderThreshold:
    """A reader's threshold: the mean of the exposures at their last `last` reversals (geometric with `log`)."""
    if last < 1:
        raise ValueError("average at least one reversal")
    accepted = [t for t in trials if not t.rejected]
    levels = [t.requested_ms for t in accepted]
    reversals = tuple(levels[i] for i in reversal_indices(levels))
    chosen = reversals[-last:]
    return ReaderThreshold(
        reader=reader,
        threshold_ms=mean_of_levels(chosen, log=log),
        reversals=reversals,
        used=len(chosen),
        asked=last,
        trials=len(accepted),
        rejected=len(trials) - len(accepted),
    )


def _percentile_interval(values: list[float], confidence: float) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def model_threshold(
    trials_by_reader: Mapping[str, Sequence[ExposureTrial]],
    *,
    last: int,
    log: bool,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> ModelThreshold:
    """The median of the readers' thresholds, with a percentile bootstrap interval over readers and items."""
    readers = sorted(trials_by_reader)
    # Each reader's last `last` reversals, with the item each happened on.
    reversal_items: dict[str, list[tuple[str, float]]] = {}
    for reader in readers:
        accepted = [t for t in trials_by_reader[reader] if not t.rejected]
        levels = [t.requested_ms for t in accepted]
        reversal_items[reader] = [(accepted[i].item, levels[i]) for i in reversal_indices(levels)][-last:]
    thresholds = {
        reader: mean_of_levels([level for _, level in reversal_items[reader]], log=log) for reader in readers
    }
    observed = [value for value in thresholds.values() if value is not None]
    method = (
        f"median of reader thresholds (mean of the last {last} reversal(s), "
        f"{'geometric' if log else 'arithmetic'}); percentile bootstrap over readers and items, "
        f"{resamples} resamples, seed {seed}"
    )
    if not observed:
        return ModelThreshold(None, None, None, 0, resamples, confidence, method)
    items = sorted({t.item for trials in trials_by_reader.values() for t in trials})
    item_index = {item: n for n, item in enumerate(items)}
    rng = np.random.default_rng(seed)
    medians = []
    for _ in range(resamples):
        item_counts = np.bincount(rng.integers(0, len(items), len(items)), minlength=len(items))
        drawn = rng.integers(0, len(readers), len(readers))
        values = []
        for index in drawn:
            pairs = reversal_items[readers[index]]
            weights = [item_counts[item_index[item]] for item, _ in pairs]
            value = mean_of_levels([level for _, level in pairs], weights, log=log)
            if value is not None:
                values.append(value)
        if values:
            medians.append(float(np.median(values)))
    low, high = _percentile_interval(medians, confidence)
    return ModelThreshold(float(np.median(observed)), low, high, len(observed), resamples, confidence, method)


def error_rate(
    answers: Sequence[tuple[str, str, bool]],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> ErrorRate:
    """HYPE_inf from (reader, item, correct) answers: the proportion wrong, bootstrapped over readers and items."""
    readers = sorted({reader for reader, _, _ in answers})
    items = sorted({item for _, item, _ in answers})
    method = (
        f"proportion wrong; percentile bootstrap over readers and items, {resamples} resamples, seed {seed}"
    )
    if not answers:
        return ErrorRate(None, None, None, 0, 0, 0, 0, resamples, confidence, method)
    r_index = {reader: n for n, reader in enumerate(readers)}
    i_index = {item: n for n, item in enumerate(items)}
    wrong_cells = np.zeros((len(readers), len(items)))
    count_cells = np.zeros((len(readers), len(items)))
    for reader, item, correct in answers:
        count_cells[r_index[reader], i_index[item]] += 1
        wrong_cells[r_index[reader], i_index[item]] += 0 if correct else 1
    wrong = int(wrong_cells.sum())
    rng = np.random.default_rng(seed)
    rates = []
    for _ in range(resamples):
        reader_counts = np.bincount(rng.integers(0, len(readers), len(readers)), minlength=len(readers))
        item_counts = np.bincount(rng.integers(0, len(items), len(items)), minlength=len(items))
        weights = np.outer(reader_counts, item_counts)
        total = float((weights * count_cells).sum())
        if total > 0:
            rates.append(float((weights * wrong_cells).sum()) / total)
    low, high = _percentile_interval(rates, confidence)
    return ErrorRate(
        wrong / len(answers),
        low,
        high,
        wrong,
        len(answers),
        len(readers),
        len(items),
        resamples,
        confidence,
        method,
    )
