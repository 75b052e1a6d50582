"""Reports with confidence ratings and repeat reading (no database): the AUC (OR RRRC) and ROC curves, intra-reader
kappa per reader, Gwet's AC1 beside Fleiss' kappa; a survey without ratings keeps its old report."""

import dataclasses
import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, roc_auc_score, roc_curve

from readerstats import average_roc, empirical_roc, gwet_ac1, reader_roc_curves
from reports.content import figures
from reports.content.exports import stats_json
from reports.content.pdf import report_pdf
from reports.content.report import SurveyInfo, build_report
from reports.content.report_mrmc import AUC_TITLE, INTRA_TITLE, mrmc_section
from reports.report_page import report_body
from tests.reports.pdf_text import pdf_text
from tests.reports.test_report_content import answer


def rated_rows(survey, rng, readers=4, items=10, separation=1.0, scale="five_point"):
    """Rows with a 5-point rating (1 = certainly real .. 5 = certainly synthetic) drawn around the truth."""
    rows = []
    for j in range(readers):
        for k in range(items):
            truth = "synthetic" if k % 2 else "real"
            latent = rng.normal(separation if truth == "synthetic" else 0.0, 1.0)
            rating = int(np.clip(np.round(3 + latent - separation / 2), 1, 5))
            given = "synthetic" if rating > 3 else "real" if rating < 3 else "indeterminable"
            row = answer(survey, f"R{j}", f"{survey}-{k}", truth, given)
            rows.append(dataclasses.replace(row, rating_scale=scale, rating=rating))
    return rows


def info(name):
    return SurveyInfo(name, f"alias of {name}", f"model of {name}", "real", "closed", 10, 4)


@pytest.fixture(scope="module")
def rows():
    return rated_rows("Rated", np.random.default_rng(3))


@pytest.fixture(scope="module")
def report(rows):
    return build_report(rows, [info("Rated")], n_resamples=100)


def test_reader_aucs_are_sklearns(rows, report):
    entry = report.mrmc.surveys[0]
    assert entry.auc is not None and entry.auc.fom == "auc"
    readers = entry.auc.readers
    for j, reader in enumerate(readers):
        mine = [row for row in rows if row.reader == reader]
        expected = roc_auc_score([row.truth == "synthetic" for row in mine], [row.rating for row in mine])
        assert entry.auc.reader_fom[0][j] == pytest.approx(expected, abs=1e-12)
        assert entry.roc.readers[j].auc == pytest.approx(expected, abs=1e-12)
    mean = np.mean(entry.auc.reader_fom[0])
    assert entry.auc_estimate.estimate == pytest.approx(mean)
    assert entry.roc.average.auc == pytest.approx(mean, abs=1e-12)
    assert entry.auc_estimate.ci_low < mean < entry.auc_estimate.ci_high


def test_hand_worked_auc():
    # positives rated 5, 4, 3; negatives 3, 2, 1: pairs won 3 + 3 + (2 + 1/2) = 8.5 of 9
    curve = empirical_roc([True, True, True, False, False, False], [5, 4, 3, 3, 2, 1])
    assert curve.auc == pytest.approx(8.5 / 9)
    assert curve.fpf == (0.0, 0.0, 0.0, 1 / 3, 2 / 3, 1.0)
    assert curve.tpf == (0.0, 1 / 3, 2 / 3, 1.0, 1.0, 1.0)


def test_curve_points_are_sklearns_roc_curve():
    rng = np.random.default_rng(9)
    positive = rng.random(40) < 0.5
    rating = rng.integers(1, 6, 40) + positive
    curve = empirical_roc(positive, rating)
    fpr, tpr, _ = roc_curve(positive, rating, drop_intermediate=False)
    np.testing.assert_allclose(curve.fpf, fpr)
    np.testing.assert_allclose(curve.tpf, tpr)


