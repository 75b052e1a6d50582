"""Reader subgroups in the report (no database): accuracy by specialty and experience band against hand counts, the
likelihood-ratio test from readerstats when every group has two readers, the report's own bands, JSON, page, PDF."""

import dataclasses
import json

import pytest

from readerstats import by_specialty
from reports.content.exports import stats_json
from reports.content.pdf import report_pdf
from reports.content.reader_groups import parse_bands, reader_groups
from reports.content.report import SurveyInfo, build_report
from reports.content.wording import plain_reason
from tests.reports.pdf_text import pdf_text
from tests.reports.test_report_content import simulated

PROFILES = {  # reader -> (specialty, years)
    "S1-r0": ("radiology", 2),
    "S1-r1": ("radiology", 4),
    "S1-r2": ("radiology", 10),
    "S1-r3": ("radiation_oncology", 12),
    "S1-r4": ("radiation_oncology", 20),
    "S1-r5": ("radiation_oncology", 30),
    "S1-r6": ("", None),
}


def rows_with_profiles():
    rows = simulated("S1", 7, 24, 0.65, seed=5)
    return [
        dataclasses.replace(
            row, reader_specialty=PROFILES[row.reader][0], reader_years_of_experience=PROFILES[row.reader][1]
        )
        for row in rows
    ]


@pytest.fixture(scope="module")
def groups():
    return reader_groups(rows_with_profiles())


def test_accuracy_per_specialty_is_the_hand_count(groups):
    rows = [row for row in rows_with_profiles() if row.answer != "indeterminable"]
    for group in groups.specialty.groups:
        mine = [row for row in rows if row.reader_specialty == group.group]
        assert group.accuracy.successes == sum(row.correct for row in mine)
        assert group.accuracy.total == len(mine)
        assert group.reader_count == 3
    assert groups.specialty.readers_without_group == 1


def test_the_group_effect_is_readerstats_likelihood_ratio_test(groups):
    rows = rows_with_profiles()
    direct = by_specialty(
        [None if row.answer == "indeterminable" else float(row.correct) for row in rows],
        [row.reader for row in rows],
        [f"{row.survey}/{row.item}" for row in rows],
        [row.reader_specialty or None for row in rows],
    )
    assert groups.specialty.test.estimable
    assert groups.specialty.test.p_value == pytest.approx(direct.test.p_value)
    sentence = groups.to_dict()["specialty"]["sentence"]
    assert sentence.startswith("Difference between specialties: likelihood-ratio test chi-squared")


def test_default_bands_and_a_band_with_one_reader_says_what_to_change(groups):
    assert groups.bands == ("< 5", "5-15", "> 15")
    assert "Mean reader AUC" not in groups.header  # no ratings, no empty AUC column
    counts = {group.group: group.reader_count for group in groups.experience.groups}
    assert counts == {"< 5": 2, "5-15": 2, "> 15": 2}
    assert groups.experience.test.estimable
    narrow = reader_groups(rows_with_profiles(), edges=(3, 25))
    assert narrow.bands == ("< 3", "3-25", "> 25")
    assert {g.group: g.reader_count for g in narrow.experience.groups} == {"< 3": 1, "3-25": 4, "> 25": 1}
    reason = narrow.to_dict()["experience"]["group_effect"]["reason"]
    assert reason.startswith("not estimable because") and "estimable with at least 2 readers" in reason


def test_bands_are_parsed_or_refused_in_one_line():
    assert parse_bands("3, 10") == (3.0, 10.0)
    for text in ("10, 3", "five", "0, 4"):
        with pytest.raises(ValueError) as error:
            parse_bands(text)
        assert "\n" not in str(error.value)


def test_no_stated_profile_means_no_section():
    assert reader_groups(simulated("S1", 3, 10, 0.6, seed=1)) is None


def test_report_json_page_and_pdf_show_the_subgroups():
    from reports.report_page import report_body

    rows = rows_with_profiles()
    report = build_report(
        rows,
        [SurveyInfo("S1", "A", "model A", "Real", "closed", 24, 7)],
        n_resamples=100,
        experience_bands=(5, 15),
    )
    data = json.loads(stats_json(report.to_dict()))["reader_subgroups"]
    assert data["experience_bands"] == ["< 5", "5-15", "> 15"]
    assert {g["label"] for g in data["specialty"]["groups"]} == {"Radiology", "Radiation oncology"}
    assert data["specialty"]["group_effect"]["p_value"] == pytest.approx(
        report.reader_groups.specialty.test.p_value
    )
    body = report_body(report)
    assert 'data-testid="reader-groups-specialty"' in body and "Radiation oncology" in body
    text = " ".join(pdf_text(report_pdf(report)).split())
    assert "Do some readers tell better than others?" in text and "Difference between specialties" in text


def test_with_ratings_each_group_has_its_readers_mean_auc():
    from sklearn.metrics import roc_auc_score

    rows = rows_with_profiles()
    rated = [
        dataclasses.replace(
            row,
            rating=(4 if row.answer == "synthetic" else 2) + (index % 2),
            rating_scale="five_point",
        )
        for index, row in enumerate(rows)
    ]
    groups = reader_groups(rated)
    for group in groups.specialty.groups:
        aucs = []
        for reader in sorted({row.reader for row in rated if row.reader_specialty == group.group}):
            mine = [row for row in rated if row.reader == reader]
            aucs.append(
                roc_auc_score([row.truth == "synthetic" for row in mine], [row.rating for row in mine])
            )
        assert group.mean_reader_auc == pytest.approx(sum(aucs) / len(aucs))
    assert groups.header[-1] == "Mean reader AUC" and all(row[5] for row in groups.rows(groups.specialty))


def test_a_missing_number_says_what_to_change_in_plain_words():
    assert plain_reason("not estimable because there is one reader").endswith(
        "to make it estimable, invite at least two readers to every survey (more readers also narrow the interval)"
    )
    assert plain_reason("reader R-1 read nothing in modality S1") == "reader R-1 read nothing in model S1"
