"""The transformed up-down staircase (studies.exposure), against sequences worked by hand."""

import pytest

from studies.exposure import (
    Staircase,
    exposure_accepted,
    mask_seed,
    requested_ms,
    run_staircase,
)

LINEAR = Staircase(start_ms=500, min_ms=100, max_ms=1000, step_ms=100, down=3, up=1, reversals=2)


def outcomes(text: str):
    """'c' correct, 'w' wrong, 'x' refused (not accepted, correct or not)."""
    return [(c == "c", c != "x") for c in text]


def test_three_correct_answers_shorten_the_exposure_by_one_step_and_one_wrong_lengthens_it():
    track = run_staircase(LINEAR, outcomes("cccw"))
    # levels: 500 500 500 (3rd correct: down to 400) 400 (wrong: up to 500)
    assert [t.requested_ms for t in track.trials] == [500, 500, 500, 400]
    assert [t.step for t in track.trials] == [0, 0, -1, 1]
    assert [t.reversal for t in track.trials] == [False, False, False, True]
    assert track.reversal_levels == (400,)
    assert track.next_ms == 500


def test_a_hand_worked_track_with_reversals_and_bounds():
    # c c c -> 400; c c c -> 300; w -> 400 (reversal at 300); c c c -> 300 (reversal at 400);
    # c c c -> 200; c c c -> 100; c c c -> held at 100 (the bound: no step); w -> 200 (reversal at 100)
    track = run_staircase(LINEAR, outcomes("ccccccwccccccccccccw"))
    assert track.reversal_levels == (300, 400, 100)
    assert track.next_ms == 200


def test_correct_answers_in_a_row_count_again_after_a_wrong_answer():
    track = run_staircase(LINEAR, outcomes("ccwcc"))
    assert [t.requested_ms for t in track.trials] == [500, 500, 500, 600, 600]
    assert track.next_ms == 600


def test_a_refused_answer_moves_nothing_and_breaks_no_run():
    track = run_staircase(LINEAR, outcomes("ccxc"))
    assert [t.step for t in track.trials] == [0, 0, 0, -1]
    assert track.next_ms == 400


def test_the_exposure_never_leaves_its_bounds():
    track = run_staircase(LINEAR, outcomes("w" * 10))
    assert track.next_ms == 1000
    assert max(t.requested_ms for t in track.trials) == 1000


def test_multiplicative_steps_divide_and_multiply_and_average_in_log_space():
    rule = Staircase(start_ms=1000, min_ms=50, max_ms=4000, step_percent=25, down=1, up=1, reversals=4)
    # 1-up/1-down: c -> 800; c -> 640; w -> 800 (reversal at 640); c -> 640 (reversal at 800)
    track = run_staircase(rule, outcomes("ccwc"))
    assert [t.requested_ms for t in track.trials] == [1000, 800, 640, 800]
    assert track.reversal_levels == pytest.approx((640, 800))


def test_one_up_three_down_targets_79_4_percent_correct():
    assert LINEAR.target_probability == pytest.approx(0.7937, abs=1e-4)
    assert Staircase(500, 100, 1000, step_ms=10, down=2).target_probability == pytest.approx(0.7071, abs=1e-4)


def test_a_rule_needs_exactly_one_kind_of_step_and_a_start_inside_its_bounds():
    with pytest.raises(ValueError):
        Staircase(500, 100, 1000, step_ms=10, step_percent=10)
    with pytest.raises(ValueError):
        Staircase(50, 100, 1000, step_ms=10)


def test_requested_ms_rounds_half_up_and_the_tolerance_is_two_frames():
    assert requested_ms(409.6) == 410 and requested_ms(409.5) == 410 and requested_ms(409.4) == 409
    assert exposure_accepted(250, 250 + 34) and exposure_accepted(250, 250 - 34)
    assert not exposure_accepted(250, 250 + 34.1) and not exposure_accepted(1000, 950)


def test_the_mask_seed_depends_on_the_survey_only():
    assert mask_seed("7:1") == mask_seed("7:1")
    assert mask_seed("7:1") != mask_seed("8:1")
    assert 0 <= mask_seed("7:1") < 2**32


def test_a_step_held_at_a_bound_is_no_step_so_no_reversal_follows_from_it():
    rule = Staircase(start_ms=1000, min_ms=100, max_ms=1000, step_ms=100, down=1, up=1, reversals=2)
    # w at the top: held (no step); c -> 900: the first step, no reversal; w -> 1000: reversal at 900
    track = run_staircase(rule, outcomes("wcw"))
    assert [t.step for t in track.trials] == [0, -1, 1]
    assert track.reversal_levels == (900,)
