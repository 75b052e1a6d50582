"""The report's time-limited exposure section (reports.content.exposure): thresholds per reader from the stored
exposures in answer order, the model's median with its interval, HYPE_inf for unlimited time, the staircase figure
and the page's tables."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np

from reports.content.exports import AnswerRow, answers_csv
from reports.content.exposure import exposure_sections, staircase_figure
from reports.content.figures import svg_text
from reports.content.report import build_report
from reports.content.survey_info import SurveyInfo

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def row(reader, n, requested, correct, *, survey="Staircase", rejected=False):
    truth = "real" if n % 2 else "synthetic"
    wrong = "synthetic" if truth == "real" else "real"
    return AnswerRow(
        survey=survey, model_alias="M", model="model", reader=reader, reader_specialty="",
        reader_years_of_experience=None, item=f"item{n}", truth=truth, answer=truth if correct else wrong,
        reason="", seconds_on_slice=1.0, window_width=400.0, window_level=40.0, window_changed=False, zoom=1.0,
        axial_layer=3, revisions=1, answered_at=START + timedelta(seconds=n),
        exposure_requested_ms=requested, exposure_measured_ms=None if requested is None else requested + 3.0,
        exposure_rejected=rejected,
    )  # fmt: skip


def info(name, exposure, reversals=2, log=False):
    return SurveyInfo(name, "M", "model", "Real CT", "closed", 8, 2, exposure, reversals, log)


def test_thresholds_come_from_each_reader_s_exposures_in_answer_order():
    # r1: 500 500 500 400 500 500 500 400 -> reversals at 400 (3) and 500 (6) -> threshold 450
    r1 = [500, 500, 500, 400, 500, 500, 500, 400]
    right = [True, True, True, False, True, True, True, True]
    rows = [row("r1", n, level, ok) for n, (level, ok) in enumerate(zip(r1, right, strict=True))]
    # r2: 300 200 300 200 300 -> reversals 200, 300, 200 -> last two: 250
    rows += [row("r2", n, level, n % 2 == 0) for n, level in enumerate([300, 200, 300, 200, 300])]
    rows = list(reversed(rows))  # the order of the rows does not matter, the answer times do
    (section,) = exposure_sections(rows, [info("Staircase", "staircase")], resamples=200)
    thresholds = {r.reader: r.threshold_ms for r in section.readers}
    assert thresholds == {"r1": 450, "r2": 250}
    assert section.model_threshold.median_ms == 350  # the median of two readers
    assert section.model_threshold.low_ms <= 350 <= section.model_threshold.high_ms
    assert staircase_figure(section) is not None


def test_a_refused_exposure_counts_nowhere_and_is_reported():
    rows = [row("r1", 0, 500, True), row("r1", 1, 500, False, rejected=True), row("r1", 2, 500, False)]
    (section,) = exposure_sections(rows, [info("Staircase", "staircase")], resamples=100)
    assert section.rejected == 1 and section.readers[0].rejected == 1
    assert section.error_rate.answers == 2 and section.error_rate.wrong == 1


def test_an_unlimited_time_survey_gets_hype_inf_and_no_threshold():
    rng = np.random.default_rng(4)
    rows = [
        row(f"r{r}", n, None, bool(rng.random() > 0.4), survey="Unlimited")
        for r in range(4)
        for n in range(20)
    ]
    (section,) = exposure_sections(rows, [info("Unlimited", "off", 0)], resamples=300)
    wrong = sum(not r.correct for r in rows)
    assert section.error_rate.rate == wrong / len(rows)
    assert section.error_rate.low < section.error_rate.rate < section.error_rate.high
    assert section.readers == () and section.model_threshold is None and staircase_figure(section) is None


def test_the_report_holds_the_section_and_the_answers_csv_the_exposures():
    rows = [row("r1", n, level, n != 2) for n, level in enumerate([500, 500, 500, 400, 500])]
    report = build_report(rows, [info("Staircase", "staircase")], n_resamples=200)
    data = report.to_dict()["exposure"][0]
    assert data["exposure"] == "staircase" and data["readers"][0]["reversals"] == [400]
    json.dumps(report.to_dict(), default=str)
    header, first = answers_csv(rows).decode().splitlines()[:2]
    values = dict(zip(header.split(","), first.split(","), strict=True))
    assert (values["exposure_requested_ms"], values["exposure_measured_ms"], values["exposure_rejected"]) == (
        "500",
        "503.0",
        "0",
    )
    assert "<svg" in svg_text(staircase_figure(report.exposure[0]))


def test_the_report_page_shows_the_thresholds_table_and_each_reader_s_staircase():
    from reports.report_page import report_body

    rows = [row("r1", n, level, n != 3) for n, level in enumerate([500, 500, 500, 400, 500, 500, 500, 400])]
    rows += [row("u1", n, None, n % 3 != 0, survey="Unlimited") for n in range(6)]
    surveys = [info("Staircase", "staircase"), info("Unlimited", "off", 0)]
    page = report_body(build_report(rows, surveys, n_resamples=200))
    section = page.split('data-testid="exposure"')[1]
    assert "Time-limited exposure" in section and 'data-testid="exposure-readers"' in section
    assert "<td>Staircase</td><td>M</td><td>staircase</td>" in section
    assert "<td>Unlimited</td><td>M</td><td>off</td>" in section
    assert (
        '<img class="plot" alt="Staircase: staircase per reader' in section
        and "data:image/svg+xml" in section
    )
