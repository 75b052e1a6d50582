"""Time-limited exposure statistics (readerstats.exposure) against hand-worked examples and a simulated error rate
(the staircase run by a simulated observer is in tests/studies/test_exposure_simulation.py: readerstats stands
alone)."""

import math

import numpy as np
import pytest

from readerstats import ExposureTrial, error_rate, model_threshold, reader_threshold, reversal_indices


def trials(levels, item_prefix="i"):
    return [ExposureTrial(f"{item_prefix}{n}", level, True) for n, level in enumerate(levels)]


def test_reversals_are_the_turns_of_the_requested_exposure():
    #         0    1    2    3    4    5    6    7    8
    levels = [500, 500, 400, 400, 500, 500, 400, 300, 300]
    # turns: down at 1->2, up at 3->4 (reversal at index 3), down at 5->6 (reversal at index 5)
    assert reversal_indices(levels) == [3, 5]
    assert reversal_indices([500, 500, 500]) == []


def test_a_reader_s_threshold_is_the_mean_of_the_last_reversals_arithmetic_or_geometric():
    levels = [500, 400, 500, 400, 300, 400, 300]  # reversals at 400 (1), 500 (2), 300 (4), 400 (5)
    result = reader_threshold("r1", trials(levels), last=2, log=False)
    assert result.reversals == (400, 500, 300, 400)
    assert result.threshold_ms == 350 and result.used == 2 and result.converged
    geometric = reader_threshold("r1", trials(levels), last=2, log=True)
    assert geometric.threshold_ms == pytest.approx(math.sqrt(300 * 400))
    few = reader_threshold("r1", trials(levels), last=6, log=False)
    assert few.threshold_ms == pytest.approx((400 + 500 + 300 + 400) / 4) and not few.converged
    assert reader_threshold("r1", trials([500, 500]), last=2, log=False).threshold_ms is None


def test_refused_trials_are_left_out_before_the_reversals_are_found():
    kept = [ExposureTrial("a", 500, True), ExposureTrial("b", 400, True), ExposureTrial("c", 500, False)]
    refused = [ExposureTrial("x", 900, False, rejected=True)]
    result = reader_threshold(
        "r", kept[:2] + refused + kept[2:] + [ExposureTrial("d", 400, True)], last=4, log=False
    )
    assert result.reversals == (400, 500) and result.rejected == 1 and result.trials == 4


def test_the_model_median_and_its_interval_on_a_hand_worked_panel():
    panel = {
        "r1": trials([500, 400, 500, 400], "a"),  # reversals 400, 500 -> mean 450
        "r2": trials([300, 200, 300, 200], "b"),  # 200, 300 -> 250
        "r3": trials([900, 800, 900, 800], "c"),  # 800, 900 -> 850
    }
    result = model_threshold(panel, last=2, log=False, resamples=400, seed=5)
    assert result.median_ms == 450 and result.readers == 3
    assert result.low_ms <= 450 <= result.high_ms
    # Dropping an item can leave one reversal of a reader: the interval stays within the reversal levels.
    assert result.low_ms >= 200 and result.high_ms <= 900
    again = model_threshold(panel, last=2, log=False, resamples=400, seed=5)
    assert again == result  # seeded


def test_hype_inf_is_the_proportion_wrong_with_a_bootstrap_interval():
    answers = [("r1", "a", True), ("r1", "b", False), ("r2", "a", True), ("r2", "b", True)]
    result = error_rate(answers, resamples=500, seed=1)
    assert result.rate == 0.25 and result.wrong == 1 and result.answers == 4
    assert 0 <= result.low <= 0.25 <= result.high <= 1
    none = error_rate([("r1", "a", True)], resamples=50)
    assert none.rate == 0 and none.low == 0 and none.high == 0
    assert error_rate([]).rate is None


def test_hype_inf_interval_covers_a_known_error_rate_in_simulation():
    rng = np.random.default_rng(11)
    answers = [(f"r{r}", f"i{i}", bool(rng.random() > 0.3)) for r in range(12) for i in range(40)]
    result = error_rate(answers, resamples=500, seed=2)
    assert abs(result.rate - 0.3) < 0.05
    assert result.low < 0.3 < result.high
