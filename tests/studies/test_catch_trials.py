"""Catch trials end to end through the services: catch items are made at creation and mixed into every reader's
order, answered like any item, never in the statistics or the answers export, never repeated in a second reading;
the exclusion rules are frozen once the survey opens (service, admin and PostgreSQL); the report applies them."""

import json

import pytest
from django.db import connection
from django.urls import reverse

from reports.selectors import answer_rows, quality_inputs, repeat_rows, report_for
from studies.design import StudyDesign
from studies.models import Answer, Item, ReadingRound, Survey
from studies.selectors import item_at
from studies.services import (
    StudyError,
    do_change_survey_settings,
    do_complete_assignment,
    do_submit_answer,
    parse_answer_input,
)
from tests.studies.conftest import answer_body
from tests.studies.test_immutability import on_postgres, refused

RULES = {"catch_items": 3, "qc_min_catch_percent": 67, "qc_min_median_seconds": 1.0, "qc_max_run": 6}


def read_all(assignment, choose, seconds):
    """Answer every item of the reader's order: choose(item) gives the choice, seconds(position) the time."""
    for position in range(1, assignment.total + 1):
        item = item_at(assignment, position)
        body = answer_body(choice=choose(item), seconds_on_slice=seconds(position))
        do_submit_answer(assignment=assignment, item=item, data=parse_answer_input(body))


def test_catch_items_are_made_rendered_alike_and_mixed_into_every_order(make_survey, join):
    survey = make_survey(per_side=4, design=StudyDesign(**RULES))
    catch = list(survey.items.catch_only())
    assert len(catch) == 3 and {item.truth for item in catch} == {"synthetic"}
    assert survey.items.scored().count() == 8 and survey.items.count() == 11
    assert len({item.payload_sha256 for item in survey.items.all()}) == 11
    test_slices = set(survey.items.scored().values_list("slice_id", flat=True))
    assert not test_slices & {item.slice_id for item in catch}
    first, second = join(survey), join(survey)
    for assignment in (first, second):
        assert assignment.total == 11 and set(assignment.item_order) == set(
            survey.items.values_list("pk", flat=True)
        )
    assert first.item_order != second.item_order  # each reader's own frozen order


def test_catch_answers_are_never_in_the_statistics_nor_in_a_second_reading(make_survey, join):
    survey = make_survey(per_side=3, open_it=True, design=StudyDesign(**RULES, repeat="all"))
    assignment = join(survey)
    read_all(assignment, lambda item: "synthetic", lambda position: 2.0)
    assert Answer.objects.filter(assignment=assignment).count() == 9
    assert Answer.objects.scored().filter(assignment=assignment).count() == 6
    rows = answer_rows([survey])
    catch_ids = set(survey.items.catch_only().values_list("public_id", flat=True))
    assert len(rows) == 6 and not {row.item for row in rows} & catch_ids
    do_complete_assignment(assignment=assignment)
    reading_round = ReadingRound.objects.get(assignment=assignment)
    assert sorted(reading_round.item_order) == sorted(survey.items.scored().values_list("pk", flat=True))
    assert repeat_rows([survey]) == []
    (given,) = quality_inputs([survey])
    (reader,) = given.readers
    assert sum(answer.catch for answer in reader[1]) == 3 and len(reader[1]) == 9


def test_the_rules_can_change_in_a_draft_but_not_once_opened(make_survey):
    survey = make_survey(per_side=3, design=StudyDesign(**RULES))
    looser = survey.design.replace(qc_max_run=10)
    assert do_change_survey_settings(survey=survey, actor=None, design=looser).design.qc_max_run == 10
    with pytest.raises(StudyError, match="the catch items are chosen when the survey is created"):
        do_change_survey_settings(survey=survey, actor=None, design=looser.replace(catch_items=1))
    Survey.objects.filter(pk=survey.pk).update(status="open", opened_at="2026-01-01T00:00:00Z")
    with pytest.raises(StudyError, match="is open; its settings are frozen"):
        do_change_survey_settings(survey=survey, actor=None, design=looser.replace(qc_max_run=3))
    assert Survey.objects.get(pk=survey.pk).design.qc_max_run == 10


def test_an_open_surveys_rules_are_not_in_its_admin_form(admin_client, make_survey):
    survey = make_survey(per_side=3, open_it=True, design=StudyDesign(**RULES))
    page = admin_client.get(reverse("admin:studies_survey_change", args=[survey.pk]))
    assert not {"qc_min_catch_percent", "qc_max_run", "catch_items"} & set(
        page.context["adminform"].form.fields
    )
    assert "exclusion: catch accuracy at least 67%" in page.content.decode()


@on_postgres
def test_postgres_refuses_a_changed_design_once_opened(make_survey):
    survey = make_survey(per_side=3, design=StudyDesign(**RULES))
    looser = json.dumps({**survey.design.to_dict(), "qc_min_catch_percent": 0})
    with connection.cursor() as cursor:  # a draft's design may change
        cursor.execute("UPDATE studies_survey SET design = %s WHERE id = %s", [looser, survey.pk])
    Survey.objects.filter(pk=survey.pk).update(status="open", opened_at="2026-01-01T00:00:00Z")
    stricter = json.dumps({**json.loads(looser), "qc_min_catch_percent": 100})
    refused(
        "UPDATE studies_survey SET design = %s WHERE id = %s",
        [stricter, survey.pk],
        says="its study design is frozen once opened",
    )
    without = {k: v for k, v in json.loads(looser).items() if k != "qc_max_run"}
    refused(
        "UPDATE studies_survey SET design = %s WHERE id = %s",
        [json.dumps(without), survey.pk],
        says="its study design is frozen once opened",
    )
    # A full save of the open survey writes the same design, which is allowed.
    opened = Survey.objects.get(pk=survey.pk)
    opened.save()
    assert Survey.objects.get(pk=survey.pk).design.qc_min_catch_percent == 0


