"""The report's realism-along-z section: the z-consistency measure and the 3-D observer beside the 2-D one per
model, and the sentence derived from them by the stated thresholds (JSON, HTML and PDF)."""

import json

import pytest

from reports.content import figures
from reports.content.exports import MetricRow, stats_json
from reports.content.model_comparison import COMPUTING, DONE, ObserverRow
from reports.content.pdf import report_pdf
from reports.content.realism_along_z import TELLS_AUC, Z_GRADIENT_LIMIT, observer_tells, realism_along_z
from reports.content.report import SurveyInfo, build_report
from reports.report_page import report_body
from tests.reports.pdf_text import pdf_text
from tests.reports.test_model_comparison import rows_for

EDGES = [0.0, 2.0, 4.0, 6.0]


def gradient_row(model, normalised, real_mean=8.0, synthetic_mean=3.0):
    detail = {
        "scope": "whole volumes",
        "ci": [normalised, normalised * 1.5],
        "edges": EDGES,
        "real_histogram": [0.2, 0.5, 0.3],
        "synthetic_histogram": [0.7, 0.2, 0.1],
        "statistics": {"z_gradient_mean": {"real_mean": real_mean, "synthetic_mean": synthetic_mean}},
    }
    return MetricRow(
        model, "Real", 0, "z_gradient_w1", normalised * 2, 2.0, normalised, 4, 2, 2, detail=detail
    )


def observer(model, classifier, auc, low, high):
    return ObserverRow(model, classifier, DONE, auc, low, high)


@pytest.mark.parametrize(
    ("normalised", "axial", "volumetric", "verdict"),
    [
        (1.2, (0.55, 0.4, 0.7), (0.95, 0.9, 1.0), "betrays itself along z although its axial slices pass"),
        (3.5, (0.55, 0.4, 0.7), (0.6, 0.45, 0.75), "betrays itself along z although its axial slices pass"),
        (3.5, (0.9, 0.8, 0.97), (0.95, 0.9, 1.0), "is told from real CT both in axial slices and along z"),
        (1.2, (0.9, 0.8, 0.97), (0.6, 0.45, 0.75), "is told in axial slices but not along z"),
        (
            1.2,
            (0.55, 0.4, 0.7),
            (0.6, 0.45, 0.75),
            "does not betray itself along z, and its axial slices pass",
        ),
    ],
)
def test_the_sentence_follows_from_the_thresholds(normalised, axial, volumetric, verdict):
    (line,) = realism_along_z(
        ["M"],
        [gradient_row("M", normalised)],
        [observer("M", "interpretable", *axial), observer("M", "volumetric", *volumetric)],
    )
    assert line.sentence().startswith(f"M {verdict}: ")
    assert f"{normalised:.1f}x as far from real CT" in line.sentence()
    assert "(mean 3.0 vs 8.0 HU/mm real)" in line.sentence()


def test_an_observer_tells_only_above_the_auc_threshold_with_its_ci_above_chance():
    assert observer_tells(observer("M", "volumetric", TELLS_AUC, 0.51, 0.8))
    assert not observer_tells(observer("M", "volumetric", TELLS_AUC - 0.01, 0.6, 0.8))
    assert not observer_tells(observer("M", "volumetric", 0.9, 0.5, 1.0))  # CI reaches chance
    assert observer_tells(ObserverRow("M", "volumetric", COMPUTING)) is None
    assert Z_GRADIENT_LIMIT == 2.0


def test_a_model_without_any_result_along_z_says_not_computed():
    (line,) = realism_along_z(["M"], [], [ObserverRow("M", "volumetric", COMPUTING)])
    assert line.sentence().startswith("M: realism along z not computed yet")
    assert realism_along_z(["N"], [], []) == ()


def test_the_report_json_html_and_pdf_show_realism_along_z_per_model():
    surveys = [SurveyInfo("S1", "A alias", "A", "Real", "closed", 10, 1)]
    rows = rows_for("S1", "A", [("real", "real")] * 5 + [("synthetic", "real")] * 5)
    observers = [
        observer("A", "interpretable", 0.55, 0.4, 0.7),
        observer("A", "volumetric", 0.93, 0.85, 0.99),
    ]
    report = build_report(rows, surveys, [gradient_row("A", 1.1)], observer_rows=observers, n_resamples=100)
    # the whole-volume rows are not means over layers
    assert report.metric_averages == []
    data = json.loads(stats_json(report.to_dict()))
    (entry,) = data["realism_along_z"]["models"]
    assert entry["observer_3d"]["auc"] == 0.93 and entry["observer_2d"]["auc"] == 0.55
    assert entry["betrays_along_z"] is True and entry["observer_2d_tells"] is False
    assert entry["measures"]["z_gradient_w1"]["normalised"] == 1.1
    assert entry["sentence"].startswith("A betrays itself along z although its axial slices pass")
    assert data["realism_along_z"]["thresholds"] == {"tells_auc": 0.7, "z_gradient_normalised_limit": 2.0}
    html = report_body(report)
    assert 'data-testid="realism-along-z"' in html and "A betrays itself along z" in html
    assert "AUC 0.93 [0.85, 0.99]" in html
    text = pdf_text(report_pdf(report))
    assert "Realism along z: whole volumes" in text
    assert "betrays itself along z" in text


def test_the_z_gradient_figure_draws_one_panel_per_model():
    figure = figures.z_gradient_figure([gradient_row("A", 1.1), gradient_row("B", 3.0)])
    assert len(figure.axes) == 2
    assert [axes.get_title() for axes in figure.axes] == ["A (W1 normalised 1.10)", "B (W1 normalised 3.00)"]
    assert "<svg" in figures.svg_text(figure)
