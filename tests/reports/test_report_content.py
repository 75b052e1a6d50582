"""The report's content from plain rows (no database): Table 2 and Table 3 against direct computations, accuracy
per layer, confusion matrices, reasons by item, CSV writing, figures and the PDF."""

import csv
import io
import json
import math
from datetime import UTC, datetime

import numpy as np
import pytest
import scipy.stats

from metrics.measures.layerwise import METRICS
from readerstats import format_p
from reports.content import figures
from reports.content.exports import (
    ANSWER_COLUMNS,
    AnswerRow,
    MetricRow,
    answers_csv,
    data_dictionary_csv,
    metrics_csv,
    spreadsheet_safe,
    stats_json,
)
from reports.content.formats import table3_cell
from reports.content.pdf import report_pdf
from reports.content.report import (
    TABLE2_TITLE,
    TABLE3_TITLE,
    SurveyInfo,
    build_report,
    reasons_by_item,
)
from tests.reports.pdf_text import pdf_text


def answer(survey, reader, item, truth, given, layer=5, reason=""):
    return AnswerRow(
        survey=survey,
        model_alias=f"alias of {survey}",
        model=f"model of {survey}",
        reader=reader,
        reader_specialty="",
        reader_years_of_experience=None,
        item=item,
        truth=truth,
        answer=given,
        reason=reason,
        seconds_on_slice=4.5,
        window_width=400.0,
        window_level=40.0,
        window_changed=False,
        zoom=1.0,
        axial_layer=layer,
        revisions=1,
        answered_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )


def simulated(survey, readers, items, accuracy, seed, indeterminable=0.1):
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(items):
        truth = "real" if item % 2 else "synthetic"
        for reader in range(readers):
            if rng.random() < indeterminable:
                given = "indeterminable"
            elif rng.random() < accuracy:
                given = truth
            else:
                given = "synthetic" if truth == "real" else "real"
            rows.append(
                answer(survey, f"{survey}-r{reader}", f"{survey}-i{item}", truth, given, layer=1 + item % 10)
            )
    return rows


def info(name, readers=5, items=20):
    return SurveyInfo(name, f"alias of {name}", f"model of {name}", "Real CT", "closed", items, readers)


@pytest.fixture(scope="module")
def two_surveys():
    rows = simulated("S1", 6, 20, 0.5, seed=1) + simulated("S2", 5, 20, 0.85, seed=2)
    return rows, build_report(rows, [info("S1", 6), info("S2", 5)], n_resamples=500)


def test_table_2_has_the_accuracies_on_all_real_and_synthetic_items_as_direct_counts(two_surveys):
    rows, report = two_surveys
    assert [row.survey for row in report.table2] == ["S1", "S2", "All surveys"]
    for table_row in report.table2[:2]:
        mine = [row for row in rows if row.survey == table_row.survey]
        definite = [row for row in mine if row.answer != "indeterminable"]
        for scope, estimate in (
            ("all", table_row.all_items),
            ("real", table_row.real_items),
            ("synthetic", table_row.synthetic_items),
        ):
            scoped = [row for row in definite if scope == "all" or row.truth == scope]
            correct = sum(row.answer == row.truth for row in scoped)
            assert (estimate.successes, estimate.total) == (correct, len(scoped))
            assert estimate.p_value == pytest.approx(scipy.stats.binomtest(correct, len(scoped)).pvalue)
        strict = table_row.all_items_strict
        assert (strict.successes, strict.total) == (sum(r.answer == r.truth for r in mine), len(mine))
    assert report.table2[2].answers == len(rows) and report.table2[2].readers == 11


