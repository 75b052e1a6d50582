"""Empirical ROC curves from confidence ratings, per reader and averaged over readers.

A reader's empirical ROC curve has one operating point per distinct rating t (from the highest down): the true
positive fraction TPF(t) = P(rating of a positive case >= t) against the false positive fraction FPF(t) = P(rating
of a negative case >= t), from (0, 0) to (1, 1), joined by straight lines. Its trapezoidal area is the Mann-Whitney
AUC with ties counted 1/2 (the FOM ``"auc"`` of :mod:`readerstats.mrmc`).

The reader-averaged curve is the vertical average: the mean TPF over readers at every FPF where any reader's curve
has a corner, each reader's curve read as the piecewise-linear function above (where a curve rises vertically, the
average takes the mean of the values below and above the rise). Its area is exactly the mean of the readers' AUCs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from readerstats.core import SYNTHETIC, _ordered_unique, _Result


@dataclass(frozen=True)
class RocCurve(_Result):
    """Operating points (FPF, TPF) from (0, 0) to (1, 1) and the trapezoidal area under them."""

    label: Any
    fpf: tuple[float, ...]
    tpf: tuple[float, ...]
    auc: float
    positive_count: int
    negative_count: int


@dataclass(frozen=True)
class ReaderRocCurves(_Result):
    """Every reader's empirical ROC curve and their vertical average; ``reason`` when no curve can be drawn."""

    readers: tuple[RocCurve, ...]
    average: RocCurve | None
    method: str
    reason: str | None = None
    notes: tuple[str, ...] = ()


METHOD = (
    "empirical ROC curves (one point per distinct rating, joined linearly; area = Mann-Whitney AUC, ties 1/2); "
    "reader-averaged curve: mean TPF at each FPF (vertical averaging), area = mean reader AUC"
)


def empirical_roc(positive: Sequence[bool], rating: Sequence[float], *, label: Any = None) -> RocCurve:
    """The empirical ROC curve of ratings (higher = more confident of positive); raises ValueError without
    both a positive and a negative case."""
    positive = np.asarray(positive, dtype=bool)
    rating = np.asarray(rating, dtype=float)
    if positive.shape != rating.shape or positive.ndim != 1:
        raise ValueError("positive and rating must be 1-d and of the same length")
    if not np.all(np.isfinite(rating)):
        raise ValueError("ratings must be finite numbers")
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("an ROC curve needs both positive and negative cases")
    levels = np.unique(rating)[::-1]
    tpf = [0.0] + [float((rating[positive] >= t).sum() / n_pos) for t in levels]
    fpf = [0.0] + [float((rating[~positive] >= t).sum() / n_neg) for t in levels]
    return RocCurve(label, tuple(fpf), tuple(tpf), _area(fpf, tpf), n_pos, n_neg)


def _area(fpf, tpf) -> float:
    x, y = np.asarray(fpf, dtype=float), np.asarray(tpf, dtype=float)
    return float(((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2).sum())


def _limits(curve: RocCurve, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The curve's value just left and just right of every grid FPF (equal except where it rises vertically)."""
    x, y = np.asarray(curve.fpf), np.asarray(curve.tpf)
    xs = np.unique(x)
    low = np.array([y[x == value].min() for value in xs])
    high = np.array([y[x == value].max() for value in xs])
    pos = np.searchsorted(xs, grid)
    exact = (pos < len(xs)) & (xs[np.minimum(pos, len(xs) - 1)] == grid)
    left, right = np.empty(len(grid)), np.empty(len(grid))
    left[exact], right[exact] = low[pos[exact]], high[pos[exact]]
    between = ~exact
    k = pos[between]
    x0, x1, y0, y1 = xs[k - 1], xs[k], high[k - 1], low[k]
    value = y0 + (y1 - y0) * (grid[between] - x0) / (x1 - x0)
    left[between] = right[between] = value
    return left, right


def average_roc(curves: Sequence[RocCurve], *, label: Any = "reader average") -> RocCurve:
    """The vertical average of ``curves`` (see the module docstring)."""
    if not curves:
        raise ValueError("no curves to average")
    grid = np.unique(np.concatenate([np.asarray(curve.fpf) for curve in curves]))
    lefts, rights = zip(*(_limits(curve, grid) for curve in curves), strict=True)
    left, right = np.mean(lefts, axis=0), np.mean(rights, axis=0)
    fpf, tpf = [], []
    for x, a, b in zip(grid, left, right, strict=True):
        fpf.append(float(x))
        tpf.append(float(a))
        if b != a:
            fpf.append(float(x))
            tpf.append(float(b))
    return RocCurve(
        label,
        tuple(fpf),
        tuple(tpf),
        _area(fpf, tpf),
        curves[0].positive_count,
        curves[0].negative_count,
    )


def reader_roc_curves(reader, truth, rating, *, positive: Any = SYNTHETIC) -> ReaderRocCurves:
    """Each reader's empirical ROC curve (rows without a rating left out) and the reader-averaged curve."""
    columns = [np.asarray(column, dtype=object) for column in (reader, truth, rating)]
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"columns differ in length: {[len(column) for column in columns]}")
    reader, truth, rating = columns
    rated = np.array([value is not None and np.isfinite(float(value)) for value in rating], dtype=bool)
    curves, skipped = [], []
    for name in _ordered_unique(reader):
        rows = (reader == name) & rated
        is_positive = np.array([value == positive for value in truth[rows]], dtype=bool)
        if not is_positive.any() or is_positive.all():
            skipped.append(name)
            continue
        curves.append(empirical_roc(is_positive, rating[rows].astype(float), label=name))
    if not curves:
        return ReaderRocCurves(
            (), None, METHOD, "not estimable because no reader rated both a real and a synthetic case"
        )
    notes = ()
    if skipped:
        notes = (f"{len(skipped)} reader(s) rated only one kind of case and have no curve",)
    return ReaderRocCurves(tuple(curves), average_roc(curves), METHOD, None, notes)