def test_average_curve_area_is_the_mean_auc_even_with_vertical_rises():
    rng = np.random.default_rng(11)
    curves = []
    for _ in range(6):
        positive = np.arange(30) % 3 == 0
        curves.append(empirical_roc(positive, rng.integers(0, 4, 30) + 2 * positive))
    average = average_roc(curves)
    assert average.auc == pytest.approx(np.mean([curve.auc for curve in curves]), abs=1e-12)
    assert average.fpf[0] == 0 and average.tpf[-1] == 1
    assert all(b >= a for a, b in zip(average.tpf, average.tpf[1:], strict=False))


def test_roc_garbage_and_one_sided_readers():
    with pytest.raises(ValueError, match="both positive and negative"):
        empirical_roc([True, True], [1, 2])
    with pytest.raises(ValueError, match="same length"):
        empirical_roc([True, False], [1])
    result = reader_roc_curves(["a", "a", "b"], ["synthetic", "real", "real"], [5, 1, 2])
    assert len(result.readers) == 1 and "1 reader(s) rated only one kind" in result.notes[0]
    nothing = reader_roc_curves(["a"], ["real"], [2])
    assert nothing.average is None and nothing.reason.startswith("not estimable because")


def test_json_has_the_auc_keys(report):
    data = json.loads(stats_json(report.to_dict()))
    survey = data["mrmc"]["surveys"][0]
    auc = survey["auc"]
    assert {"rating_scale", "auc_rrrc", "analysis", "roc", "verdict", "reason", "orientation"} <= set(auc)
    assert auc["rating_scale"] == "five_point" and auc["reason"] is None
    assert {"estimate", "ci_low", "ci_high", "p_value", "df"} <= set(auc["auc_rrrc"])
    assert auc["analysis"]["fom"] == "auc"
    assert len(auc["roc"]["readers"]) == 4 and auc["roc"]["average"]["auc"] == pytest.approx(
        auc["auc_rrrc"]["estimate"]
    )
    assert "intra_reader" not in survey  # no repeat round


def test_page_and_pdf_show_the_auc_and_the_roc_figure(report):
    body = report_body(report)
    assert (
        'data-testid="auc"' in body
        and 'data-testid="roc-figure"' in body
        and "data:image/svg+xml;base64," in body
    )
    assert body.index('data-testid="mrmc"') < body.index('data-testid="auc"') < body.index('id="table2"')
    text = pdf_text(report_pdf(report))
    assert AUC_TITLE in text and "mean AUC" in body
    assert text.index(AUC_TITLE) < text.index("Table 2")


def test_roc_figure_has_a_panel_per_rated_survey():
    rng = np.random.default_rng(5)
    rows = rated_rows("A", rng) + rated_rows("B", rng)
    unrated = [dataclasses.replace(row, survey="C", item=row.item + "c", rating=None, rating_scale="none")
               for row in rated_rows("C", rng)]  # fmt: skip
    report = build_report(rows + unrated, [info("A"), info("B"), info("C")], n_resamples=50)
    figure = figures.roc_figure(report)
    assert len(figure.axes) == 2
    assert [entry.survey for entry in report.mrmc.rated] == ["A", "B"]


def test_a_survey_without_ratings_is_unchanged():
    rows = [dataclasses.replace(row, rating=None, rating_scale="none") for row in rated_rows("Plain", np.random.default_rng(3))]  # fmt: skip
    report = build_report(rows, [info("Plain")], n_resamples=100)
    entry = report.mrmc.surveys[0]
    assert entry.auc is None and entry.roc is None and report.mrmc.rated == ()
    data = json.loads(stats_json(report.to_dict()))
    assert set(data["mrmc"]["surveys"][0]) == {
        "survey",
        "model_alias",
        "accuracy_rrrc",
        "analysis",
        "verdict",
    }
    body = report_body(report)
    assert 'data-testid="auc"' not in body and 'data-testid="intra-reader"' not in body
    assert figures.roc_figure(report) is None
    text = pdf_text(report_pdf(report))
    assert AUC_TITLE not in text and INTRA_TITLE not in text


