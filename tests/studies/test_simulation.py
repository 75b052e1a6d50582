"""Simulated readers answer through the same services as real ones, reproducibly, as skilled as asked."""

import pytest

from audit.models import AuditEvent
from studies.models import Answer, AnswerRevision
from studies.services import StudyError
from studies.simulation import simulate_readers


def accuracy(answers) -> float:
    decided = [a for a in answers if a.choice != "indeterminable"]
    return sum(a.choice == a.item.truth for a in decided) / len(decided)


def test_simulated_readers_answer_every_item_through_the_answer_service(make_survey):
    survey = make_survey(open_it=True)
    assignments = simulate_readers(survey, 3, seed=1, skill=0.5)
    assert len(assignments) == 3 and all(a.completed_at for a in assignments)
    assert Answer.objects.filter(assignment__survey=survey).count() == 60
    assert AnswerRevision.objects.filter(assignment__survey=survey).count() == 60
    assert AuditEvent.objects.filter(verb="answer.submitted").count() == 60
    assert AuditEvent.objects.filter(verb="invitation.used").count() == 3


def test_simulated_readers_are_registered_through_the_people_service_with_their_audit_rows(
    make_survey, admin_user
):
    survey = make_survey(open_it=True)
    assignments = simulate_readers(survey, 2, seed=4, skill=0.5, actor=admin_user)
    registered = AuditEvent.objects.filter(verb="reader.registered").order_by("id")
    readers = [assignment.reader for assignment in assignments]
    assert [event.object_id for event in registered] == [str(reader.pk) for reader in readers]
    assert {event.actor_id for event in registered} == {admin_user.pk}
    assert not any(reader.has_usable_password() for reader in readers)


def test_skill_sets_how_far_above_chance_readers_are(make_survey):
    expert_survey = make_survey(open_it=True)
    guessing_survey = make_survey(open_it=True)
    simulate_readers(expert_survey, 2, seed=2, skill=1.0)
    simulate_readers(guessing_survey, 6, seed=2, skill=0.0)
    expert = Answer.objects.filter(assignment__survey=expert_survey).select_related("item")
    guessing = Answer.objects.filter(assignment__survey=guessing_survey).select_related("item")
    assert accuracy(expert) == 1.0
    assert 0.35 < accuracy(guessing) < 0.65
    indeterminable = sum(a.choice == "indeterminable" for a in guessing) / len(guessing)
    assert 0.02 < indeterminable < 0.25


def test_the_same_seed_gives_the_same_answers_to_the_same_slices(make_survey):
    first, second = make_survey(open_it=True, seed=3), make_survey(open_it=True, seed=3)
    simulate_readers(first, 2, seed=5, skill=0.3)
    simulate_readers(second, 2, seed=5, skill=0.3)

    def answers(survey):
        return {
            (a.assignment.reader.username.rsplit("-", 1)[1], a.item.slice_id): (a.choice, a.seconds_on_slice)
            for a in Answer.objects.filter(assignment__survey=survey).select_related(
                "item", "assignment__reader"
            )
        }

    assert len(answers(first)) == 40
    assert answers(first) == answers(second)


@pytest.mark.parametrize(
    "arguments, message", [({"skill": 1.5}, "skill must be between 0 and 1"), ({"n": 0}, "simulate 1..200")]
)
def test_bad_simulation_requests_are_refused(make_survey, arguments, message):
    survey = make_survey(open_it=True)
    with pytest.raises(StudyError, match=message):
        simulate_readers(survey, **{"n": 1, "seed": 1, "skill": 0.5, **arguments})


def test_a_draft_survey_cannot_be_simulated(make_survey):
    with pytest.raises(StudyError, match="need an open survey"):
        simulate_readers(make_survey(), 1, seed=1, skill=0.5)


def test_simulated_readers_read_the_practice_items_first_and_apart(make_survey):
    from studies.design import StudyDesign
    from studies.models import PracticeAnswer

    survey = make_survey(open_it=True, design=StudyDesign(practice_items=2))
    assignments = simulate_readers(survey, 2, seed=3, skill=0.5)
    assert all(a.completed_at for a in assignments)
    assert PracticeAnswer.objects.count() == 4
    assert Answer.objects.filter(assignment__survey=survey).count() == 40


def test_with_a_staircase_skilled_readers_reach_shorter_exposures_than_poor_ones(make_survey):
    from studies.design import StudyDesign
    from studies.exposure_track import rejected_exposures
    from studies.simulation import exposure_skill

    design = StudyDesign(
        exposure="staircase", exposure_ms=1000, exposure_step_percent=25, exposure_min_ms=50,
        exposure_max_ms=4000, exposure_up=1, exposure_down=3, exposure_reversals=4,
    )  # fmt: skip
    skilled_survey = make_survey(open_it=True, design=design)
    poor_survey = make_survey(open_it=True, design=design)
    skilled = simulate_readers(skilled_survey, 3, seed=5, skill=1.0)
    poor = simulate_readers(poor_survey, 3, seed=5, skill=0.3)

    def mean_exposure(assignments):
        values = Answer.objects.filter(assignment__in=assignments).values_list(
            "exposure_requested_ms", flat=True
        )
        return sum(values) / len(values)

    assert mean_exposure(skilled) < 1000 < mean_exposure(poor)
    assert all(rejected_exposures(a) == 0 for a in skilled + poor)
    assert exposure_skill(0.8, 0) == 0 and exposure_skill(0.8, 250) == pytest.approx(
        0.8 * (1 - 1 / 2.718281828)
    )
