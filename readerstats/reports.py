"""Everything computed for a survey and for a study: the reports' statistics."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from readerstats.agreement import FleissKappa, GwetAC1, fleiss_kappa, gwet_ac1
from readerstats.contingency import (
    ContingencyTest,
    MantelHaenszelTest,
    SurveyComparison,
    compare_surveys,
    holm_adjust_tests,
    mantel_haenszel_test,
    truth_answer_test,
)
from readerstats.core import (
    ALPHA,
    EQUIVALENCE_MARGIN,
    PERMUTATION_RESAMPLES,
    PERMUTATION_SEED,
    AnswerTable,
    _ordered_unique,
    _Result,
)
from readerstats.gee import GeeAccuracy, gee_accuracy
from readerstats.proportions import (
    AccuracyBreakdown,
    EquivalenceTest,
    ReaderAccuracy,
    accuracy_breakdown,
    equivalence_test,
    per_reader_accuracy,
)

# --------------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class SurveyReport(_Result):
    """Everything computed for one survey; equivalence and GEE score definite answers only."""

    survey: Any
    answer_count: int
    reader_count: int
    item_count: int
    accuracy: AccuracyBreakdown
    truth_answer_binomial: ContingencyTest
    truth_answer_multinomial: ContingencyTest
    per_reader: tuple[ReaderAccuracy, ...]
    fleiss_kappa: FleissKappa
    gee: GeeAccuracy
    equivalence: EquivalenceTest
    notes: tuple[str, ...] = ()
    gwet_ac1: GwetAC1 | None = None


def survey_report(
    table: AnswerTable,
    *,
    survey=None,
    alpha: float = ALPHA,
    margin: float = EQUIVALENCE_MARGIN,
    n_resamples: int = PERMUTATION_RESAMPLES,
    seed: int | None = PERMUTATION_SEED,
) -> SurveyReport:
    """All statistics of one survey: ``table`` restricted to ``survey`` if given, else taken whole."""
    notes = []
    if survey is not None:
        table = table.for_survey(survey)
    elif len(table.surveys) == 1:
        survey = table.surveys[0]
    elif len(table.surveys) > 1:
        notes.append(f"answers from {len(table.surveys)} surveys were analysed together")
    if len(table) == 0:
        notes.append("the survey has no answers")
    name = f"Survey {survey}" if survey is not None else "All answers"
    options = {"alpha": alpha, "n_resamples": n_resamples, "seed": seed}
    definite = table.definite
    return SurveyReport(
        survey=survey,
        answer_count=len(table),
        reader_count=len(table.readers),
        item_count=len(_ordered_unique(table.item)),
        accuracy=accuracy_breakdown(table.truth, table.answer),
        truth_answer_binomial=truth_answer_test(
            table.truth,
            table.answer,
            multinomial=False,
            label=f"{name}: real vs synthetic (binomial)",
            **options,
        ),
        truth_answer_multinomial=truth_answer_test(
            table.truth,
            table.answer,
            multinomial=True,
            label=f"{name}: real vs synthetic (multinomial)",
            **options,
        ),
        per_reader=per_reader_accuracy(table.truth, table.answer, table.reader),
        fleiss_kappa=fleiss_kappa(table.item, table.answer),
        gee=gee_accuracy(table.correct[definite], table.truth[definite], table.reader[definite], alpha=alpha),
        equivalence=equivalence_test(
            int(np.count_nonzero(table.correct)), int(np.count_nonzero(definite)), margin=margin, alpha=alpha
        ),
        notes=tuple(notes),
        gwet_ac1=gwet_ac1(table.item, table.answer),
    )


@dataclass(frozen=True)
class StudyReport(_Result):
    """Everything computed for several surveys: per survey, pooled, stratified by survey, and survey pairs.

    Holm families (each adjusted separately): the within-survey binomial tests; the within-survey multinomial
    tests; and, over all survey pairs, each of the six kinds of :class:`SurveyComparison` test.
    """

    surveys: tuple[SurveyReport, ...]
    pooled_accuracy: AccuracyBreakdown
    pooled_binomial: ContingencyTest
    pooled_multinomial: ContingencyTest
    mantel_haenszel: MantelHaenszelTest
    comparisons: tuple[SurveyComparison, ...]
    holm_families: tuple[str, ...]


def study_report(
    table: AnswerTable,
    *,
    alpha: float = ALPHA,
    margin: float = EQUIVALENCE_MARGIN,
    n_resamples: int = PERMUTATION_RESAMPLES,
    seed: int | None = PERMUTATION_SEED,
) -> StudyReport:
    options = {"alpha": alpha, "n_resamples": n_resamples, "seed": seed}
    reports = [survey_report(table, survey=survey, margin=margin, **options) for survey in table.surveys]
    families_used = []
    for attribute, family in (
        ("truth_answer_binomial", "within-survey real vs synthetic (binomial)"),
        ("truth_answer_multinomial", "within-survey real vs synthetic (multinomial)"),
    ):
        adjusted = holm_adjust_tests([getattr(report, attribute) for report in reports], family)
        reports = [
            dataclasses.replace(report, **{attribute: test})
            for report, test in zip(reports, adjusted, strict=True)
        ]
        families_used.append(family)
    comparisons = [compare_surveys(table, a, b, **options) for a, b in combinations(table.surveys, 2)]
    for attribute in SurveyComparison.TESTS:
        family = f"survey pairs: {attribute.replace('_', ' ')}"
        adjusted = holm_adjust_tests([getattr(comparison, attribute) for comparison in comparisons], family)
        comparisons = [
            dataclasses.replace(comparison, **{attribute: test})
            for comparison, test in zip(comparisons, adjusted, strict=True)
        ]
        families_used.append(family)
    return StudyReport(
        surveys=tuple(reports),
        pooled_accuracy=accuracy_breakdown(table.truth, table.answer),
        pooled_binomial=truth_answer_test(
            table.truth,
            table.answer,
            multinomial=False,
            label="All surveys: real vs synthetic (binomial)",
            **options,
        ),
        pooled_multinomial=truth_answer_test(
            table.truth,
            table.answer,
            multinomial=True,
            label="All surveys: real vs synthetic (multinomial)",
            **options,
        ),
        mantel_haenszel=mantel_haenszel_test(table.truth, table.answer, table.survey, alpha=alpha),
        comparisons=tuple(comparisons),
        holm_families=tuple(families_used),
    )
