"""2AFC proportion correct: hand-worked examples, the OR interval against a direct computation, and coverage."""

import math

import numpy as np
import pytest
from scipy import stats

from readerstats.twoafc import TwoAfcTrial, model_proportion, reader_proportions, two_way_bootstrap


def trials_from(matrix):
    """Trials from a readers x pairs 0/1 matrix."""
    return [
        TwoAfcTrial(f"r{j}", f"p{k}", bool(value))
        for j, row in enumerate(matrix)
        for k, value in enumerate(row)
    ]


def test_reader_proportions_by_hand():
    # reader A: 3 of 4 correct; reader B: 1 of 4
    trials = trials_from([[1, 1, 1, 0], [0, 0, 1, 0]])
    a, b = reader_proportions(trials)
    assert (a.reader, a.estimate.successes, a.estimate.total) == ("r0", 3, 4)
    assert a.estimate.proportion == pytest.approx(0.75)
    assert b.estimate.proportion == pytest.approx(0.25)
    # Wilson 95% interval of 3/4, by hand: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    z, n, p = stats.norm.ppf(0.975), 4, 0.75
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert a.estimate.ci_low == pytest.approx(centre - half)
    assert a.estimate.ci_high == pytest.approx(centre + half)
    assert a.estimate.p_value == pytest.approx(stats.binomtest(3, 4, 0.5).pvalue)


def test_two_answers_to_one_pair_are_refused():
    with pytest.raises(ValueError, match="two answers"):
        reader_proportions([TwoAfcTrial("a", "p", True), TwoAfcTrial("a", "p", False)])


def test_or_interval_matches_direct_computation():
    # With one modality, OR RRRC: mean of reader proportions, variance MS(R)/r + max(cov2, 0)... checked here by its
    # pieces: the estimate is the mean of the readers' proportions and the interval is centred on it and symmetric.
    rng = np.random.default_rng(4)
    matrix = (rng.random((5, 30)) < np.array([0.6, 0.7, 0.8, 0.65, 0.75])[:, None]).astype(int)
    result = model_proportion(trials_from(matrix), model="m", glmm=False)
    assert result.proportion == pytest.approx(matrix.mean(axis=1).mean())
    assert result.or_ci_low < result.proportion < result.or_ci_high
    assert result.proportion - result.or_ci_low == pytest.approx(result.or_ci_high - result.proportion)
    # OR single-modality RRRC, by hand (Hillis 2007): var = MS(R)/r + max(Cov2, 0), ddf from Hillis' formula.
    r, c = matrix.shape
    theta = matrix.mean(axis=1)
    ms_r = ((theta - theta.mean()) ** 2).sum() / (r - 1)
    jack = (matrix.sum(axis=1)[:, None] - matrix) / (c - 1)
    dev = (jack - jack.mean(axis=1, keepdims=True)) * math.sqrt((c - 1) / c)
    cov = dev @ dev.T
    cov2 = cov[~np.eye(r, dtype=bool)].mean()
    error = ms_r + r * max(cov2, 0.0)
    ddf = error**2 / (ms_r**2 / (r - 1))
    half = stats.t.ppf(0.975, ddf) * math.sqrt(error / r)
    assert result.or_df == pytest.approx(ddf)
    assert result.or_ci_high - result.proportion == pytest.approx(half)


def test_bootstrap_of_identical_readers_and_pairs_is_a_point():
    trials = trials_from([[1, 1, 1], [1, 1, 1]])
    interval = two_way_bootstrap(trials, replicates=200)
    assert (interval.estimate, interval.ci_low, interval.ci_high) == (1.0, 1.0, 1.0)


def test_bootstrap_needs_two_readers():
    interval = two_way_bootstrap(trials_from([[1, 0, 1]]), replicates=50)
    assert interval.ci_low is None and "needs 2+ readers" in interval.method


def test_no_answers_is_a_named_result():
    result = model_proportion([], model="m")
    assert result.proportion is None and result.reason == "no answers"


def simulated(rng, readers=8, pairs=40, mean_logit=1.0, reader_sd=0.5, pair_sd=0.7):
    reader_effect = rng.normal(0, reader_sd, readers)
    pair_effect = rng.normal(0, pair_sd, pairs)
    logits = mean_logit + reader_effect[:, None] + pair_effect[None, :]
    return (rng.random((readers, pairs)) < 1 / (1 + np.exp(-logits))).astype(int)


def population_proportion(mean_logit=1.0, reader_sd=0.5, pair_sd=0.7):
    # E over readers and pairs of expit(mean + a + b): the quantity the mean reader proportion estimates
    draws = np.random.default_rng(99).normal(0, math.hypot(reader_sd, pair_sd), 400_000)
    return float((1 / (1 + np.exp(-(mean_logit + draws)))).mean())


def test_coverage_of_or_and_bootstrap_intervals_near_95_percent():
    rng = np.random.default_rng(2026)
    truth = population_proportion()
    runs, or_hits, boot_hits = 150, 0, 0
    for _ in range(runs):
        result = model_proportion(trials_from(simulated(rng)), model="m", replicates=300, glmm=False)
        or_hits += result.or_ci_low <= truth <= result.or_ci_high
        boot_hits += result.bootstrap.ci_low <= truth <= result.bootstrap.ci_high
    # 150 runs: a 95% interval covers 134..150 times with probability ~0.99 (binomial); allow 0.85..1.0
    assert or_hits / runs >= 0.85, or_hits
    assert boot_hits / runs >= 0.82, boot_hits
    assert or_hits / runs <= 1.0


def test_glmm_beside_or():
    rng = np.random.default_rng(7)
    result = model_proportion(trials_from(simulated(rng, readers=6, pairs=30)), model="m", replicates=200)
    assert result.glmm_reason is None
    assert 0.5 < result.glmm_accuracy < 1
    assert result.glmm_ci_low < result.glmm_accuracy < result.glmm_ci_high
