"""Agreement: inter-reader (Fleiss' kappa, Gwet's AC1) and intra-reader (Cohen's kappa, weighted kappa)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from readerstats.contingency import _crosstab
from readerstats.core import (
    ANSWERS,
    CONFIDENCE,
    _ordered_unique,
    _Result,
)


@dataclass(frozen=True)
class FleissKappa(_Result):
    """Fleiss' kappa of the readers' answers (categories real, synthetic, indeterminable)."""

    kappa: float | None
    item_count: int
    raters_per_item: int | None
    dropped_item_count: int
    categories: tuple[str, ...]
    observed_agreement: float | None
    chance_agreement: float | None
    method: str
    notes: tuple[str, ...] = ()
    reason: str | None = None


def fleiss_kappa_from_counts(counts) -> tuple[float | None, float, float]:
    """Fleiss' kappa, mean observed agreement and chance agreement of an items x categories table of counts.

    Every item must have the same number n >= 2 of ratings, N is the number of items:
        P_i = (Σ_j n_ij² − n) / (n (n − 1)),  P̄ = mean P_i,  p_j = Σ_i n_ij / (N n),  P_e = Σ p_j²,
        kappa = (P̄ − P_e) / (1 − P_e);
    kappa is ``None`` when P_e = 1 (every answer in one category).
    """
    counts = np.asarray(counts, dtype=float)
    raters = counts.sum(axis=1)
    if counts.shape[0] == 0 or not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("every item needs the same number (at least 2) of ratings")
    n = raters[0]
    observed = float(((counts * counts).sum(axis=1) - n).mean() / (n * (n - 1)))
    category_share = counts.sum(axis=0) / counts.sum()
    chance = float((category_share * category_share).sum())
    if chance >= 1.0 - 1e-12:
        return None, observed, chance
    return (observed - chance) / (1.0 - chance), observed, chance


def fleiss_kappa(item, answer, *, categories: Sequence[str] = ANSWERS) -> FleissKappa:
    """Fleiss' kappa across readers, one row per answer, for items of one survey.

    Fleiss' kappa needs the same number of ratings per item. Items with fewer than 2 ratings are dropped; if
    the rest differ in their number of ratings, only items with the most common number are kept (ties go to
    the larger number), and the count of dropped items is reported.
    """
    item = np.asarray(item, dtype=object)
    answer = np.asarray(answer, dtype=object)
    categories = tuple(categories)
    method = (
        "Fleiss' kappa (1971) over items x answer categories; chance agreement from the pooled category "
        "shares"
    )
    items = _ordered_unique(item)
    counts = (
        _crosstab(item, items, answer, categories) if items else np.zeros((0, len(categories)), dtype=int)
    )
    ratings = counts.sum(axis=1)
    notes = []
    eligible = ratings >= 2
    if not eligible.any():
        reason = "no item was rated by 2 or more readers"
        return FleissKappa(None, 0, None, len(items), categories, None, None, method, (), reason)
    values, frequencies = np.unique(ratings[eligible], return_counts=True)
    modal = int(values[frequencies == frequencies.max()].max())
    kept = ratings == modal
    dropped = len(items) - int(kept.sum())
    if dropped:
        notes.append(
            f"items differ in their number of ratings; kept the {int(kept.sum())} items rated {modal} times "
            f"(the most common count), dropped {dropped}"
        )
    kappa, observed, chance = fleiss_kappa_from_counts(counts[kept])
    reason = None
    if kappa is None:
        reason = "every answer falls in one category, so chance agreement is 1 and kappa is undefined"
    return FleissKappa(
        kappa=kappa,
        item_count=int(kept.sum()),
        raters_per_item=modal,
        dropped_item_count=dropped,
        categories=categories,
        observed_agreement=observed,
        chance_agreement=chance,
        method=method,
        notes=tuple(notes),
        reason=reason,
    )


# --------------------------------------------------------------------------------------------------
# Gwet's AC1 (inter-reader), Cohen's kappa and weighted kappa (intra-reader, repeat rounds)


@dataclass(frozen=True)
class GwetAC1(_Result):
    """Gwet's AC1 across readers; robust to unbalanced answers where kappa collapses (the kappa paradox).

    ``stderr`` and the CI come from the jackknife over items.
    """

    ac1: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    observed_agreement: float | None
    chance_agreement: float | None
    item_count: int
    categories: tuple[str, ...]
    confidence: float
    method: str
    reason: str | None = None


def _ac1_from_counts(counts: np.ndarray) -> tuple[float, float, float]:
    """AC1, observed and chance agreement of an items x categories table (items with >= 2 ratings)."""
    raters = counts.sum(axis=1)
    observed = float(np.mean((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))))
    share = (counts / raters[:, None]).mean(axis=0)
    q = counts.shape[1]
    chance = float((share * (1 - share)).sum() / (q - 1))
    return (observed - chance) / (1 - chance), observed, chance


def gwet_ac1(item, answer, *, categories: Sequence[str] = ANSWERS, confidence: float = CONFIDENCE) -> GwetAC1:
    """Gwet's (2008) AC1 for any number of readers per item, one row per answer.

    With r_ik readers putting item i in category k (r_i = sum_k r_ik >= 2), q categories:
        p_a = mean_i sum_k r_ik (r_ik - 1) / (r_i (r_i - 1)),   pi_k = mean_i r_ik / r_i,
        p_e = sum_k pi_k (1 - pi_k) / (q - 1),                 AC1 = (p_a - p_e) / (1 - p_e).
    Items answered by fewer than two readers are left out.
    """
    categories = tuple(categories)
    method = "Gwet's AC1 (2008), chance agreement from the category shares; jackknife over items for the CI"
    item = np.asarray(item, dtype=object)
    answer = np.asarray(answer, dtype=object)
    if len(item) != len(answer):
        raise ValueError(f"columns differ in length: {len(item)} and {len(answer)}")
    unknown = set(answer) - set(categories)
    if unknown:
        raise ValueError(f"answers must be one of {categories}, got {sorted(map(str, unknown))}")
    items = _ordered_unique(item)
    counts = (
        _crosstab(item, items, answer, categories) if items else np.zeros((0, len(categories)), dtype=int)
    )
    counts = counts[counts.sum(axis=1) >= 2].astype(float)

    def none(reason, n=0):
        return GwetAC1(None, None, None, None, None, None, n, categories, confidence, method, reason)

    if len(categories) < 2:
        return none("not estimable because there is one category")
    if len(counts) == 0:
        return none("not estimable because no item was answered by two or more readers")
    ac1, observed, chance = _ac1_from_counts(counts)
    stderr = low = high = None
    if len(counts) >= 2:
        leave_one_out = np.array(
            [_ac1_from_counts(np.delete(counts, k, axis=0))[0] for k in range(len(counts))]
        )
        n = len(counts)
        stderr = float(np.sqrt((n - 1) / n * ((leave_one_out - leave_one_out.mean()) ** 2).sum()))
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        low, high = max(-1.0, ac1 - z * stderr), min(1.0, ac1 + z * stderr)
    return GwetAC1(ac1, stderr, low, high, observed, chance, len(counts), categories, confidence, method)


WEIGHTS = (None, "linear", "quadratic")


@dataclass(frozen=True)
class CohenKappa(_Result):
    """Cohen's kappa (weighted when ``weights`` is set) of two sets of ratings of the same items, with a CI.

    The standard error is the large-sample one of Fleiss, Cohen & Everitt (1969), the CI kappa +- z SE.
    """

    kappa: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    observed_agreement: float | None
    chance_agreement: float | None
    pair_count: int
    weights: str | None
    confidence: float
    reason: str | None = None


def _agreement_weights(q: int, weights: str | None) -> np.ndarray:
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}")
    if weights is None or q < 2:
        return np.eye(q)
    distance = np.abs(np.arange(q)[:, None] - np.arange(q)[None, :]) / (q - 1)
    return 1 - distance if weights == "linear" else 1 - distance**2


def cohen_kappa_table(table, *, weights: str | None = None, confidence: float = CONFIDENCE) -> CohenKappa:
    """Cohen's kappa of a square table (rows: first rating, columns: second; categories in order).

    With agreement weights w (identity, or 1 - |i-j|/(q-1) linear, 1 - (i-j)^2/(q-1)^2 quadratic):
        p_o = sum w_ij p_ij,  p_e = sum w_ij p_i. p_.j,  kappa = (p_o - p_e) / (1 - p_e),
        Var = [sum p_ij (w_ij - (wbar_i. + wbar_.j)(1 - kappa))^2 - (kappa - p_e (1 - kappa))^2] / (n (1 - p_e)^2)
    with wbar_i. = sum_j p_.j w_ij and wbar_.j = sum_i p_i. w_ij.
    """
    table = np.asarray(table, dtype=float)
    if table.ndim != 2 or table.shape[0] != table.shape[1] or np.any(table < 0):
        raise ValueError("the table must be square with non-negative counts")
    w = _agreement_weights(table.shape[0], weights)
    n = float(table.sum())
    if n == 0:
        return CohenKappa(
            None, None, None, None, None, None, 0, weights, confidence, "not estimable: no pairs"
        )
    p = table / n
    rows, columns = p.sum(axis=1), p.sum(axis=0)
    observed = float((w * p).sum())
    chance = float((w * np.outer(rows, columns)).sum())
    if chance >= 1 - 1e-12:
        reason = "not estimable because every rating falls in one category (chance agreement is 1)"
        return CohenKappa(None, None, None, None, observed, chance, int(n), weights, confidence, reason)
    kappa = (observed - chance) / (1 - chance)
    w_row = w @ columns
    w_column = rows @ w
    spread = (p * (w - (w_row[:, None] + w_column[None, :]) * (1 - kappa)) ** 2).sum()
    variance = (spread - (kappa - chance * (1 - kappa)) ** 2) / (n * (1 - chance) ** 2)
    stderr = float(np.sqrt(max(variance, 0.0)))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return CohenKappa(
        float(kappa),
        stderr,
        max(-1.0, kappa - z * stderr),
        min(1.0, kappa + z * stderr),
        observed,
        chance,
        int(n),
        weights,
        confidence,
    )


@dataclass(frozen=True)
class ReaderKappa(_Result):
    reader: Any
    kappa: CohenKappa


def intra_reader_kappa(
    reader,
    item,
    round,  # noqa: A002 - the repeat round, as studies names it
    answer,
    *,
    categories: Sequence = ANSWERS,
    weights: str | None = None,
    confidence: float = CONFIDENCE,
) -> tuple[ReaderKappa, ...]:
    """Cohen's kappa per reader between the first two rounds in which the reader answered each item.

    One row per answer. ``categories`` fixes the table's order (ordered rating levels for weighted kappa).
    A reader with no item answered twice gets a kappa with a reason instead of a value.
    """
    columns = [np.asarray(column, dtype=object) for column in (reader, item, round, answer)]
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"columns differ in length: {[len(column) for column in columns]}")
    reader, item, round_, answer = columns
    categories = tuple(categories)
    index = {value: k for k, value in enumerate(categories)}
    unknown = {value for value in answer if value not in index}
    if unknown:
        raise ValueError(f"answers must be one of {categories}, got {sorted(map(str, unknown))}")
    results = []
    for name in _ordered_unique(reader):
        rows = np.flatnonzero(reader == name)
        by_item: dict = {}
        for k in sorted(rows, key=lambda k: (str(item[k]), round_[k])):
            by_item.setdefault(item[k], []).append(answer[k])
        table = np.zeros((len(categories), len(categories)))
        for answers in by_item.values():
            if len(answers) >= 2:
                table[index[answers[0]], index[answers[1]]] += 1
        if table.sum() == 0:
            kappa = CohenKappa(
                None,
                None,
                None,
                None,
                None,
                None,
                0,
                weights,
                confidence,
                "not estimable because the reader answered no item twice",
            )
        else:
            kappa = cohen_kappa_table(table, weights=weights, confidence=confidence)
        results.append(ReaderKappa(name, kappa))
    return tuple(results)
