"""The report's lead (no database): the models ranked by the GLMM comparison in the design the surveys have, one
sentence per pair, the omnibus test, the JSON ``model_comparison`` section, the page and the PDF."""

import dataclasses
import json
import re

import pytest
from django.utils.html import escape

from readerstats import OrAnalysis, OrSplitPlot, compare_models
from reports.content.exports import stats_json
from reports.content.model_ranking import model_ranking
from reports.content.pdf import report_pdf
from reports.content.report import SurveyInfo, build_report
from reports.content.wording import design_advice, for_people, not_estimable
from tests.reports.pdf_text import pdf_text
from tests.reports.test_report_content import simulated

# the demo's four closed surveys: one panel per model (11, 8, 6 and 6 readers), 10 real + 10 synthetic slices each
DEMO = (
    ("S1", "In'n out", 11, 0.55, 1),
    ("S2", "All-in", 8, 0.8, 2),
    ("S3", "Triple", 6, 0.62, 3),
    ("S4", "HUM", 6, 0.52, 4),
)


def demo_rows():
    rows = []
    for survey, alias, readers, accuracy, seed in DEMO:
        rows += [
            dataclasses.replace(row, model=f"{alias} synthetic CT", model_alias=alias)
            for row in simulated(survey, readers, 20, accuracy, seed=seed)
        ]
    return rows


def infos():
    return [
        SurveyInfo(survey, alias, f"{alias} synthetic CT", "Real CT", "closed", 20, readers)
        for survey, alias, readers, _, _ in DEMO
    ]


@pytest.fixture(scope="module")
def split_plot():
    rows = demo_rows()
    return rows, build_report(rows, infos(), n_resamples=200)


def test_the_split_plot_ranking_is_readerstats_compare_models_closest_to_guessing_first(split_plot):
    rows, report = split_plot
    ranking = report.ranking
    assert ranking.estimable and ranking.design.startswith("split-plot")
    scored = [row for row in rows if row.answer != "indeterminable"]
    direct = compare_models(
        [float(row.correct) for row in scored],
        [row.reader for row in scored],
        [f"{row.survey}/{row.item}" for row in scored],
        [row.model for row in scored],
    )
    accuracy = {entry.model: entry.accuracy for entry in direct.accuracies}
    distances = [abs(entry.accuracy - 0.5) for entry in ranking.models]
    assert distances == sorted(distances)
    for entry in ranking.models:
        assert entry.accuracy == pytest.approx(accuracy[entry.model])
    assert [entry.readers for entry in sorted(ranking.models, key=lambda e: e.surveys)] == [11, 8, 6, 6]
    assert len(ranking.pairs) == 6
    for pair in ranking.pairs:
        found = next(d for d in direct.differences if {d.model_a, d.model_b} == {pair.model_a, pair.model_b})
        sign = 1 if found.model_a == pair.model_a else -1
        assert pair.difference == pytest.approx(sign * found.difference)
        assert sorted((pair.ci_low, pair.ci_high)) == pytest.approx(
            sorted((sign * found.ci_low, sign * found.ci_high))
        )
        assert pair.holm_p_value == pytest.approx(found.holm_p_value, rel=1e-4)
    assert ranking.omnibus_p_value == pytest.approx(direct.omnibus.p_value)


def test_each_pair_reads_as_one_sentence_in_points_with_its_interval_and_holm_p(split_plot):
    _, report = split_plot
    pattern = re.compile(
        r"^(.+) vs (.+): readers (\d+\.\d) points (less|more) often correct \(95% CI (-?\d+\.\d) to (-?\d+\.\d), "
        r"Holm p [=<] [\d.]+\)$"
    )
    for pair in report.ranking.pairs:
        match = pattern.match(pair.sentence())
        assert match, pair.sentence()
        assert float(match.group(3)) == pytest.approx(abs(pair.difference), abs=0.05)
        assert (match.group(4) == "less") == (pair.difference < 0)
        assert float(match.group(5)) <= pair.difference <= float(match.group(6))
    assert report.ranking.omnibus_sentence.startswith(
        "Do the 4 models differ? Likelihood-ratio test: chi-squared"
    )


def test_the_split_plot_design_is_never_not_estimable(split_plot):
    _, report = split_plot
    assert isinstance(report.mrmc.comparison, OrSplitPlot) and report.mrmc.comparison.estimable
    assert "split-plot" in report.mrmc.comparison_verdict
    assert "not estimable" not in report.mrmc.comparison_verdict + report.ranking.headline
    assert "modality" not in report.mrmc.comparison_verdict


