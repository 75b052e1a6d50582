import numpy as np
import pytest
import scipy.stats

from imaging.phantoms.anatomy import patient_rng, phantom_anatomy
from imaging.phantoms.labels import tissue_labels
from imaging.phantoms.signal import ct_hu_from_labels
from metrics.measures.radiomics import FEATURE_COUNT
from metrics.measures.vocabulary import VOLUME_METRICS
from metrics.measures.zconsistency import (
    GRADIENT_EDGES,
    Z_STATISTICS,
    VolumeGrid,
    VolumeZProfile,
    ZConsistencyError,
    common_grid,
    compare_statistic,
    gradient_distribution_distance,
    high_frequency_fraction,
    histogram_wasserstein,
    reformat_radiomic_distance,
    resample_volume,
    volume_scores,
    volume_z_profile,
)

GRID = VolumeGrid(slice_mm=3.0, pixel_mm=6.0)


def phantom_volume(patient: int, *, slices: int = 24, matrix: int = 64, pixel_mm: float = 6.0) -> np.ndarray:
    """A phantom abdomen CT along z: the same anatomy painted at successive z (as imaging.phantoms does)."""
    rng = patient_rng(7, patient)
    anatomy = phantom_anatomy(rng)
    return np.stack(
        [
            ct_hu_from_labels(anatomy, tissue_labels(anatomy, z, matrix, pixel_mm), True, rng)
            for z in np.linspace(0.2, 0.8, slices)
        ]
    )


@pytest.fixture(scope="module")
def smooth():
    return phantom_volume(1)


def test_hand_worked_ramp_has_the_gradient_of_its_slope():
    # A block of soft tissue brightening by 6 HU per slice at 3 mm: 2 HU/mm everywhere inside the body.
    volume = np.full((6, 32, 32), -1024.0)
    for k in range(6):
        volume[k, 6:26, 6:26] = 40 + 6 * k
    profile = volume_z_profile(volume, GRID, with_reformats=False)
    assert profile.statistics["z_gradient_mean"] == pytest.approx(2.0)
    assert profile.statistics["z_gradient_p99"] == pytest.approx(2.0)
    # 5 pairs x 400 pixels, all in the bin [2, 2.5)
    assert profile.gradient_histogram.sum() == 5 * 400
    assert profile.gradient_histogram[4] == 5 * 400
    # in-plane the block is constant: the only in-plane steps are at its edges, which the body mask leaves out
    assert np.isnan(profile.statistics["z_to_inplane_ratio"]) or profile.statistics["z_to_inplane_ratio"] > 1


def test_high_frequency_fraction_of_pure_tones():
    # A slow cosine along z has no power above half Nyquist; an alternating one has all of it.
    k = np.arange(16)[:, None, None]
    inside = np.ones((5, 5), dtype=bool)
    slow = np.broadcast_to(np.cos(2 * np.pi * k / 16), (16, 5, 5))
    fast = np.broadcast_to((-1.0) ** k, (16, 5, 5))
    assert high_frequency_fraction(slow, inside) == pytest.approx(0.0, abs=1e-12)
    assert high_frequency_fraction(fast, inside) == pytest.approx(1.0)


def test_shuffled_slices_score_clearly_worse_than_the_phantom(smooth):
    shuffled = smooth[np.random.default_rng(0).permutation(len(smooth))]
    ordered = volume_z_profile(smooth, GRID, with_reformats=False).statistics
    jumbled = volume_z_profile(shuffled, GRID, with_reformats=False).statistics
    assert jumbled["z_gradient_mean"] > 1.5 * ordered["z_gradient_mean"]
    assert jumbled["z_gradient_p90"] > 1.5 * ordered["z_gradient_p90"]
    assert jumbled["z_high_frequency"] > ordered["z_high_frequency"] + 0.1
    assert jumbled["z_to_inplane_ratio"] > 1.5 * ordered["z_to_inplane_ratio"]


def test_independent_noise_per_slice_scores_worse_than_the_phantom(smooth):
    noisy = smooth + np.random.default_rng(1).normal(0, 60, smooth.shape)
    ordered = volume_z_profile(smooth, GRID, with_reformats=False).statistics
    spotted = volume_z_profile(noisy, GRID, with_reformats=False).statistics
    assert spotted["z_gradient_mean"] > ordered["z_gradient_mean"] + 10  # about 60*sqrt(2)*0.8/3 HU/mm more
    assert spotted["z_high_frequency"] > ordered["z_high_frequency"]


def test_smoothing_along_z_lowers_the_gradient_and_the_high_frequencies(smooth):
    blurred = (smooth[:-2].astype(float) + smooth[1:-1] + smooth[2:]) / 3
    sharp = volume_z_profile(smooth[1:-1], GRID, with_reformats=False).statistics
    soft = volume_z_profile(blurred, GRID, with_reformats=False).statistics
    assert soft["z_gradient_mean"] < sharp["z_gradient_mean"]
    assert soft["z_high_frequency"] < sharp["z_high_frequency"]


def test_profile_has_six_reformats_of_radiomic_features(smooth):
    profile = volume_z_profile(smooth, GRID)
    assert profile.reformat_features.shape == (6, FEATURE_COUNT)
    assert np.isfinite(profile.reformat_features).all()
    assert list(profile.statistics) == list(Z_STATISTICS)


def test_reformat_radiomics_tell_shuffled_volumes_from_ordered_ones():
    ordered = [volume_z_profile(phantom_volume(p), GRID).reformat_features for p in (1, 2, 3)]
    rng = np.random.default_rng(3)
    shuffled = [
        volume_z_profile(v[rng.permutation(len(v))], GRID).reformat_features
        for v in (phantom_volume(p) for p in (4, 5, 6))
    ]
    other_ordered = [volume_z_profile(phantom_volume(p), GRID).reformat_features for p in (4, 5, 6)]
    reference = np.concatenate(ordered)
    assert reformat_radiomic_distance(reference, np.concatenate(shuffled)) > reformat_radiomic_distance(
        reference, np.concatenate(other_ordered)
    )


