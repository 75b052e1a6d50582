"""How the report writes its numbers, the same on the pages (reports.templatetags.report_format) and in the PDF.

Light on purpose: Django loads every template tag library when a web process renders its first page (the sign-in
page too), so nothing here may load the statistics (SciPy, statsmodels, pandas)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from readerstats import format_p

if TYPE_CHECKING:
    from readerstats import ContingencyTest, ProportionEstimate


def format_percent(estimate: ProportionEstimate) -> str:
    return "n/a" if estimate.proportion is None else f"{100 * estimate.proportion:.1f}%"


def format_interval(estimate: ProportionEstimate) -> str:
    if estimate.ci_low is None:
        return ""
    return f"{100 * estimate.ci_low:.1f}\u2013{100 * estimate.ci_high:.1f}"


def table3_cell(test: ContingencyTest) -> str:
    """A Table 3 cell: the decisive p (exact where the chi-squared approximation is doubtful), Holm-adjusted p,
    and a mark for the test used."""
    if test.decisive_p_value is None:
        return "n/a"
    mark = ""
    if test.exact_p_value is not None:
        mark = " F" if test.exact_test and test.exact_test.startswith("Fisher") else " MC"
    elif test.yates_correction:
        mark = " Y"
    text = f"{format_p(test.decisive_p_value)}{mark}"
    if test.holm_p_value is not None:
        text += f" (Holm {format_p(test.holm_p_value)})"
    return text


TABLE3_MARKS = (
    "Y: chi-squared with Yates' continuity correction (2x2 tables); no mark: chi-squared without correction "
    "(2x3 tables); F: Fisher's exact test, MC: Monte Carlo permutation test, used instead when an expected count "
    "is under 5. Holm: adjusted for the number of tests in its family (within-survey tests; survey pairs)."
)
