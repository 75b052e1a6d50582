"""The report's MRMC lead section from plain rows (no database): numbers, JSON sections, verdict words, page, PDF."""

import json

import numpy as np
import pytest

from readerstats import ModalityEstimate, glmm_accuracy, or_analysis
from reports.content.exports import stats_json
from reports.content.pdf import report_pdf
from reports.content.report import SurveyInfo, build_report
from reports.content.report_mrmc import mrmc_section, verdict
from tests.reports.pdf_text import pdf_text
from tests.reports.test_report_content import answer


def rows_for(survey, rng, readers=5, items=12, skill=0.75):
    rows = []
    for j in range(readers):
        p = np.clip(skill + rng.normal(0, 0.08), 0.05, 0.95)
        for k in range(items):
            truth = "real" if k % 2 == 0 else "synthetic"
            right = rng.random() < p
            given = truth if right else ("synthetic" if truth == "real" else "real")
            rows.append(answer(survey, f"R{j}", f"{survey}-{k}", truth, given))
    return rows


def info(name, items=12, readers=5):
    return SurveyInfo(name, f"alias of {name}", f"model of {name}", "real", "closed", items, readers)


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(0)
    rows = rows_for("S1", rng) + rows_for("S2", rng, skill=0.55)
    return build_report(rows, [info("S1"), info("S2")], n_resamples=200)


def test_section_numbers_are_the_stats_functions(report):
    entry = report.mrmc.surveys[0]
    rows = [row for row in report_rows(report) if row.survey == "S1"]
    direct = or_analysis(
        [r.reader for r in rows],
        ["S1"] * len(rows),
        [r.item for r in rows],
        [r.truth for r in rows],
        [r.answer for r in rows],
    )
    assert entry.accuracy.estimate == pytest.approx(direct.rrrc.single_modality[0].estimate)
    assert entry.accuracy.ci_low == pytest.approx(direct.rrrc.single_modality[0].ci_low)
    glmm = glmm_accuracy([float(r.correct) for r in rows], [r.reader for r in rows], [r.item for r in rows])
    assert entry.glmm.accuracy == pytest.approx(glmm.accuracy)
    assert report.mrmc.comparison.modalities == ("S1", "S2")
    assert report.mrmc.comparison.shared_case_count == 0


def report_rows(report):
    rng = np.random.default_rng(0)
    return rows_for("S1", rng) + rows_for("S2", rng, skill=0.55)


def test_json_has_mrmc_and_glmm_sections_and_keeps_old_keys(report):
    data = json.loads(stats_json(report.to_dict()))
    for key in ("study_report", "accuracy_by_axial_layer", "confusion_matrices", "notes", "surveys"):
        assert key in data
    assert data["mrmc"]["method"].startswith("Obuchowski-Rockette")
    first = data["mrmc"]["surveys"][0]
    assert {"estimate", "ci_low", "ci_high", "p_value", "df"} <= set(first["accuracy_rrrc"])
    assert "variance" in first["analysis"] and "var_error" in first["analysis"]["variance"]
    assert data["mrmc"]["comparison"]["rrrc"]["kind"] == "RRRC"
    assert data["glmm"]["method"].startswith("logistic GLMM")
    assert {"accuracy", "ci_low", "reader_variance", "item_variance"} <= set(data["glmm"]["surveys"][0])


def test_verdict_never_reads_a_large_p_as_proof():
    wide = ModalityEstimate("S", 0.55, 0.05, 10.0, 0.44, 0.66, 0.5, 1.0, 0.34)
    text = verdict(wide, None)
    assert "did not show that readers can tell" in text and "not proof that they cannot" in text
    assert "66.0%" in text
    narrow = ModalityEstimate("S", 0.51, 0.02, 10.0, 0.46, 0.56, 0.5, 0.5, 0.62)
    assert "within 50% \u00b1 10 points" in verdict(narrow, None)
    assert "not proof" in verdict(narrow, None)
    better = ModalityEstimate("S", 0.8, 0.05, 10.0, 0.7, 0.9, 0.5, 6.0, 0.0001)
    assert "better than guessing (p < 0.001)" in verdict(better, None)
    missing = verdict(None, "not estimable because there is one reader")
    assert missing.startswith("No interval with readers and slices both random: not estimable because")
    assert "to make it estimable, invite at least two readers" in missing
    for text in (verdict(wide, None), verdict(narrow, None)):
        assert "indistinguishable" not in text and "cannot tell" not in text


def test_one_reader_survey_says_not_estimable():
    rows = rows_for("S1", np.random.default_rng(1), readers=1)
    section = mrmc_section(rows, ["S1"])
    assert section.surveys[0].cells[0].startswith("not estimable")
    assert "one reader" in section.surveys[0].verdict
    assert section.comparison is None
    assert "NaN" not in json.dumps(section.mrmc_dict()) + json.dumps(section.glmm_dict())


def test_page_and_pdf_lead_with_the_mrmc_section(report):
    from reports.report_page import report_body

    body = report_body(report)
    assert 'data-testid="mrmc"' in body
    assert body.index('data-testid="mrmc"') < body.index('id="table2"')
    assert "not proof" in body or "better than guessing" in body
    text = pdf_text(report_pdf(report))
    assert "Can readers tell each model" in text
    assert text.index("Can readers tell each model") < text.index("Table 2")