def test_too_few_slices_are_refused_in_one_line():
    with pytest.raises(ZConsistencyError, match="at least 4 slices"):
        volume_z_profile(np.zeros((3, 16, 16)), GRID)


def test_compare_statistic_matches_scipy_and_hand_worked_values():
    comparison = compare_statistic("z_gradient_mean", [1.0, 2.0, 3.0], [4.0, 5.0, 6.0, float("nan")], seed=0)
    assert comparison.wasserstein == pytest.approx(3.0)
    assert comparison.wasserstein == pytest.approx(scipy.stats.wasserstein_distance([1, 2, 3], [4, 5, 6]))
    assert comparison.standardised_difference == pytest.approx(3.0)  # (5 - 2) / 1
    assert comparison.n_synthetic == 3
    assert comparison.ci_low <= comparison.wasserstein <= comparison.ci_high


def test_histogram_wasserstein_is_the_shift_between_two_spikes():
    a = np.zeros(len(GRADIENT_EDGES) - 1)
    b = a.copy()
    a[2], b[7] = 10, 3
    assert histogram_wasserstein(a, b) == pytest.approx(5 * 0.5)
    centres = (GRADIENT_EDGES[:-1] + GRADIENT_EDGES[1:]) / 2
    rng = np.random.default_rng(0)
    h1, h2 = rng.integers(0, 20, (2, len(centres)))
    assert histogram_wasserstein(h1, h2) == pytest.approx(
        scipy.stats.wasserstein_distance(centres, centres, h1, h2)
    )


def test_gradient_distribution_distance_of_a_shifted_pool_is_the_shift():
    rng = np.random.default_rng(2)
    rate = np.r_[np.linspace(50, 1, 120), np.zeros(80)]
    real = rng.poisson(rate, (8, 200))
    same = rng.poisson(rate, (8, 200))
    shifted = np.roll(real, 40, axis=1)  # 40 bins of 0.5 HU/mm further, nothing wrapped round
    value, low, high = gradient_distribution_distance(real, shifted, bootstrap=200)
    assert value == pytest.approx(20.0)
    assert 15 < low <= 20 <= high < 25  # resampled volumes differ a little on each side
    near, _, _ = gradient_distribution_distance(real, same, bootstrap=200)
    assert near < 2


def test_resample_volume_keeps_the_field_of_view_and_the_common_grid_is_the_coarsest():
    grid = common_grid([(3.0, 0.75, 0.75), (7.5, 3.0, 2.8)])
    assert grid == VolumeGrid(slice_mm=7.5, pixel_mm=3.0)
    volume = np.zeros((30, 64, 64), dtype=np.int16)
    resampled = resample_volume(volume, slice_mm=3.0, row_mm=0.75, column_mm=0.75, grid=grid)
    assert resampled.shape == (12, 16, 16)


def _profile(mean, high=0.2, seed=0):
    rng = np.random.default_rng(seed)
    statistics = dict.fromkeys(Z_STATISTICS, mean)
    statistics["z_high_frequency"] = high
    histogram = np.zeros(len(GRADIENT_EDGES) - 1)
    histogram[int(mean * 2)] = 100
    return VolumeZProfile(statistics, histogram, rng.normal(mean, 1, (6, FEATURE_COUNT)), slices=10)


def test_volume_scores_compare_the_model_and_the_held_out_half_with_the_reference_half():
    reference = [_profile(4.0, seed=1), _profile(4.0, seed=2)]
    held_out = [_profile(4.5, seed=3), _profile(4.5, seed=4)]
    synthetic = [_profile(2.0, seed=5), _profile(2.0, seed=6), _profile(2.0, seed=7)]
    scores = {s.metric: s for s in volume_scores(reference, held_out, synthetic, grid=GRID, bootstrap=50)}
    assert set(scores) == set(VOLUME_METRICS)
    gradient = scores["z_gradient_w1"]
    assert (gradient.value, gradient.baseline) == (pytest.approx(2.0), pytest.approx(0.5))
    assert gradient.normalised == pytest.approx(4.0)
    assert (gradient.n_synthetic, gradient.n_reference, gradient.n_held_out) == (3, 2, 2)
    assert gradient.detail["statistics"]["z_gradient_mean"]["real_mean"] == pytest.approx(4.25)
    assert scores["z_to_inplane_w1"].value == pytest.approx(2.0)
    assert scores["reformat_radiomic_fd"].value > scores["reformat_radiomic_fd"].baseline


def test_a_statistic_undefined_in_every_synthetic_volume_is_unavailable_and_the_others_stay():
    reference, held_out = [_profile(4.0, seed=1)], [_profile(4.0, seed=2), _profile(4.0, seed=3)]
    synthetic = [_profile(2.0, high=float("nan"), seed=4), _profile(2.0, high=float("nan"), seed=5)]
    scores = {s.metric: s for s in volume_scores(reference, held_out, synthetic, grid=GRID, bootstrap=20)}
    assert scores["z_high_frequency_w1"].value is None
    assert (
        scores["z_high_frequency_w1"].note == "unavailable: z_high_frequency: no value in the synthetic pool"
    )
    assert scores["z_gradient_w1"].value is not None
    assert "z_high_frequency" not in scores["z_gradient_w1"].detail["statistics"]
    # one reference volume has 6 reformats: enough for the Fréchet distance
    assert scores["reformat_radiomic_fd"].value is not None
