import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from metrics.measures.distribution import HU_RANGE
from metrics.measures.layerwise import (
    AVERAGE_LAYER,
    FEATURE_METRICS,
    LAYERS,
    METRICS,
    LayerwiseError,
    MetricScore,
    average_over_layers,
    held_out_split,
    match_shape,
    most_common_shape,
    normalise,
    plan_layers,
    score_layer,
    summarise_set,
    unavailable_scores,
)


def ct_slices(n, seed, size=32, soft_tissue_hu=40, bone_fraction=0.05):
    """Air around a soft-tissue disc with some bone pixels and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    body = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size * 0.4) ** 2
    slices = np.full((n, size, size), -1000, dtype=np.int16)
    for hu in slices:
        hu[body] = soft_tissue_hu + rng.normal(0, 20, body.sum())
        bone = body & (rng.random((size, size)) < bone_fraction)
        hu[bone] = 700
    return slices


def mean_pixel_features(chunk):
    """A small deterministic stand-in for the Inception features: a 4x4 grid of block means."""
    chunk = np.asarray(chunk, dtype=np.float64)
    n, h, w = chunk.shape
    return chunk.reshape(n, 4, h // 4, 4, w // 4).mean(axis=(2, 4)).reshape(n, 16)


def frechet_by_sqrtm(x, y):
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def averaged_histogram(slices, bins=256):
    edges = np.linspace(HU_RANGE[0], HU_RANGE[1] + 1, bins + 1)
    clipped = np.clip(slices, *HU_RANGE)
    return np.mean([np.histogram(s, bins=edges)[0] / s.size for s in clipped], axis=0)


# --- held-out split ------------------------------------------------------------------------------------------


def test_the_held_out_split_gives_two_disjoint_halves_holding_every_patient():
    patients = [f"P{index:02d}" for index in range(11)]
    reference, held_out = held_out_split(patients, seed=3)
    assert set(reference).isdisjoint(held_out)
    assert set(reference) | set(held_out) == set(patients)
    assert (len(reference), len(held_out)) == (6, 5)


def test_the_held_out_split_depends_on_the_seed_not_on_the_order_or_repeats_of_patients():
    patients = [f"P{index:02d}" for index in range(20)]
    first = held_out_split(patients, seed=7)
    assert held_out_split(list(reversed(patients)) + patients[:5], seed=7) == first
    assert held_out_split(patients, seed=8) != first


def test_the_held_out_split_refuses_a_single_patient():
    with pytest.raises(LayerwiseError, match="at least 2 real patients"):
        held_out_split(["P1", "P1"], seed=0)


# --- per-layer samples ---------------------------------------------------------------------------------------


def keys(prefix, layer, count):
    return [f"{prefix}{layer}-{index}" for index in range(count)]


def test_each_layer_draws_the_models_sample_size_from_all_three_sets():
    synthetic = {1: keys("s", 1, 5), 2: keys("s", 2, 40)}
    reference = {1: keys("r", 1, 30), 2: keys("r", 2, 30)}
    held_out = {1: keys("h", 1, 30), 2: keys("h", 2, 25)}
    plans = {plan.layer: plan for plan in plan_layers(synthetic, reference, held_out, seed=0)}
    # layer 1: the model has 5 slices; layer 2: the held-out half is the limit
    assert plans[1].sample_size == 5
    assert plans[2].sample_size == 25
    for layer in (1, 2):
        plan = plans[layer]
        for drawn, source in (
            (plan.synthetic, synthetic),
            (plan.reference, reference),
            (plan.held_out, held_out),
        ):
            assert len(drawn) == plan.sample_size
            assert len(set(drawn)) == plan.sample_size
            assert set(drawn) <= set(source[layer])
    assert plans[1].synthetic == tuple(synthetic[1])  # all of them, in order


def test_max_per_layer_caps_every_set_and_layers_without_slices_say_why():
    synthetic = {layer: keys("s", layer, 50) for layer in (1, 2)}
    reference = {layer: keys("r", layer, 50) for layer in (1, 2, 3)}
    held_out = {1: keys("h", 1, 50), 2: keys("h", 2, 1), 3: keys("h", 3, 50)}
    plans = {plan.layer: plan for plan in plan_layers(synthetic, reference, held_out, max_per_layer=8)}
    assert plans[1].sample_size == 8 and plans[1].reason is None
    assert plans[2].sample_size == 0 and "1 held-out real slice" in plans[2].reason
    assert "0 synthetic slices" in plans[3].reason
    assert plans[10].reason and plans[10].slice_count == 0
    assert [plan.layer for plan in plan_layers(synthetic, reference, held_out)] == list(LAYERS)


def test_samples_are_seeded_and_a_layers_sample_does_not_depend_on_other_layers():
    synthetic = {layer: keys("s", layer, 100) for layer in (1, 2)}
    reference = {layer: keys("r", layer, 100) for layer in (1, 2)}
    held_out = {layer: keys("h", layer, 100) for layer in (1, 2)}
    first = plan_layers(synthetic, reference, held_out, max_per_layer=10, seed=5)
    again = plan_layers(synthetic, reference, held_out, max_per_layer=10, seed=5)
    fewer = plan_layers({1: synthetic[1]}, reference, held_out, max_per_layer=10, seed=5)
    other_seed = plan_layers(synthetic, reference, held_out, max_per_layer=10, seed=6)
    assert first == again
    assert fewer[0] == first[0]
    assert other_seed[0].reference != first[0].reference


def test_a_cap_below_two_is_refused():
    with pytest.raises(LayerwiseError, match="at least 2"):
        plan_layers({}, {}, {}, max_per_layer=1)


# --- normalisation and scores --------------------------------------------------------------------------------


def test_normalised_is_the_score_divided_by_its_baseline_and_empty_without_a_positive_baseline():
    assert normalise(3.0, 1.5) == 2.0
    assert normalise(0.9, 0.95) == pytest.approx(0.9 / 0.95)
    for baseline in (0.0, -0.002, None, math.nan):
        assert normalise(1.0, baseline) is None
    assert normalise(None, 1.0) is None


def test_a_layer_scores_the_model_against_the_reference_and_the_baseline_against_the_held_out_half():
    reference = ct_slices(12, seed=1)
    held_out = ct_slices(12, seed=2)
    synthetic = ct_slices(12, seed=3, soft_tissue_hu=90, bone_fraction=0.15)
    summaries = [
        summarise_set([s[:5], s[5:]], extract_features=mean_pixel_features, workers=1)
        for s in (reference, held_out, synthetic)
    ]
    scores = {score.metric: score for score in score_layer(4, *summaries)}
    assert set(scores) == set(METRICS)
    assert all(
        score.layer == 4 and score.n_synthetic == 12 and score.n_held_out == 12 for score in scores.values()
    )

    # KL(real || synthetic) on 256 bins, independently: scipy's entropy of the averaged histograms
    p, q = averaged_histogram(reference), averaged_histogram(synthetic)
    eps = 1e-10
    expected_kl = scipy.stats.entropy((p + eps) / (p + eps).sum(), (q + eps) / (q + eps).sum())
    assert scores["kl_divergence_256"].value == pytest.approx(expected_kl, rel=1e-6)
    baseline_kl = scipy.stats.entropy(
        (p + eps) / (p + eps).sum(),
        (averaged_histogram(held_out) + eps) / (averaged_histogram(held_out) + eps).sum(),
    )
    assert scores["kl_divergence_256"].baseline == pytest.approx(baseline_kl, rel=1e-6)

    # FID on the stand-in features, against the textbook sqrtm formula
    ref_features, syn_features = mean_pixel_features(reference), mean_pixel_features(synthetic)
    assert scores["fid"].value == pytest.approx(frechet_by_sqrtm(ref_features, syn_features), rel=1e-6)
    assert scores["fid"].baseline == pytest.approx(
        frechet_by_sqrtm(ref_features, mean_pixel_features(held_out)), rel=1e-6
    )

    for score in scores.values():
        if score.baseline > 0:
            assert score.normalised == pytest.approx(score.value / score.baseline)
    # the synthetic set differs from real CT more than the two real halves differ from each other
    for metric in ("fid", "kl_divergence_256", "kl_divergence_3"):
        assert scores[metric].normalised > 1
    assert scores["histogram_intersection"].normalised < 1
    assert len(scores["spectral_score"].detail["synthetic_spectrum"]) == len(
        scores["spectral_score"].detail["reference_spectrum"]
    )


def test_a_synthetic_set_identical_to_the_held_out_half_scores_exactly_its_baseline():
    reference, held_out = ct_slices(8, seed=1), ct_slices(8, seed=2)
    summaries = [summarise_set([s], workers=1) for s in (reference, held_out, held_out.copy())]
    scores = score_layer(1, *summaries)
    for score in scores:
        if score.metric in FEATURE_METRICS:
            continue
        assert score.value == pytest.approx(score.baseline, rel=1e-12)
        assert score.normalised == pytest.approx(1.0)


def test_without_features_fid_and_kid_are_unavailable_with_the_reason_and_the_rest_is_scored():
    summaries = [summarise_set([ct_slices(4, seed)], workers=1) for seed in (1, 2, 3)]
    reason = "FID Inception weights not found at /nowhere/pt_inception.pth"
    scores = {score.metric: score for score in score_layer(2, *summaries, features_unavailable=reason)}
    for metric in FEATURE_METRICS:
        assert scores[metric].value is None and scores[metric].normalised is None
        assert scores[metric].note == f"unavailable: {reason}"
    assert all(scores[metric].value is not None for metric in METRICS if metric not in FEATURE_METRICS)


# --- averages ------------------------------------------------------------------------------------------------


def score(layer, metric, value, baseline, n=10):
    return MetricScore(layer, metric, value, baseline, normalise(value, baseline), n, n, n)


def test_the_average_row_is_the_mean_score_over_the_mean_baseline_of_the_scored_layers():
    scores = [
        score(1, "fid", 30.0, 10.0),
        score(2, "fid", 10.0, 10.0, n=4),
        score(3, "fid", 20.0, 40.0),
        *unavailable_scores(4, "layer 4 has 0 synthetic slices", metrics=("fid",)),
    ]
    (average,) = [row for row in average_over_layers(scores) if row.metric == "fid"]
    assert average.layer == AVERAGE_LAYER
    assert average.value == pytest.approx(20.0)
    assert average.baseline == pytest.approx(20.0)
    assert average.normalised == pytest.approx(1.0)  # not the mean of the ratios (3 + 1 + 0.5) / 3
    assert average.n_synthetic == 24
    assert average.detail["layers"] == [1, 2, 3]
    assert "3 layers" in average.note


def test_a_metric_unavailable_in_every_layer_is_unavailable_on_average_with_the_same_reason():
    scores = [
        row for layer in (1, 2) for row in unavailable_scores(layer, "no weights", metrics=FEATURE_METRICS)
    ]
    averages = {row.metric: row for row in average_over_layers(scores)}
    assert averages["fid"].value is None and averages["fid"].note == "unavailable: no weights"
    assert averages["spectral_score"].note == "unavailable: no layer has a score"


# --- matrices ------------------------------------------------------------------------------------------------


def test_slices_are_resampled_to_the_reference_matrix_keeping_their_hu():
    flat = np.full((64, 64), 40, dtype=np.int16)
    resampled = match_shape(flat, (32, 32))
    assert resampled.shape == (32, 32) and resampled.dtype == np.int16
    assert (resampled == 40).all()
    ramp = np.tile(np.arange(0, 640, 10, dtype=np.int16), (64, 1))
    assert match_shape(ramp, (64, 64)) is ramp
    assert match_shape(ramp, (48, 96)).shape == (48, 96)
    assert abs(float(match_shape(ramp, (32, 32)).mean()) - float(ramp.mean())) < 5


def test_the_most_common_matrix_wins_and_ties_go_to_the_larger():
    assert most_common_shape([(512, 512), (256, 256), (512, 512)]) == (512, 512)
    assert most_common_shape([(256, 256), (512, 512)]) == (512, 512)
    assert most_common_shape([]) is None
