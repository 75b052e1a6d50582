"""2AFC surveys: the task option through the one door, pairs of one real and one synthetic item of a layer, each
reader's frozen balanced plan, and the pair answer service with its one-line refusals."""

import pytest

from studies.design import DesignError, StudyDesign
from studies.models import Assignment, ItemPair, PairAnswer
from studies.pairs import make_pair_plan, pair_items
from studies.services import do_answer_pair
from studies.services.errors import AnswerRejected
from studies.survey_input import SurveyInputError, parse_survey_input

TWO_AFC = StudyDesign(task="2afc")
BASE = {"name": "s", "model": "m", "real_dataset": "r", "real": 4, "synthetic": 4, "seed": 1}


@pytest.mark.parametrize(
    ("design", "message"),
    [
        ({"task": "pairs"}, "unknown task 'pairs'"),
        ({"task": "2afc", "stack_k": 1}, "stack_k must be 0"),
        ({"task": "2afc", "slab_thickness_mm": 20}, "slab_thickness_mm must be 0"),
        ({"task": "2afc", "exposure": "fixed", "exposure_ms": 250}, "exposure must be off"),
        ({"task": "2afc", "practice_items": 2}, "practice_items must be 0"),
        ({"task": "2afc", "repeat": "all"}, "repeat must be off"),
        ({"task": "2afc", "rating": "slider"}, "rating must be none or five_point"),
    ],
)
def test_the_door_refuses_what_2afc_does_not_support_in_one_line(design, message):
    with pytest.raises(SurveyInputError) as caught:
        parse_survey_input({**BASE, "design": design})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_door_takes_2afc_as_text_and_refuses_going_back():
    assert parse_survey_input({**BASE, "design": {"task": " 2afc "}}).design.is_two_afc
    assert parse_survey_input({**BASE, "design": {"task": "2afc", "rating": "five_point"}}).design.has_rating
    with pytest.raises(SurveyInputError, match="allow_going_back must be false"):
        parse_survey_input({**BASE, "allow_going_back": True, "design": {"task": "2afc"}})
    assert StudyDesign().task == "single" and not StudyDesign().is_two_afc
    with pytest.raises(DesignError):
        StudyDesign.from_dict({"task": "2AFC"})


def test_pairing_is_within_layers_and_refuses_unequal_layers():
    items = [(1, "real", 3), (2, "synthetic", 3), (3, "real", 5), (4, "synthetic", 5), (5, "real", 5)]
    with pytest.raises(ValueError, match="layer 5 has 2 real and 1 synthetic"):
        pair_items(items, 1)
    pairs = pair_items(items + [(6, "synthetic", 5)], 1)
    assert {p.layer for p in pairs} == {3, 5} and len(pairs) == 3
    by_id = {i: layer for i, _, layer in items + [(6, "synthetic", 5)]}
    assert all(by_id[p.real_id] == by_id[p.synthetic_id] == p.layer for p in pairs)


