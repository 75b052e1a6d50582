"""The report's tables as CSV files of their own (the paper's Tables 1-3), for a paper's supplement."""

from __future__ import annotations

from reports.content.exports import _csv, metrics_csv
from reports.content.report import Report, table2_variants

TABLE2_COLUMNS = (
    "variant",
    "survey",
    "model_alias",
    "items",
    "correct",
    "answers",
    "accuracy",
    "ci_low",
    "ci_high",
    "p_value",
)
TABLE3_COLUMNS = (
    "comparison",
    "test",
    "method",
    "statistic",
    "p_value",
    "exact_test",
    "exact_p_value",
    "decisive_p_value",
    "holm_p_value",
    "yates_correction",
    "conclusion",
)


def table1_csv(report: Report) -> bytes:
    """Table 1: every metric's mean over the axial layers, per model, with its baseline (the metrics CSV's
    columns)."""
    return metrics_csv(report.metric_averages)


def table2_csv(report: Report) -> bytes:
    """Table 2: accuracy on all, real-only and synthetic-only items per survey, indeterminable excluded and
    counted as wrong, with the 95% Wilson interval and the exact binomial test against 50%."""
    records = []
    for variant in table2_variants(report):
        for row in variant["rows"]:
            for items, estimate in zip(("all", "real", "synthetic"), row["cells"], strict=True):
                records.append(
                    [
                        variant["caption"],
                        row["survey"],
                        row["alias"],
                        items,
                        estimate.successes,
                        estimate.total,
                        estimate.proportion,
                        estimate.ci_low,
                        estimate.ci_high,
                        estimate.p_value,
                    ]
                )
    return _csv(TABLE2_COLUMNS, records)


def table3_csv(report: Report) -> bytes:
    """Table 3: the chi-squared tests (binomial and multinomial) of every comparison, with the exact test where
    one was needed and the Holm-adjusted p."""
    records = []
    for row in (*report.table3, *report.table3_detail):
        for kind, test in (("binomial", row.binomial), ("multinomial", row.multinomial)):
            records.append(
                [
                    row.label,
                    kind,
                    test.method,
                    test.statistic,
                    test.p_value,
                    test.exact_test or "",
                    test.exact_p_value,
                    test.decisive_p_value,
                    test.holm_p_value,
                    test.yates_correction,
                    test.conclusion,
                ]
            )
    return _csv(TABLE3_COLUMNS, records)
