"""Inter-reader agreement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metrics.stats.contingency import _crosstab
from metrics.stats.core import (
    ANSWERS,
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
