"""The server's staircase (studies.exposure) and the report's statistics (readerstats.exposure) together: the
reversals read back from the stored exposures are the server's, and a simulated observer whose psychometric
function is known has its 1-up/3-down threshold land near its 79.4 % point."""

import math

import numpy as np
import pytest

from readerstats import ExposureTrial, model_threshold, reader_threshold
from studies.exposure import Staircase, run_staircase


def test_the_stored_exposures_give_the_reversals_the_server_s_staircase_counted():
    rule = Staircase(start_ms=800, min_ms=50, max_ms=2000, step_percent=20, down=3, up=1, reversals=6)
    rng = np.random.default_rng(3)
    outcomes = [(bool(rng.random() < 0.75), True) for _ in range(120)]
    track = run_staircase(rule, outcomes)
    stored = [ExposureTrial(f"i{n}", t.requested_ms, t.correct) for n, t in enumerate(track.trials)]
    found = reader_threshold("r", stored, last=100, log=True).reversals
    server = track.reversal_levels
    # The same turns, but for one the reader's last answer triggered (no stored exposure shows it).
    assert found == server or found == server[:-1]
    assert len(server) > 10


def weibull_correct(exposure_ms: float, alpha: float, beta: float = 2.0) -> float:
    """A two-alternative observer: chance (50 %) at no exposure, rising to 100 %."""
    return 0.5 + 0.5 * (1 - math.exp(-((exposure_ms / alpha) ** beta)))


def simulate_reader(rule: Staircase, alpha: float, n: int, rng) -> list[ExposureTrial]:
    outcomes = []
    for _ in range(n):
        level = run_staircase(rule, outcomes).next_level if outcomes else float(rule.start_ms)
        outcomes.append((bool(rng.random() < weibull_correct(level, alpha)), True))
    track = run_staircase(rule, outcomes)
    return [ExposureTrial(f"i{k}", t.requested_ms, t.correct) for k, t in enumerate(track.trials)]


def test_a_simulated_observer_s_staircase_threshold_lands_near_its_79_4_percent_point():
    rule = Staircase(start_ms=1000, min_ms=20, max_ms=4000, step_percent=15, down=3, up=1, reversals=8)
    alpha = 300.0
    # The exposure where the observer is right 79.4 % of the time: 0.5 + 0.5 (1 - exp(-(t/a)^2)) = 0.7937.
    target = alpha * math.sqrt(-math.log(1 - 2 * (0.5 ** (1 / 3) - 0.5)))
    assert weibull_correct(target, alpha) == pytest.approx(rule.target_probability)
    rng = np.random.default_rng(2019)
    panel = {f"r{r}": simulate_reader(rule, alpha, 150, rng) for r in range(16)}
    thresholds = [reader_threshold(r, t, last=8, log=True).threshold_ms for r, t in panel.items()]
    assert abs(np.median(thresholds) / target - 1) < 0.15, (np.median(thresholds), target)
    model = model_threshold(panel, last=8, log=True, resamples=300, seed=1)
    assert model.low_ms < target * 1.15 and model.high_ms > target * 0.85