def test_table_3_lists_within_pooled_and_pairwise_tests_with_the_paper_layout(two_surveys):
    rows, report = two_surveys
    assert [row.label for row in report.table3] == [
        "S1: real vs synthetic",
        "S2: real vs synthetic",
        "All surveys: real vs synthetic",
        "S1 vs S2",
    ]
    within = report.table3[1].binomial
    definite = [row for row in rows if row.survey == "S2" and row.answer != "indeterminable"]
    table = [
        [sum(r.truth == t and r.answer == a for r in definite) for a in ("real", "synthetic")]
        for t in ("real", "synthetic")
    ]
    chi2 = scipy.stats.chi2_contingency(table, correction=True)
    assert within.p_value == pytest.approx(chi2.pvalue) and within.yates_correction
    # readers of S2 were right 85% of the time: they CAN tell, and the conclusion says so in words
    assert within.rejects_null and "readers CAN tell" in within.conclusion
    assert report.table3[0].binomial.rejects_null is False
    assert "not evidence that they cannot" in report.table3[0].binomial.conclusion
    assert report.table3[3].binomial.row_variable == "survey"
    assert [row.label for row in report.table3_detail] == [
        "S1 vs S2: answers on synthetic items",
        "S1 vs S2: answers on real items",
    ]


def test_a_table_3_cell_shows_the_decisive_p_the_test_used_and_the_holm_p(two_surveys):
    _, report = two_surveys
    cell = table3_cell(report.table3[0].binomial)
    assert " Y (Holm " in cell
    assert format_p(0.0004) == "<0.001" and format_p(0.1234) == "0.123" and format_p(None) == "n/a"


def test_survey_order_is_the_callers_not_alphabetical():
    rows = simulated("B", 3, 10, 0.6, seed=3) + simulated("A", 3, 10, 0.6, seed=4)
    report = build_report(rows, [info("B"), info("A")], n_resamples=200)
    assert [row.survey for row in report.table2[:2]] == ["B", "A"]
    assert [str(survey.survey) for survey in report.study.surveys] == ["B", "A"]


def test_accuracy_by_layer_and_confusion_counts_come_from_the_rows(two_surveys):
    rows, report = two_surveys
    layer3 = next(e for e in report.layer_accuracy if e.survey == "S1" and e.layer == 3)
    mine = [r for r in rows if r.survey == "S1" and r.axial_layer == 3 and r.answer != "indeterminable"]
    assert (layer3.estimate.successes, layer3.estimate.total) == (sum(r.correct for r in mine), len(mine))
    assert len([e for e in report.layer_accuracy if e.survey == ""]) == 10
    counts = report.confusion["S2"]
    assert counts.sum() == sum(r.survey == "S2" for r in rows)
    assert counts[1, 2] == sum(
        r.survey == "S2" and r.truth == "synthetic" and r.answer == "indeterminable" for r in rows
    )


def test_reasons_are_grouped_by_item_most_discussed_first_and_capped():
    rows = [answer("S", f"r{n}", "i1", "synthetic", "synthetic", reason=f"ribs {n}") for n in range(5)]
    rows += [
        answer("S", "r9", "i2", "real", "real", reason="looks fine"),
        answer("S", "r8", "i3", "real", "real"),
    ]
    grouped = reasons_by_item(rows, limit=3)
    assert [entry.item for entry in grouped] == ["i1", "i2"]
    assert len(grouped[0].reasons) == 3 and grouped[0].more == 2
    assert grouped[0].answer_counts == {"real": 0, "synthetic": 5, "indeterminable": 0}


def test_answers_of_an_undescribed_survey_are_refused():
    with pytest.raises(ValueError, match="not described"):
        build_report(simulated("X", 2, 4, 0.5, seed=5), [info("Y")])


# --- exports ---------------------------------------------------------------------------------------------------


def test_the_answers_csv_writes_one_row_per_answer_and_defuses_formulas():
    rows = [
        answer("S", "r1", "i1", "real", "synthetic", reason="=HYPERLINK(1)"),
        answer("S", "r2", "i1", "real", "real"),
    ]
    written = list(csv.DictReader(io.StringIO(answers_csv(rows).decode())))
    assert len(written) == 2 and list(written[0]) == [column.name for column in ANSWER_COLUMNS]
    assert written[0]["reason"] == "'=HYPERLINK(1)" and written[0]["correct"] == "0"
    assert written[1]["correct"] == "1" and written[1]["reader_years_of_experience"] == ""
    assert written[0]["answered_at"] == "2024-05-01T12:00:00+00:00"
    assert spreadsheet_safe("-ribs") == "'-ribs" and spreadsheet_safe("ribs") == "ribs"


