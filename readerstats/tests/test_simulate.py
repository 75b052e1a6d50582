"""The reader-study simulator, and the coverage of the OR RRRC interval on a seeded subset of the benchmark."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from readerstats.mrmc import or_analysis
from readerstats.simulate import interval_coverage, marginal_accuracy, simulate_answers, simulate_ratings


def test_marginal_accuracy_is_the_mean_over_readers_and_cases():
    rng = np.random.default_rng(0)
    draws = expit(np.log(0.65 / 0.35) + rng.normal(0, 0.8, 2_000_000) + rng.normal(0, 1.1, 2_000_000))
    assert marginal_accuracy(0.65, 0.8, 1.1) == pytest.approx(draws.mean(), abs=1e-3)
    assert marginal_accuracy(0.65, 0.0, 0.0) == pytest.approx(0.65)


def test_simulator_is_seeded_and_balanced():
    a = simulate_answers(np.random.default_rng(3), readers=5, items=10, reader_sd=0.5, case_sd=0.5)
    b = simulate_answers(np.random.default_rng(3), readers=5, items=10, reader_sd=0.5, case_sd=0.5)
    assert (a.answer == b.answer).all()
    assert len(a.answer) == 50 and (a.truth == "real").sum() == 25
    big = simulate_answers(
        np.random.default_rng(4), readers=200, items=400, accuracy=0.7, reader_sd=0.5, case_sd=0.7
    )
    assert (big.truth == big.answer).mean() == pytest.approx(big.marginal_accuracy, abs=0.02)


def test_two_modalities_have_their_own_items():
    study = simulate_answers(np.random.default_rng(5), readers=3, items=6, modalities=2)
    assert set(study.item[study.modality == "M0"]).isdisjoint(study.item[study.modality == "M1"])


def test_roe_metz_ratings_have_the_theoretical_auc():
    ratings = simulate_ratings(
        np.random.default_rng(6), readers=40, positives=300, negatives=300, separation=1.0, categories=None
    )
    analysis = or_analysis(
        ratings.reader, ratings.modality, ratings.case, ratings.truth, ratings.rating, fom="auc"
    )
    expected = stats.norm.cdf(1.0 / np.sqrt(2 * (0.5**2 + 0.3**2 + 0.5**2)))
    assert analysis.modality_means[0] == pytest.approx(expected, abs=0.02)


def test_bad_simulation_parameters_raise():
    with pytest.raises(ValueError, match="accuracy"):
        simulate_answers(np.random.default_rng(0), readers=2, items=4, accuracy=1.0)
    with pytest.raises(ValueError, match="at least one reader"):
        simulate_answers(np.random.default_rng(0), readers=0, items=4)
    with pytest.raises(ValueError, match="standard deviations"):
        simulate_answers(np.random.default_rng(0), readers=2, items=4, case_sd=-1)


def test_or_rrrc_coverage_on_a_seeded_subset_stays_within_90_to_99_percent():
    # 300 studies of 8 readers x 60 items with reader SD 0.4 and case SD 0.6 (the benchmark's "moderate" design);
    # with 300 studies the binomial SE of a 95% coverage is 1.3 points, so 90-99% fails only for a real defect
    rng = np.random.default_rng(20261203)
    covered = [
        interval_coverage(
            simulate_answers(rng, readers=8, items=60, accuracy=0.65, reader_sd=0.4, case_sd=0.6),
            methods=("or_rrrc", "pooled_wilson"),
        )
        for _ in range(300)
    ]
    or_coverage = np.mean([c["or_rrrc"] for c in covered])
    assert 0.90 <= or_coverage <= 0.99
    # the pooled interval ignores both variances and under-covers here
    assert np.mean([c["pooled_wilson"] for c in covered]) < 0.85


def test_gee_with_a_numerically_indefinite_sandwich_gives_no_interval_instead_of_an_error():
    # found by the coverage benchmark: 4 readers x 60 items, reader SD 0.6, no case variance (its 35th study)
    from readerstats.gee import gee_accuracy

    rng = np.random.default_rng(20261203 + 6)
    for _ in range(35):
        study = simulate_answers(rng, readers=4, items=60, accuracy=0.65, reader_sd=0.6, case_sd=0.0)
    correct = study.truth == study.answer
    result = gee_accuracy(correct, study.truth, study.reader)
    assert result.accuracy is not None and result.ci_low < result.accuracy < result.ci_high
    assert result.synthetic_items_ci is None or result.real_items_ci is None