def test_the_report_excludes_the_careless_reader_in_its_second_verdict(make_survey, join):
    survey = make_survey(per_side=6, open_it=True, design=StudyDesign(**RULES))
    careful = [join(survey) for _ in range(3)]
    for number, assignment in enumerate(careful):
        # right on every catch item and on most test items, 3 s per item
        read_all(
            assignment,
            lambda item, number=number: item.truth if (item.catch or item.pk % 4 != number) else "real",
            lambda position: 3.0,
        )
    careless = join(survey)
    read_all(careless, lambda item: "real", lambda position: 0.4)
    report = report_for([survey])
    section = report.reader_quality
    (quality,) = section.surveys
    assert quality.rules.min_catch_percent == 67 and quality.catch_items == 3
    assert [reader.answers for reader in quality.readers] == [15] * 4 and len(quality.excluded) == 1
    (excluded,) = [reader for reader in quality.readers if reader.excluded]
    assert (excluded.catch_correct, excluded.catch_answers, excluded.median_seconds) == (0, 3, 0.4)
    assert excluded.longest_run == 15 and len(excluded.reasons) == 3
    assert all(
        reader.catch_correct == 3 and not reader.excluded
        for reader in quality.readers
        if reader is not excluded
    )
    # the main figures count test answers only; the second verdict leaves the careless reader out
    assert report.answer_count == 4 * 12
    assert quality.all_readers.estimate < quality.kept_readers.estimate
    data = report.to_dict()["reader_quality"]["surveys"][0]
    assert data["excluded"] == [excluded.reader]
    assert data["readers_correct_without_excluded"]["estimate"] == pytest.approx(
        quality.kept_readers.estimate
    )
    # recomputed by hand: the mean over the kept readers of each reader's proportion correct
    rows = [
        row
        for row in answer_rows([survey])
        if row.reader != excluded.reader and row.answer != "indeterminable"
    ]
    per_reader = {}
    for row in rows:
        per_reader.setdefault(row.reader, []).append(row.answer == row.truth)
    expected = sum(sum(v) / len(v) for v in per_reader.values()) / len(per_reader)
    assert quality.kept_readers.estimate == pytest.approx(expected)
    assert Item.objects.filter(survey=survey).count() == 15


def test_the_html_and_pdf_reports_show_the_quality_control_section(make_survey, join):
    from reports.content.pdf import report_pdf
    from reports.report_page import report_body
    from tests.reports.pdf_text import pdf_text

    survey = make_survey(per_side=4, open_it=True, design=StudyDesign(**RULES))
    for _ in range(2):
        read_all(join(survey), lambda item: item.truth, lambda position: 2.5)
    careless = join(survey)
    read_all(careless, lambda item: "real", lambda position: 0.3)
    report = report_for([survey])
    (excluded,) = report.reader_quality.surveys[0].excluded
    page = report_body(report)
    assert 'data-testid="reader-quality"' in page
    assert f"1 of 3 reader(s) excluded: {excluded}." in page
    assert "Without the excluded readers:" in page and "catch accuracy 0/3 (0%) below 67%" in page
    text = pdf_text(report_pdf(report))
    assert "Reader quality control" in text and f"1 of 3 reader(s) excluded: {excluded}." in text
    assert "median time 0.30 s below 1 s" in text


def test_a_survey_without_catch_items_or_rules_has_no_quality_section(make_survey, join):
    survey = make_survey(per_side=2, open_it=True)
    read_all(join(survey), lambda item: item.truth, lambda position: 2.0)
    assert quality_inputs([survey]) == []
    report = report_for([survey])
    assert report.reader_quality is None and report.to_dict()["reader_quality"] is None


def test_simulated_readers_answer_catch_items_and_the_careless_one_is_excluded(make_survey):
    from reports.selectors import reader_pseudonym
    from studies.simulation import simulate_readers

    rules = {**RULES, "qc_min_catch_percent": 60, "qc_max_run": 10}
    survey = make_survey(per_side=6, open_it=True, design=StudyDesign(**rules))
    assignments = simulate_readers(survey, 4, seed=5, skill=0.4, careless=1)
    catch_answers = Answer.objects.filter(assignment__in=assignments[:3], item__catch=True)
    assert catch_answers.count() == 9
    assert catch_answers.filter(choice="synthetic").count() >= 7  # attentive readers see the artefact
    careless = Answer.objects.filter(assignment=assignments[3])
    assert set(careless.values_list("choice", flat=True)) == {"real"}
    assert max(careless.values_list("seconds_on_slice", flat=True)) <= 0.8
    (quality,) = report_for([survey]).reader_quality.surveys
    assert quality.excluded == [reader_pseudonym(assignments[3].reader_id)]
    with pytest.raises(StudyError, match="careless readers must be 0..2, not 3"):
        simulate_readers(survey, 2, seed=5, skill=0.4, careless=3)


def test_the_admin_survey_page_shows_the_readers_the_rules_exclude(
    admin_client, make_survey, join, make_reader
):
    survey = make_survey(per_side=3, open_it=True, design=StudyDesign(**RULES))
    read_all(join(survey), lambda item: item.truth, lambda position: 2.0)
    read_all(join(survey, make_reader("hasty-reader")), lambda item: "real", lambda position: 0.2)
    page = admin_client.get(reverse("admin:studies_survey_change", args=[survey.pk])).content.decode()
    assert "Readers the exclusion rules exclude" in page
    assert (
        "<p>hasty-reader: catch accuracy 0/3 (0%) below 67%; median time 0.20 s below 1 s; 9 answers" in page
    )
    assert page.count("catch accuracy 0/3") == 1
