"""Tests of hypotheses on contingency tables: chi-squared with exact/permutation fallbacks, Holm,
Cochran-Mantel-Haenszel, survey against survey; one module per concept."""

from readerstats.contingency.independence import (
    TRUTH_VS_ANSWER,
    ContingencyTest,
    Hypothesis,
    _crosstab,
    _decide,
    independence_test,
    pearson_chi_squared,
    permutation_test_p_value,
    surveys_hypothesis,
    truth_answer_test,
)
from readerstats.contingency.mantel_haenszel import MantelHaenszelTest, mantel_haenszel_test
from readerstats.contingency.multiplicity import holm_adjust, holm_adjust_tests
from readerstats.contingency.surveys import SurveyComparison, compare_surveys

__all__ = [
    "TRUTH_VS_ANSWER",
    "ContingencyTest",
    "Hypothesis",
    "MantelHaenszelTest",
    "SurveyComparison",
    "_crosstab",
    "_decide",
    "compare_surveys",
    "holm_adjust",
    "holm_adjust_tests",
    "independence_test",
    "mantel_haenszel_test",
    "pearson_chi_squared",
    "permutation_test_p_value",
    "surveys_hypothesis",
    "truth_answer_test",
]
