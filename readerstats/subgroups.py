"""Reader subgroups: accuracy (and AUC where rated) by specialty or by experience band, and the GLMM test of a
group effect.

Per group: the readers and answers, the pooled accuracy with its Wilson interval (which ignores clustering), the
mean of the readers' own accuracies and, with ratings, the mean of the readers' empirical ROC AUCs. The test of a
group effect compares ``correct ~ group + (1|reader) + (1|item)`` with ``correct ~ 1 + (1|reader) + (1|item)`` by
the likelihood ratio (chi-squared on groups - 1 df; the Laplace GLMM of :mod:`readerstats.glmm`): readers are
nested within their group, so the group effect is judged against the spread between readers, and it is only
estimable when every group has at least two readers. Readers with no stated specialty or experience are left out,
and counted.

Experience bands are given by their edges in years: the default (5, 15) makes "< 5", "5-15" and "> 15" (a reader
with 5 or 15 years is in "5-15"). Pure computation, named results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from readerstats.core import CONFIDENCE, SYNTHETIC, _ordered_unique, _Result
from readerstats.experience import DEFAULT_EXPERIENCE_BANDS, experience_band, experience_bands
from readerstats.glmm import GlmmFit, glmm_fit
from readerstats.proportions import ProportionEstimate, proportion_estimate
from readerstats.roc import empirical_roc

MIN_READERS_PER_GROUP = 2
METHOD = (
    "per group: pooled accuracy (Wilson), mean reader accuracy, mean reader empirical AUC; group effect: "
    "likelihood-ratio test of correct ~ group + (1|reader) + (1|item) against correct ~ 1 + (1|reader) + (1|item) "
    "(Laplace GLMM)"
)


@dataclass(frozen=True)
class SubgroupSummary(_Result):
    """One group of readers."""

    group: Any
    reader_count: int
    answer_count: int
    accuracy: ProportionEstimate
    mean_reader_accuracy: float | None
    mean_reader_auc: float | None
    auc_reader_count: int


@dataclass(frozen=True)
class GroupEffectTest(_Result):
    """Likelihood-ratio test of a group effect; ``estimable`` False with a reason (what would make it estimable)."""

    estimable: bool
    reason: str | None
    statistic: float | None
    df: int | None
    p_value: float | None
    log_likelihood_full: float | None
    log_likelihood_null: float | None
    fit: GlmmFit | None
    null_fit: GlmmFit | None


@dataclass(frozen=True)
class SubgroupAnalysis(_Result):
    """Accuracy (and AUC) per group of readers and the test of a group effect."""

    grouping: str
    method: str
    groups: tuple[SubgroupSummary, ...]
    test: GroupEffectTest
    readers_without_group: int
    answers_without_group: int
    confidence: float

    def to_frame(self):
        """One row per group (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "group": g.group,
                    "readers": g.reader_count,
                    "answers": g.answer_count,
                    "accuracy": g.accuracy.proportion,
                    "ci_low": g.accuracy.ci_low,
                    "ci_high": g.accuracy.ci_high,
                    "mean_reader_accuracy": g.mean_reader_accuracy,
                    "mean_reader_auc": g.mean_reader_auc,
                }
                for g in self.groups
            ]
        )


