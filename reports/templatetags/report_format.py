"""Number formats of the report pages, the same as in the PDF (see reports.content.report)."""

from django import template

from readerstats import format_p, p_text
from reports.content.formats import format_interval, format_percent, table3_cell
from reports.content.reader_groups import test_sentence
from reports.content.wording import plain_reason

register = template.Library()


@register.filter
def percent(estimate) -> str:
    return format_percent(estimate)


@register.filter
def interval(estimate) -> str:
    return format_interval(estimate)


@register.filter
def pvalue(p) -> str:
    return format_p(p)


@register.filter
def ptext(p) -> str:
    return p_text(p)


@register.filter
def table3(test) -> str:
    return table3_cell(test)


@register.filter
def number(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{int(digits)}g}"


@register.filter
def fixed(value, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{int(digits)}f}"


@register.filter
def times100(value):
    return None if value is None else 100 * value


@register.filter
def ordinal_place(number) -> str:
    """1 -> "1st", 2 -> "2nd", 3 -> "3rd", 4 -> "4th", ..."""
    number = int(number)
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@register.filter
def group_rows(analysis, groups) -> list:
    """The display rows of one reader subgroup analysis (``groups``: the report's ReaderGroups)."""
    return groups.rows(analysis)


@register.filter
def group_test(analysis) -> str:
    """The test of a group effect in words (or why it is not shown, and what to change)."""
    return test_sentence(analysis)


@register.filter
def why(reason) -> str:
    """Why a number is missing, in plain words, with what to change in the design when it is not estimable."""
    return plain_reason(reason)