@pytest.mark.parametrize("count", [1, 2, 7, 10])
def test_a_plan_is_a_permutation_with_balanced_sides(count):
    ids = list(range(100, 100 + count))
    for seed in range(20):
        plan = make_pair_plan(ids, seed)
        assert sorted(pair for pair, _ in plan) == ids
        lefts = sum(side == "left" for _, side in plan)
        assert lefts in (count // 2, (count + 1) // 2)
        assert plan == make_pair_plan(list(reversed(ids)), seed)  # frozen: the seed alone decides


def test_sides_and_orders_vary_across_readers():
    ids = list(range(10))
    plans = [make_pair_plan(ids, seed) for seed in range(40)]
    # every pair is real-left for some readers and real-right for others, and orders differ
    for pair in ids:
        sides = {side for plan in plans for p, side in plan if p == pair}
        assert sides == {"left", "right"}
    assert len({tuple(p for p, _ in plan) for plan in plans}) > 30


@pytest.mark.django_db
def test_a_2afc_survey_pairs_its_items_and_freezes_a_balanced_plan_per_reader(make_survey, join):
    survey = make_survey(per_side=4, design=TWO_AFC, open_it=True)
    pairs = list(ItemPair.objects.filter(survey=survey).select_related("real_item", "synthetic_item"))
    assert len(pairs) == 4
    for pair in pairs:
        assert pair.real_item.truth == "real" and pair.synthetic_item.truth == "synthetic"
        assert pair.real_item.axial_layer == pair.synthetic_item.axial_layer == pair.axial_layer
    assignment = join(survey)
    plan = Assignment.objects.get(pk=assignment.pk).pair_plan
    assert sorted(p for p, _ in plan) == sorted(p.pk for p in pairs)
    assert sum(side == "left" for _, side in plan) == 2


@pytest.mark.django_db
def test_a_single_task_survey_has_no_pairs(make_survey, join):
    survey = make_survey(per_side=2, open_it=True)
    assert not survey.pairs.exists() and join(survey).pair_plan == []


@pytest.fixture
def two_afc(make_survey, join):
    survey = make_survey(per_side=4, design=StudyDesign(task="2afc", rating="five_point"), open_it=True)
    assignment = join(survey)
    plan = [(ItemPair.objects.get(pk=pk), side) for pk, side in assignment.pair_plan]
    return survey, assignment, plan


@pytest.mark.django_db
def test_answers_are_stored_with_correctness_in_order_once(two_afc):
    survey, assignment, plan = two_afc
    (first, real_side), (second, _) = plan[0], plan[1]
    with pytest.raises(AnswerRejected, match="Answer the earlier pairs first"):
        do_answer_pair(assignment=assignment, pair_id=second.public_id, values={"side": "left", "seconds": 2})
    answer = do_answer_pair(
        assignment=assignment,
        pair_id=first.public_id,
        values={"side": real_side, "seconds": 2.5, "confidence": 4, "reason": " texture "},
    )
    assert (answer.correct, answer.real_side, answer.confidence, answer.reason) == (
        True,
        real_side,
        4,
        "texture",
    )
    with pytest.raises(AnswerRejected, match="already answered"):
        do_answer_pair(assignment=assignment, pair_id=first.public_id, values={"side": "left", "seconds": 1})
    wrong = "right" if plan[1][1] == "left" else "left"
    assert not do_answer_pair(
        assignment=assignment, pair_id=second.public_id, values={"side": wrong[0], "seconds": 1}
    ).correct
    assert PairAnswer.objects.filter(assignment=assignment).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"side": "middle", "seconds": 1}, "side must be left or right"),
        ({"side": "left"}, "seconds must be a number"),
        ({"side": "left", "seconds": -1}, "seconds must be 0.."),
        ({"side": "left", "seconds": 1, "confidence": 6}, "confidence must be a whole number 1..5"),
        ({"side": "left", "seconds": 1, "confidence": True}, "confidence must be a whole number 1..5"),
        ({"side": "left", "seconds": 1, "truth": "real"}, "unknown field(s): truth"),
        ({"side": "left", "seconds": 1, "reason": "x" * 1001}, "reason must be at most 1000"),
        ("left", "an answer is a JSON object"),
    ],
)
def test_bad_answers_are_refused_with_one_line_400s(two_afc, values, message):
    survey, assignment, plan = two_afc
    with pytest.raises(AnswerRejected) as caught:
        do_answer_pair(assignment=assignment, pair_id=plan[0][0].public_id, values=values)
    assert caught.value.status == 400 and message in str(caught.value) and "\n" not in str(caught.value)
    assert not PairAnswer.objects.exists()


@pytest.mark.django_db
def test_a_pair_of_another_survey_or_unknown_is_404(two_afc, make_survey):
    survey, assignment, plan = two_afc
    other = make_survey(per_side=2, design=TWO_AFC, open_it=True)
    for pair_id in (other.pairs.first().public_id, "nope"):
        with pytest.raises(AnswerRejected) as caught:
            do_answer_pair(assignment=assignment, pair_id=pair_id, values={"side": "left", "seconds": 1})
        assert caught.value.status == 404


@pytest.mark.django_db
def test_a_confidence_without_a_rating_is_refused(make_survey, join):
    survey = make_survey(per_side=2, design=TWO_AFC, open_it=True)
    assignment = join(survey)
    pair = ItemPair.objects.get(pk=assignment.pair_plan[0][0])
    with pytest.raises(AnswerRejected, match="asks no confidence"):
        do_answer_pair(
            assignment=assignment, pair_id=pair.public_id, values={"side": "l", "seconds": 1, "confidence": 3}
        )


@pytest.mark.django_db
def test_a_draft_cannot_change_its_task_or_let_2afc_readers_go_back(make_survey):
    from studies.services import StudyError, do_change_survey_settings

    single = make_survey(per_side=2)
    with pytest.raises(StudyError, match="the task is chosen when the survey is created"):
        do_change_survey_settings(survey=single, actor=None, design=TWO_AFC)
    pairs = make_survey(per_side=2, design=TWO_AFC)
    with pytest.raises(StudyError, match="the task is chosen when the survey is created"):
        do_change_survey_settings(survey=pairs, actor=None, design=StudyDesign())
    with pytest.raises(StudyError, match="allow_going_back must be false"):
        do_change_survey_settings(survey=pairs, actor=None, allow_going_back=True)
    # a rating may still change on a 2AFC draft
    changed = do_change_survey_settings(survey=pairs, actor=None, design=TWO_AFC.replace(rating="five_point"))
    assert changed.design.has_rating and changed.pairs.count() == 2