def subgroup_analysis(
    correct,
    reader,
    item,
    group,
    *,
    truth=None,
    rating=None,
    positive: Any = SYNTHETIC,
    grouping: str = "group",
    levels: Sequence | None = None,
    confidence: float = CONFIDENCE,
) -> SubgroupAnalysis:
    """Accuracy per group of readers and the likelihood-ratio test of a group effect.

    One row per answer: ``correct`` 0/1 (None/NaN: not scored), reader and item ids, and the reader's ``group``
    (None: not stated; such readers are left out and counted). ``truth`` and ``rating`` (optional, higher = more
    confident of ``positive``) give each reader's empirical AUC. ``levels`` orders the groups (the first present
    is the GLMM's reference level); by default they are sorted.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    columns = [list(correct), list(reader), list(item), list(group)]
    if rating is not None:
        if truth is None:
            raise ValueError("ratings need the truth of each item")
        columns += [list(truth), list(rating)]
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"columns differ in length: {[len(column) for column in columns]}")
    y = np.array([np.nan if value is None else float(value) for value in columns[0]], dtype=float)
    reader, item, group = (np.asarray(column, dtype=object) for column in columns[1:4])
    labelled = np.array([value is not None and value == value and value != "" for value in group], dtype=bool)
    readers_without = len(set(reader[~labelled]) - set(reader[labelled]))
    answers_without = int((~labelled & np.isfinite(y)).sum())
    for r in set(reader[labelled]):
        if len(set(group[labelled & (reader == r)])) > 1:
            raise ValueError(f"reader {r} is in more than one {grouping}")
    groups = _ordered_unique(group[labelled])
    if levels is not None:
        rank = {level: k for k, level in enumerate(levels)}
        groups = tuple(sorted(groups, key=lambda g: (rank.get(g, len(rank)), str(g))))
    summaries = []
    for g in groups:
        rows = labelled & (group == g)
        scored = rows & np.isfinite(y)
        reader_accuracies, aucs = [], []
        for r in _ordered_unique(reader[rows]):
            mine = scored & (reader == r)
            if mine.any():
                reader_accuracies.append(float(y[mine].mean()))
            if rating is not None:
                values = np.array(
                    [np.nan if v is None else float(v) for v in np.asarray(columns[5])[rows & (reader == r)]]
                )
                is_positive = np.asarray(columns[4], dtype=object)[rows & (reader == r)] == positive
                keep = np.isfinite(values)
                if keep.any() and is_positive[keep].any() and (~is_positive[keep]).any():
                    aucs.append(empirical_roc(is_positive[keep], values[keep]).auc)
        summaries.append(
            SubgroupSummary(
                group=g,
                reader_count=len(set(reader[rows])),
                answer_count=int(scored.sum()),
                accuracy=proportion_estimate(
                    int(y[scored].sum()), int(scored.sum()), label=str(g), confidence=confidence
                ),
                mean_reader_accuracy=float(np.mean(reader_accuracies)) if reader_accuracies else None,
                mean_reader_auc=float(np.mean(aucs)) if aucs else None,
                auc_reader_count=len(aucs),
            )
        )
    test = _group_effect(y, reader, item, group, labelled, groups, summaries, grouping)
    return SubgroupAnalysis(
        grouping=grouping,
        method=METHOD,
        groups=tuple(summaries),
        test=test,
        readers_without_group=readers_without,
        answers_without_group=answers_without,
        confidence=confidence,
    )


def _group_effect(y, reader, item, group, labelled, groups, summaries, grouping) -> GroupEffectTest:
    def not_estimable(reason, fit=None, null_fit=None):
        return GroupEffectTest(False, reason, None, None, None, None, None, fit, null_fit)

    if len(groups) < 2:
        return not_estimable(
            f"not estimable because the readers form {len(groups)} {grouping} group(s): a group effect needs two "
            "or more groups with at least two readers each"
        )
    few = [s for s in summaries if s.reader_count < MIN_READERS_PER_GROUP]
    if few:
        names = ", ".join(f"{s.group} ({s.reader_count})" for s in few)
        return not_estimable(
            f"not estimable because these {grouping} groups have fewer than {MIN_READERS_PER_GROUP} readers: {names}; "
            f"it becomes estimable with at least {MIN_READERS_PER_GROUP} readers in every group (add readers, or "
            "merge the group with another)"
        )
    rows = labelled & np.isfinite(y)
    fixed = {f"{grouping}{g}": (group[rows] == g).astype(float) for g in groups[1:]}
    fit = glmm_fit(y[rows], reader[rows], item[rows], fixed=fixed)
    if not fit.estimable:
        return not_estimable(fit.reason, fit)
    null_fit = glmm_fit(y[rows], reader[rows], item[rows])
    if not null_fit.estimable:
        return not_estimable(null_fit.reason, fit, null_fit)
    statistic = max(2 * (fit.log_likelihood - null_fit.log_likelihood), 0.0)
    return GroupEffectTest(
        True,
        None,
        float(statistic),
        len(groups) - 1,
        float(stats.chi2.sf(statistic, len(groups) - 1)),
        fit.log_likelihood,
        null_fit.log_likelihood,
        fit,
        null_fit,
    )


def by_specialty(correct, reader, item, specialty, **options) -> SubgroupAnalysis:
    """:func:`subgroup_analysis` with the readers' stated specialty as the group."""
    return subgroup_analysis(correct, reader, item, specialty, grouping="specialty", **options)


def by_experience(
    correct, reader, item, years, *, edges: Sequence[float] = DEFAULT_EXPERIENCE_BANDS, **options
) -> SubgroupAnalysis:
    """:func:`subgroup_analysis` with the readers' experience band (``edges`` in years) as the group; the groups
    come in band order."""
    bands = [experience_band(value, edges) for value in years]
    return subgroup_analysis(
        correct, reader, item, bands, grouping="experience", levels=experience_bands(edges), **options
    )
