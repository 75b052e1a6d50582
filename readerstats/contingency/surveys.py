"""One survey against another: the accuracy and answer distributions, Holm-adjusted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from readerstats.contingency.independence import (
    ContingencyTest,
    _crosstab,
    independence_test,
    surveys_hypothesis,
)
from readerstats.core import (
    ALPHA,
    CORRECT,
    INDETERMINABLE,
    PERMUTATION_RESAMPLES,
    PERMUTATION_SEED,
    REAL,
    SYNTHETIC,
    TRUTHS,
    WRONG,
    AnswerTable,
    _Result,
)

# --------------------------------------------------------------------------------------------------
# Survey against survey


@dataclass(frozen=True)
class SurveyComparison(_Result):
    """Table 3 "Survey A vs Survey B": survey x answer on synthetic items, on real items, and survey x
    correctness on all items, each binomial (indeterminable excluded) and multinomial (indeterminable kept).
    """

    survey_a: Any
    survey_b: Any
    synthetic_items_binomial: ContingencyTest
    synthetic_items_multinomial: ContingencyTest
    real_items_binomial: ContingencyTest
    real_items_multinomial: ContingencyTest
    correctness_binomial: ContingencyTest
    correctness_multinomial: ContingencyTest

    TESTS = (
        "synthetic_items_binomial",
        "synthetic_items_multinomial",
        "real_items_binomial",
        "real_items_multinomial",
        "correctness_binomial",
        "correctness_multinomial",
    )


def compare_surveys(
    table: AnswerTable,
    survey_a,
    survey_b,
    *,
    alpha: float = ALPHA,
    n_resamples: int = PERMUTATION_RESAMPLES,
    seed: int | None = PERMUTATION_SEED,
) -> SurveyComparison:
    pair = (survey_a, survey_b)
    in_pair = (table.survey == survey_a) | (table.survey == survey_b)
    rows = tuple(str(survey) for survey in pair)
    survey_names = np.array([str(survey) for survey in table.survey], dtype=object)
    options = {"alpha": alpha, "n_resamples": n_resamples, "seed": seed}
    correctness = np.where(
        table.answer == INDETERMINABLE, INDETERMINABLE, np.where(table.correct, CORRECT, WRONG)
    ).astype(object)
    tests = {}
    for subset, mask, values, subject in (
        ("synthetic_items", table.truth == SYNTHETIC, table.answer, "answers on synthetic items"),
        ("real_items", table.truth == REAL, table.answer, "answers on real items"),
        ("correctness", np.ones(len(table), dtype=bool), correctness, "correctness over all items"),
    ):
        definite_columns = (CORRECT, WRONG) if subset == "correctness" else TRUTHS
        for kind, columns in (
            ("binomial", definite_columns),
            ("multinomial", (*definite_columns, INDETERMINABLE)),
        ):
            selected = mask & in_pair
            tests[f"{subset}_{kind}"] = independence_test(
                _crosstab(survey_names[selected], rows, values[selected], columns),
                row_labels=rows,
                column_labels=columns,
                row_variable="survey",
                column_variable="correctness" if subset == "correctness" else "answer",
                hypothesis=surveys_hypothesis(subject),
                label=f"Survey {survey_a} vs Survey {survey_b}: {subject} ({kind})",
                kind=kind,
                **options,
            )
    return SurveyComparison(survey_a=survey_a, survey_b=survey_b, **tests)
