"""Figures of merit per reader and modality, their jackknife over cases, and the readings' input checks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from readerstats.core import INDETERMINABLE, _ordered_unique

FOMS = ("accuracy", "sensitivity", "specificity", "auc")
"""Figures of merit: proportion correct; sensitivity and specificity for the positive truth; empirical AUC."""
FOM_LABELS = {
    "accuracy": "proportion correct",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "auc": "empirical ROC AUC (Mann-Whitney, ties 1/2)",
}


class NotEstimable(Exception):
    """An analysis that the data cannot support; the message is one line starting 'not estimable because'."""


# --------------------------------------------------------------------------------------------------
# Figures of merit with their jackknife


@dataclass(frozen=True)
class _Modality:
    cases: tuple
    theta: np.ndarray  # (readers,)
    jack: np.ndarray  # (readers, cases): FOM with case k left out


def _proportion_jackknife(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = np.where(mask, values, 0.0).sum(axis=1)
    count = mask.sum(axis=1).astype(float)
    if np.any(count == 0):
        raise NotEstimable("not estimable because a reader has no scored case in a modality")
    theta = total / count
    left_total = total[:, None] - np.where(mask, values, 0.0)
    left_count = count[:, None] - mask
    if np.any(left_count == 0):
        raise NotEstimable(
            "not estimable because a reader has only one scored case in a modality (no jackknife)"
        )
    return theta, left_total / left_count


def _auc_jackknife(
    ratings: np.ndarray, mask: np.ndarray, positive: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    pos, neg = ratings[:, positive], ratings[:, ~positive]
    pos_mask, neg_mask = mask[:, positive], mask[:, ~positive]
    if pos.shape[1] == 0 or neg.shape[1] == 0:
        raise NotEstimable(
            "not estimable because the AUC needs both positive and negative cases in every modality"
        )
    diff = pos[:, :, None] - neg[:, None, :]
    both = pos_mask[:, :, None] & neg_mask[:, None, :]
    psi = np.where(both, np.where(diff > 0, 1.0, np.where(diff == 0, 0.5, 0.0)), 0.0)
    total = psi.sum(axis=(1, 2))
    count = both.sum(axis=(1, 2)).astype(float)
    if np.any(count == 0):
        raise NotEstimable("not estimable because a reader rated no positive-negative pair in a modality")
    theta = total / count
    jack = np.empty(ratings.shape, dtype=float)
    left_count_pos = count[:, None] - both.sum(axis=2)
    left_count_neg = count[:, None] - both.sum(axis=1)
    if np.any(left_count_pos == 0) or np.any(left_count_neg == 0):
        raise NotEstimable(
            "not estimable because leaving one case out leaves a reader no positive-negative pair"
        )
    jack[:, positive] = (total[:, None] - psi.sum(axis=2)) / left_count_pos
    jack[:, ~positive] = (total[:, None] - psi.sum(axis=1)) / left_count_neg
    return theta, jack


def _modality_data(reader, case, truth_positive, score, mask, readers, fom) -> _Modality:
    cases = _ordered_unique(case)
    case_index = {value: k for k, value in enumerate(cases)}
    reader_index = {value: j for j, value in enumerate(readers)}
    values = np.zeros((len(readers), len(cases)))
    present = np.zeros((len(readers), len(cases)), dtype=bool)
    positive = np.zeros(len(cases), dtype=bool)
    seen = np.zeros(len(cases), dtype=bool)
    for r, c, p, s, m in zip(reader, case, truth_positive, score, mask, strict=True):
        j, k = reader_index[r], case_index[c]
        if seen[k] and positive[k] != p:
            raise ValueError(f"case {c!r} has two different truths")
        positive[k], seen[k] = p, True
        if m:
            if present[j, k]:
                raise ValueError(f"reader {r!r} has two answers to case {c!r}")
            values[j, k], present[j, k] = s, True
    if fom == "auc":
        theta, jack = _auc_jackknife(values, present, positive)
    else:
        keep = {
            "accuracy": np.ones(len(cases), dtype=bool),
            "sensitivity": positive,
            "specificity": ~positive,
        }[fom]
        if not keep.any():
            kind = "positive" if fom == "sensitivity" else "negative"
            raise NotEstimable(f"not estimable because a modality has no {kind} case for the {fom}")
        cases = tuple(value for value, kept in zip(cases, keep, strict=True) if kept)
        theta, jack = _proportion_jackknife(values[:, keep], present[:, keep])
    return _Modality(cases=cases, theta=theta, jack=jack)


def _jackknife_covariance(data: Sequence[_Modality]) -> np.ndarray:
    """Covariance of all (modality, reader) FOMs: (n-1)/n sums of products over the cases two modalities share."""
    blocks = []
    for item in data:
        n = len(item.cases)
        deviation = item.jack - item.jack.mean(axis=1, keepdims=True)
        blocks.append((dict(zip(item.cases, range(n), strict=True)), deviation * math.sqrt((n - 1) / n)))
    r = data[0].theta.shape[0]
    cov = np.zeros((len(data) * r, len(data) * r))
    for a, (index_a, dev_a) in enumerate(blocks):
        for b, (index_b, dev_b) in enumerate(blocks):
            shared = [case for case in index_a if case in index_b]
            if not shared:
                continue
            left = dev_a[:, [index_a[case] for case in shared]]
            right = dev_b[:, [index_b[case] for case in shared]]
            cov[a * r : (a + 1) * r, b * r : (b + 1) * r] = left @ right.T
    return cov


def _covariance_averages(cov: np.ndarray, t: int, r: int) -> tuple[float, float, float, float]:
    modality = np.repeat(np.arange(t), r)
    reader = np.tile(np.arange(r), t)
    same_m = modality[:, None] == modality[None, :]
    same_r = reader[:, None] == reader[None, :]

    def mean(mask):
        return float(cov[mask].mean()) if mask.any() else 0.0

    return (
        mean(same_m & same_r),
        mean(~same_m & same_r),
        mean(same_m & ~same_r),
        mean(~same_m & ~same_r),
    )


# --------------------------------------------------------------------------------------------------
# Input


def _objects(values) -> np.ndarray:
    """A 1-d object array (tuples stay single ids)."""
    result = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):
        result[k] = value.item() if isinstance(value, np.generic) else value
    return result


def _scores(
    truth, score, fom: str, positive, indeterminable: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    is_positive = np.array([value == positive for value in truth], dtype=bool)
    if fom == "auc":
        values = np.array([np.nan if value is None else value for value in score], dtype=float)
        mask = np.isfinite(values)
        return is_positive, np.where(mask, values, 0.0), mask
    answers = np.array([None if value is None else str(value) for value in score], dtype=object)
    answered = np.array([value is not None and value != "" for value in answers], dtype=bool)
    definite = answered & (answers != INDETERMINABLE)
    correct = np.array([str(a) == str(t) for a, t in zip(answers, truth, strict=True)], dtype=float)
    if indeterminable == "wrong":
        return is_positive, correct, answered
    if indeterminable != "exclude":
        raise ValueError("indeterminable must be 'exclude' or 'wrong'")
    return is_positive, correct, definite


def readings(reader, modality, case, truth, score, *, fom: str, confidence: float):
    """The five columns of one row per reading as object arrays, and the readers and modalities in order of
    appearance; ValueError for an unknown FOM, a confidence outside (0, 1) or columns of different lengths. The
    arguments of the OR and DBM analyses are checked here, once."""
    if fom not in FOMS:
        raise ValueError(f"fom must be one of {FOMS}, got {fom!r}")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    columns = [list(reader), list(modality), list(case), list(truth), list(score)]
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"columns differ in length: {[len(column) for column in columns]}")
    reader, modality, case, truth, score = (_objects(column) for column in columns)
    return reader, modality, case, truth, score, _ordered_unique(reader), _ordered_unique(modality)


def too_few_readings(reader, readers) -> str | None:
    """Why there are too few readings for a random-reader analysis, or None."""
    if len(reader) == 0:
        return "not estimable because there are no readings"
    if len(readers) < 2:
        return "not estimable because there is one reader: reader variability needs at least two"
    return None