def test_the_metrics_csv_leaves_missing_values_empty():
    rows = [
        MetricRow("M", "R", 0, "fid", None, None, None, 0, 0, 0, note="unavailable: no weights"),
        MetricRow("M", "R", 3, "kl_divergence_3", 0.2, 0.1, 2.0, 5, 5, 5),
    ]
    written = list(csv.DictReader(io.StringIO(metrics_csv(rows).decode())))
    assert written[0]["value"] == "" and written[0]["note"] == "unavailable: no weights"
    assert written[0]["lower_is_better"] == "1"
    assert float(written[1]["normalised"]) == 2.0


def test_the_data_dictionary_covers_every_file():
    entries = list(csv.DictReader(io.StringIO(data_dictionary_csv().decode())))
    assert {e["file"] for e in entries} == {"answers.csv", "practice.csv", "metrics.csv"}
    assert len(entries) == len({(e["file"], e["column"]) for e in entries})


def test_the_stats_json_is_strict_json(two_surveys):
    _, report = two_surveys
    payload = json.loads(stats_json(report.to_dict()))
    assert payload["format"] == "blindread-stats/1"
    assert len(payload["study_report"]["comparisons"]) == 1
    with pytest.raises(ValueError):
        stats_json({"bad": math.nan})


# --- figures and PDF -------------------------------------------------------------------------------------------


def metric_rows(note_fid="unavailable: FID Inception weights not found at /x.pth"):
    rows = []
    for layer in range(0, 11):
        for metric in METRICS:
            if metric in ("fid", "kid"):
                rows.append(MetricRow("M", "R", layer, metric, None, None, None, 0, 0, 0, note=note_fid))
                continue
            detail = {}
            if metric == "spectral_score" and layer == 0:
                detail = {
                    name: list(np.linspace(9, 2, 50) + shift)
                    for name, shift in (
                        ("reference_spectrum", 0),
                        ("held_out_spectrum", 0.01),
                        ("synthetic_spectrum", 0.1),
                    )
                }
            rows.append(MetricRow("M", "R", layer, metric, 1.2, 1.0, 1.2, 8, 8, 8, detail=detail))
    return rows


def test_every_figure_renders_to_svg_and_png(two_surveys):
    _, report = two_surveys
    rows = metric_rows()
    built = [
        figures.accuracy_figure(report),
        figures.confusion_figure(report),
        figures.layer_accuracy_figure(report),
        figures.spectra_figure(rows),
        figures.metric_curves_figure(rows, METRICS, figures.LAYERWISE_TITLE, columns=2),
        figures.metric_curves_figure(rows, ("fid", "kid"), "one row"),
    ]
    for figure in built:
        assert figures.svg_text(figure).startswith("<svg")
        assert figures.png_bytes(figure, dpi=40).startswith(b"\x89PNG")
    fid_panel = figures.svg_text(figures.metric_curves_figure(rows, ("fid",), "FID"))
    assert "unavailable: FID Inception weights" in fid_panel


def test_the_pdf_holds_both_tables_the_hypotheses_and_the_missing_fid_warning(two_surveys):
    _, report = two_surveys
    report = build_report(
        [row for row in two_surveys[0]], [info("S1", 6), info("S2", 5)], metric_rows(), n_resamples=200
    )
    content = report_pdf(report)
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for expected in (
        TABLE2_TITLE,
        TABLE3_TITLE,
        "S1: real vs synthetic",
        "All surveys: real vs synthetic",
        "S1 vs S2",
        "H0 says the answer is independent of the truth",
        "readers CAN tell",
        "A large p-value is not proof",
        "FID and KID were not computed: unavailable: FID Inception weights not found at /x.pth",
        "Per-reader accuracy",
    ):
        assert expected in text, expected


def test_names_are_drawn_as_written_never_as_markup_or_mathtext():
    name = "<script>x</script> $\\oops$"
    rows = simulated(name, 3, 10, 0.6, seed=6)
    report = build_report(rows, [info(name, 3, 10)], n_resamples=100)
    svg = figures.svg_text(figures.accuracy_figure(report)) + figures.svg_text(
        figures.confusion_figure(report)
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;x&lt;/script&gt;" in svg and "$\\oops$" in svg