def test_all_ratings_tied_is_not_estimable_with_a_reason():
    rows = [dataclasses.replace(row, rating=3) for row in rated_rows("Tied", np.random.default_rng(2))]
    section = mrmc_section(rows, ["Tied"])
    entry = section.surveys[0]
    assert entry.auc_reason.startswith("not estimable because") and "tied" in entry.auc_reason
    assert entry.auc_cells[1] == entry.auc_reason
    assert entry.auc_verdict.startswith("No AUC interval: not estimable because")
    assert entry.roc.average.auc == pytest.approx(0.5)
    text = json.dumps(section.mrmc_dict())
    assert "NaN" not in text and "Infinity" not in text


def test_a_reader_without_ratings_makes_the_auc_not_estimable():
    rows = rated_rows("S", np.random.default_rng(4))
    rows = [dataclasses.replace(row, rating=None) if row.reader == "R0" else row for row in rows]
    entry = mrmc_section(rows, ["S"]).surveys[0]
    assert entry.auc_reason.startswith("not estimable because reader R0")
    assert len(entry.roc.readers) == 3


def repeat_of(rows, rng, flip=0.3):
    """A repeat reading of every row: the rating moved by one step with probability ``flip``."""
    result = []
    for row in rows:
        rating = row.rating
        if rng.random() < flip:
            rating = int(np.clip(rating + rng.choice([-1, 1]), 1, 5))
        given = "synthetic" if rating > 3 else "real" if rating < 3 else "indeterminable"
        result.append(dataclasses.replace(row, rating=rating, answer=given, round=2))
    return result


def test_intra_reader_kappa_is_sklearns(rows):
    repeats = repeat_of(rows, np.random.default_rng(8))
    report = build_report(rows, [info("Rated")], repeat_rows=repeats, n_resamples=50)
    entry = report.mrmc.surveys[0]
    assert [item.reader for item in entry.intra_reader] == ["R0", "R1", "R2", "R3"]
    weighted = {item.reader: item.kappa for item in entry.intra_reader_weighted}
    for item in entry.intra_reader:
        first = {row.item: row for row in rows if row.reader == item.reader}
        second = {row.item: row for row in repeats if row.reader == item.reader}
        keys = sorted(first)
        a, b = [first[k].answer for k in keys], [second[k].answer for k in keys]
        if len(set(a) | set(b)) > 1:
            assert item.kappa.kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
        ra, rb = [first[k].rating for k in keys], [second[k].rating for k in keys]
        expected = cohen_kappa_score(ra, rb, labels=[1, 2, 3, 4, 5], weights="quadratic")
        assert weighted[item.reader].kappa == pytest.approx(expected, abs=1e-12)
        assert item.kappa.pair_count == len(keys)
    data = json.loads(stats_json(report.to_dict()))
    intra = data["mrmc"]["surveys"][0]["intra_reader"]
    assert intra["weights_for_ratings"] == "quadratic" and len(intra["readers"]) == 4
    assert {"kappa", "ci_low", "ci_high"} <= set(intra["readers"][0]["kappa"])
    body = report_body(report)
    assert 'data-testid="intra-reader"' in body
    assert INTRA_TITLE in pdf_text(report_pdf(report))


def test_gwet_ac1_stands_beside_fleiss_kappa(rows, report):
    survey = report.study.surveys[0]
    direct = gwet_ac1([row.item for row in rows], [row.answer for row in rows])
    assert survey.gwet_ac1.ac1 == pytest.approx(direct.ac1)
    assert survey.fleiss_kappa.kappa is not None
    assert "Gwet's AC1" in report_body(report)
    assert "Gwet's AC1" in pdf_text(report_pdf(report))
    data = json.loads(stats_json(report.to_dict()))
    assert "gwet_ac1" in data["study_report"]["surveys"][0]