def test_the_json_model_comparison_has_models_estimates_intervals_p_design_and_method(split_plot):
    _, report = split_plot
    section = json.loads(stats_json(report.to_dict()))["model_comparison"]
    assert section["design"].startswith("split-plot") and section["method"].startswith("logistic GLMM")
    assert len(section["ranking"]) == 4 and len(section["pairwise"]) == 6
    for entry in section["ranking"]:
        assert entry["ci_low"] < entry["accuracy"] < entry["ci_high"]
    for pair in section["pairwise"]:
        assert {"difference", "ci_low", "ci_high", "p_value", "holm_p_value", "sentence"} <= set(pair)
    assert 0 <= section["omnibus"]["p_value"] <= 1 and section["omnibus"]["df"] == 3
    # the readers-beside-the-machine-observer keys stay, each model gaining its GLMM accuracy
    assert {line["model"] for line in section["models"]} == {entry["model"] for entry in section["ranking"]}
    assert all(line["glmm_accuracy"]["accuracy"] > 0 for line in section["models"])


def test_the_page_and_the_pdf_lead_with_the_ranking(split_plot):
    from reports.report_page import report_body

    _, report = split_plot
    body = report_body(report)
    assert (
        body.index('data-testid="model-ranking"')
        < body.index('data-testid="mrmc"')
        < body.index('id="table2"')
    )
    for pair in report.ranking.pairs:
        assert escape(pair.sentence()) in body
    assert 'data-testid="details-for-statisticians"' in body
    assert "(closest to 50% first) (closest" not in body
    text = " ".join(pdf_text(report_pdf(report)).split())
    assert text.index("Which model is hardest to tell from real CT") < text.index("Table 2")
    assert report.ranking.pairs[0].sentence()[:40] in text


def test_partially_overlapping_panels_get_the_glmm_comparison_and_say_why_no_or():
    rows = demo_rows()
    # two readers of survey 1 also read survey 2
    shared = [
        dataclasses.replace(
            row,
            survey="S2",
            item=row.item.replace("S1", "S2"),
            model="All-in synthetic CT",
            model_alias="All-in",
        )
        for row in rows
        if row.reader in ("S1-r0", "S1-r1")
    ]
    rows = [row for row in rows if not (row.survey == "S2" and row.reader in ("S2-r0", "S2-r1"))] + shared
    report = build_report(rows, infos(), n_resamples=100)
    assert report.ranking.estimable and report.ranking.design.startswith("partially overlapping")
    assert report.mrmc.comparison is None
    assert "overlap in part" in report.mrmc.comparison_verdict


def test_fully_crossed_surveys_keep_the_crossed_or_comparison():
    rows = []
    for survey, accuracy, seed in (("S1", 0.6, 1), ("S2", 0.75, 2)):
        rows += [
            dataclasses.replace(row, reader=row.reader.replace(survey, "X"), model=f"model {survey}")
            for row in simulated(survey, 5, 20, accuracy, seed=seed)
        ]
    report = build_report(
        rows, [SurveyInfo(s, s, f"model {s}", "Real", "closed", 20, 5) for s in ("S1", "S2")], n_resamples=100
    )
    assert isinstance(report.mrmc.comparison, OrAnalysis)
    assert report.ranking.design.startswith("fully crossed")


def test_a_model_with_one_reader_is_not_ranked_and_the_report_says_what_to_change():
    rows = [row for row in demo_rows() if row.survey != "S4" or row.reader == "S4-r0"]
    ranking = model_ranking(rows)
    assert not ranking.estimable
    assert (
        "HUM (1)" in ranking.reason and "to make it estimable, invite at least two readers" in ranking.reason
    )
    assert json.loads(stats_json({"r": ranking.to_dict()}))["r"]["pairwise"] == []


def test_one_model_has_nothing_to_rank():
    assert model_ranking(simulated("S1", 4, 10, 0.6, seed=1)) is None


def test_plain_words_say_model_and_what_to_change():
    assert (
        for_people("reader R-1 read nothing in modality Demo survey 1")
        == "reader R-1 read nothing in model Demo survey 1"
    )
    assert for_people("two modalities") == "two models"
    text = not_estimable("not estimable because reader R-1 read nothing in modality S1")
    assert "modality" not in text and text.endswith(design_advice("read nothing"))
    assert "fully crossed" in text and "split-plot" in text
    kept = "not estimable because group a has 1 reader; it becomes estimable with at least 2 readers"
    assert not_estimable(kept) == kept


def sentences(data, key=None):
    if isinstance(data, dict):
        return [text for name, value in data.items() for text in sentences(value, name)]
    if isinstance(data, list):
        return [text for value in data for text in sentences(value, key)]
    return (
        [data]
        if isinstance(data, str) and key in ("method", "reason", "verdict", "comparison_verdict")
        else []
    )


def test_the_json_sentences_for_people_say_model_never_modality(split_plot):
    _, report = split_plot
    data = json.loads(stats_json(report.to_dict()))
    texts = sentences(data["mrmc"]) + sentences(data["model_comparison"])
    assert any("split-plot" in text for text in texts)
    assert not [text for text in texts if "modalit" in text.lower()]
