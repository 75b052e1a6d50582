"""Repeat reading: after the first reading is complete (and the wash-out has passed, enforced by the server) the
reader reads all items or a balanced random subset again in a new frozen order; the rounds are stored apart, the
first one stays frozen, and both are in the answers CSV."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reports.downloads import make_download
from reports.selectors import answer_rows, repeat_rows
from studies import selectors
from studies.design import DesignError, StudyDesign
from studies.models import Answer, ReadingRound, RepeatAnswer
from studies.selectors import item_at, round_item_at
from studies.services import StudyError, do_complete_assignment
from tests.studies.conftest import answer_body
from tests.studies.test_answers import post_answer
from tests.studies.test_reader_pages import config_of

SUBSET = StudyDesign(repeat="subset", repeat_items=6)


@pytest.fixture
def repeating(make_survey, join):
    def make(design):
        survey = make_survey(open_it=True, design=design)
        assignment = join(survey)
        client = Client()
        client.force_login(assignment.reader)
        return survey, assignment, client

    return make


def finish_first_reading(client, assignment):
    for position in range(1, assignment.total + 1):
        assert (
            post_answer(client, assignment, item_at(assignment, position), answer_body()).status_code == 200
        )
    assert client.post(reverse("studies:review", args=[assignment.key])).status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"repeat": "twice"}, "unknown repeat reading 'twice'"),
        ({"repeat": "subset"}, "a repeated subset needs at least 1 item"),
        ({"repeat": "all", "repeat_items": 3}, "applies to a repeated subset only"),
        ({"repeat": "all", "washout_days": 400}, "the wash-out must be 0..365 days"),
        ({"washout_days": 7}, "a wash-out applies to a repeat reading only"),
        ({"repeat": "subset", "repeat_items": "6"}, "repeat_items must be a whole number"),
    ],
)
def test_impossible_repeat_designs_are_refused_in_one_line(data, message):
    with pytest.raises(DesignError, match=message):
        StudyDesign.from_dict(data)


def test_a_subset_larger_than_the_survey_is_refused(make_survey):
    with pytest.raises(
        StudyError, match=r"a repeated subset of 21 items is larger than the survey \(20 items\)"
    ):
        make_survey(design=StudyDesign(repeat="subset", repeat_items=21))


def test_completing_the_first_reading_schedules_a_balanced_subset_in_a_new_order(repeating):
    survey, assignment, client = repeating(SUBSET)
    finish_first_reading(client, assignment)
    reading_round = ReadingRound.objects.get(assignment=assignment)
    assert reading_round.number == 2 and reading_round.total == 6
    assert set(reading_round.item_order) <= set(assignment.item_order)
    truths = list(survey.items.filter(pk__in=reading_round.item_order).values_list("truth", flat=True))
    assert sorted(truths) == ["real"] * 3 + ["synthetic"] * 3
    thanks = client.get(reverse("studies:thanks", args=[assignment.key])).content.decode()
    assert 'data-testid="start-repeat"' in thanks
    # The end of the first reading says what comes next, not that the page can be closed.
    assert "First reading done" in thanks and 'data-next="second-reading"' in thanks
    assert "close this page" not in thanks


def test_the_second_reading_is_read_once_in_order_stored_apart_and_the_first_stays_frozen(repeating):
    survey, assignment, client = repeating(StudyDesign(repeat="all"))
    finish_first_reading(client, assignment)
    reading_round = ReadingRound.objects.get(assignment=assignment)
    assert sorted(reading_round.item_order) == sorted(assignment.item_order)
    first_item = round_item_at(reading_round, 1)
    page = client.get(reverse("studies:repeat", args=[assignment.key, 1]))
    assert page.status_code == 200 and "Second reading 1 of 20" in page.content.decode()
    assert config_of(page)["round"] == 2 and config_of(page)["itemId"] == first_item.public_id
    second = round_item_at(reading_round, 2)
    early = post_answer(client, assignment, second, answer_body())
    assert early.status_code == 409 and early.json()["error"] == "Answer the earlier slices first."
    response = post_answer(client, assignment, first_item, answer_body(choice="synthetic"))
    assert response.status_code == 200
    assert response.json()["next_url"] == reverse("studies:repeat", args=[assignment.key, 2])
    again = post_answer(client, assignment, first_item, answer_body(choice="real"))
    assert again.status_code == 409
    assert RepeatAnswer.objects.get(item=first_item).choice == "synthetic"
    # The first reading's answer to the same item is unchanged.
    assert Answer.objects.get(assignment=assignment, item=first_item).choice == "real"
    for position in range(2, 21):
        post_answer(
            client, assignment, round_item_at(reading_round, position), answer_body(choice="indeterminable")
        )
    assert client.post(reverse("studies:repeat_review", args=[assignment.key])).status_code == 302
    reading_round.refresh_from_db()
    assert reading_round.completed_at is not None
    thanks = client.get(reverse("studies:thanks", args=[assignment.key])).content.decode()
    assert 'data-testid="start-repeat"' not in thanks
    assert "Both readings are done" in thanks and 'data-next="done"' in thanks
    # Both rounds are in the answers CSV; the statistics read the first.
    assert len(answer_rows([survey])) == 20 and {r.round for r in answer_rows([survey])} == {1}
    assert len(repeat_rows([survey])) == 20 and {r.round for r in repeat_rows([survey])} == {2}
    lines = make_download("answers_csv", [survey], user=None).content.decode().splitlines()
    column = lines[0].split(",").index("round")
    assert sorted(line.split(",")[column] for line in lines[1:]) == ["1"] * 20 + ["2"] * 20


def test_the_wash_out_is_enforced_by_the_server(repeating, monkeypatch):
    survey, assignment, client = repeating(StudyDesign(repeat="all", washout_days=14))
    finish_first_reading(client, assignment)
    reading_round = ReadingRound.objects.get(assignment=assignment)
    assert abs((reading_round.opens_at - timezone.now()) - timedelta(days=14)) < timedelta(minutes=1)
    thanks = client.get(reverse("studies:thanks", args=[assignment.key])).content.decode()
    assert 'data-testid="repeat-scheduled"' in thanks and 'data-next="wait"' in thanks
    assert 'data-testid="start-repeat"' not in thanks
    assert client.get(reverse("studies:repeat", args=[assignment.key, 1])).status_code == 302
    refused = post_answer(client, assignment, round_item_at(reading_round, 1), answer_body())
    assert refused.status_code == 409 and refused.json()["error"] == "The second reading has not opened yet."
    assert not RepeatAnswer.objects.exists()
    # Fifteen days later (the round's opening time itself never changes: studies migration 0010).
    later = timezone.now() + timedelta(days=15)
    monkeypatch.setattr(selectors, "timezone", SimpleNamespace(now=lambda: later))
    assert post_answer(client, assignment, round_item_at(reading_round, 1), answer_body()).status_code == 200


def test_a_garbage_second_reading_answer_is_a_one_line_400_and_nothing_is_stored(repeating):
    survey, assignment, client = repeating(StudyDesign(repeat="all", rating="slider"))
    for position in range(1, 21):
        post_answer(client, assignment, item_at(assignment, position), answer_body(rating=50))
    do_complete_assignment(assignment=assignment)
    reading_round = ReadingRound.objects.get(assignment=assignment)
    response = post_answer(client, assignment, round_item_at(reading_round, 1), answer_body(rating=150))
    assert response.status_code == 400 and response.json()["error"] == "rating must be between 0 and 100"
    assert not RepeatAnswer.objects.exists()


def test_the_report_reads_both_rounds_for_intra_reader_agreement(repeating):
    from sklearn.metrics import cohen_kappa_score

    from reports.selectors import report_for

    survey, assignment, client = repeating(StudyDesign(repeat="all", rating="five_point"))
    first, second = {}, {}
    for position in range(1, assignment.total + 1):
        item = item_at(assignment, position)
        rating = 1 + position % 5
        choice = ("real", "synthetic", "indeterminable")[position % 3]
        first[item.public_id] = (choice, rating)
        # Some pairs lean against each other (rating 4, "real"): the reader confirmed them.
        body = answer_body(choice=choice, rating=rating, contradiction_confirmed=True)
        assert post_answer(client, assignment, item, body).status_code == 200
    assert client.post(reverse("studies:review", args=[assignment.key])).status_code == 302
    reading_round = ReadingRound.objects.get(assignment=assignment)
    for position in range(1, reading_round.total + 1):
        item = round_item_at(reading_round, position)
        choice, rating = first[item.public_id]
        if position % 4 == 0:  # every fourth slice read differently the second time
            choice, rating = ("synthetic" if choice != "synthetic" else "real"), 1 + rating % 5
        second[item.public_id] = (choice, rating)
        # Some pairs lean against each other (rating 4, "real"): the reader confirmed them.
        body = answer_body(choice=choice, rating=rating, contradiction_confirmed=True)
        assert post_answer(client, assignment, item, body).status_code == 200
    report = report_for([survey])
    entry = report.mrmc.surveys[0]
    assert len(entry.intra_reader) == 1 and entry.intra_reader[0].kappa.pair_count == 20
    keys = sorted(first)
    expected = cohen_kappa_score([first[k][0] for k in keys], [second[k][0] for k in keys])
    assert entry.intra_reader[0].kappa.kappa == pytest.approx(expected, abs=1e-12)
    weighted = cohen_kappa_score(
        [first[k][1] for k in keys], [second[k][1] for k in keys], labels=[1, 2, 3, 4, 5], weights="quadratic"
    )
    assert entry.intra_reader_weighted[0].kappa.kappa == pytest.approx(weighted, abs=1e-12)
    # the statistics still read the first round only; the AUC comes from its ratings
    assert entry.auc is not None and entry.rating_scale == "five_point"
    assert report.answer_count == 20
