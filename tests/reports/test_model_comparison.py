"""Models side by side (no database): readers' accuracy per model against a hand count and a Wilson interval from
statsmodels, the sentence beside the machine observer, and the rankings by every measure."""

import json

import pytest
from statsmodels.stats.proportion import proportion_confint

from metrics.measures.vocabulary import METRICS
from reports.content.exports import MetricRow, stats_json
from reports.content.model_comparison import COMPUTING, DONE, ObserverRow, compare_models
from reports.content.pdf import report_pdf
from reports.content.report import SurveyInfo, build_report
from tests.reports.pdf_text import pdf_text
from tests.reports.test_report_content import answer


def rows_for(survey, model, pattern):
    """One reader's answers: ``pattern`` of (truth, answer)."""
    rows = []
    for index, (truth, given) in enumerate(pattern):
        row = answer(survey, f"{survey}-r", f"{survey}-i{index}", truth, given)
        rows.append(row.__class__(**{**row.__dict__, "model": model, "model_alias": f"{model} alias"}))
    return rows


def metric(model, name, normalised):
    return MetricRow(model, "Real", 0, name, normalised * 2, 2.0, normalised, 10, 10, 10)


A_ROWS = rows_for(
    "S1", "A", [("real", "real")] * 6 + [("synthetic", "real")] * 3 + [("real", "indeterminable")]
)
B_ROWS = rows_for(
    "S2", "B", [("real", "real")] * 9 + [("synthetic", "synthetic")] * 9 + [("real", "synthetic")] * 2
)
B_ROWS += rows_for("S3", "B", [("synthetic", "synthetic")] * 4)
OBSERVERS = [
    ObserverRow(
        "A", "interpretable", DONE, 0.99, 0.97, 1.0, "synthetic slices are smoother: noise 3 HU vs 21 HU"
    ),
    ObserverRow(
        "B", "interpretable", DONE, 0.61, 0.5, 0.72, "synthetic slices have fewer distinct HU values"
    ),
    ObserverRow("B", "cnn", COMPUTING),
]


def test_readers_accuracy_pools_every_survey_of_a_model_without_indeterminable_answers():
    comparison = compare_models(A_ROWS + B_ROWS, ["A", "B"], observer_rows=OBSERVERS)
    a, b = comparison.models
    assert (a.accuracy.successes, a.accuracy.total) == (6, 9)
    assert (b.accuracy.successes, b.accuracy.total) == (22, 24) and b.surveys == ("S2", "S3")
    low, high = proportion_confint(22, 24, alpha=0.05, method="wilson")
    assert (b.accuracy.ci_low, b.accuracy.ci_high) == pytest.approx((low, high))
    assert a.sentence() == (
        "readers: 67% [35%, 88%]; machine: AUC 0.99 [0.97, 1.00], synthetic slices are smoother: noise 3 HU vs 21 HU"
    )
    assert b.cnn.text() == "computing" and a.cnn.text() == "not run"


def test_models_are_ranked_by_readers_observer_and_every_metric_in_its_own_direction():
    metrics = [metric("A", "radiomic_fd", 40.0), metric("B", "radiomic_fd", 3.0)]
    metrics += [metric("A", "spectral_score", 0.9), metric("B", "spectral_score", 0.5)]
    metrics += [metric("A", "kl_divergence_3", 2.0), metric("B", "kl_divergence_3", 2.0)]
    comparison = compare_models(A_ROWS + B_ROWS, ["A", "B"], metrics, OBSERVERS)
    rankings = {ranking.measure: ranking for ranking in comparison.rankings}
    assert set(rankings) == {"readers", "machine_observer", *METRICS}

    def order(measure):
        return [(entry.rank, entry.model) for entry in rankings[measure].entries]

    assert order("readers") == [(1, "A"), (2, "B")]  # 67% is nearer 50% than 92%
    assert order("machine_observer") == [(1, "B"), (2, "A")]
    assert order("radiomic_fd") == [(1, "B"), (2, "A")]  # a distance: lowest first
    assert order("spectral_score") == [(1, "A"), (2, "B")]  # a similarity: highest first
    assert order("kl_divergence_3") == [(1, "A"), (1, "B")]  # a tie shares the place
    assert order("fid") == [(0, "A"), (0, "B")]  # not computed: unranked
    assert rankings["fid"].entries[0].note == "not available"


def test_the_report_json_html_and_pdf_show_readers_beside_the_machine_observer():
    surveys = [
        SurveyInfo("S1", "A alias", "A", "Real", "closed", 10, 1),
        SurveyInfo("S2", "B alias", "B", "Real", "closed", 20, 1),
    ]
    rows = A_ROWS + [row for row in B_ROWS if row.survey == "S2"]
    report = build_report(
        rows, surveys, [metric("A", "radiomic_fd", 40.0)], observer_rows=OBSERVERS, n_resamples=200
    )
    data = json.loads(stats_json(report.to_dict()))
    assert "study_report" in data and "table2" not in data  # existing keys kept, nothing renamed
    models = data["model_comparison"]["models"]
    assert [entry["model"] for entry in models] == ["A", "B"]
    assert models[0]["machine_observers"][0]["auc"] == 0.99
    assert models[0]["sentence"].startswith("readers: 67% [35%, 88%]; machine: AUC 0.99")
    assert {ranking["measure"] for ranking in data["model_comparison"]["rankings"]} >= {
        "radiomic_fd",
        "radiomic_kid",
    }
    text = pdf_text(report_pdf(report))
    assert "Readers and the machine observer, model by model" in text
    assert "synthetic slices are smoother: noise 3 HU vs 21 HU" in text
    assert "The models ranked by every measure" in text and "1. A (40)" in text
