import itertools
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage
import scipy.stats
from skimage.feature import graycoprops

from metrics.measures import radiomics
from metrics.measures.layerwise import RADIOMIC_METRICS, radiomic_scores, score_layer, summarise_set
from metrics.measures.radiomics import (
    BIN_WIDTH_HU,
    FEATURE_COUNT,
    FEATURE_NAMES,
    GLCM_PROPERTIES,
    first_order_features,
    glcm_level_count,
    glcm_properties,
    laplacian_of_gaussian,
    masked_glcm_features,
    quantise,
    radiomic_features,
    slice_key,
    slice_mask,
    slice_radiomics,
    standardise,
)


def body_slices(n, seed, size=48, noise_hu=20.0, organ_hu=60):
    """Air around an elliptic body of fat with a soft-tissue organ and a bone, plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    body = ((yy - size / 2) / (size * 0.35)) ** 2 + ((xx - size / 2) / (size * 0.42)) ** 2 < 1
    slices = np.full((n, size, size), -1024, dtype=np.int16)
    for hu in slices:
        values = np.full((size, size), -100.0)
        cy, cx = size / 2 + rng.normal(0, 2, 2)
        values[(yy - cy) ** 2 + (xx - cx) ** 2 < (size * 0.15) ** 2] = organ_hu
        values[(yy - cy - size * 0.2) ** 2 + (xx - cx) ** 2 < (size * 0.06) ** 2] = 700
        values += rng.normal(0, noise_hu, values.shape)
        hu[body] = np.rint(values[body])
    return slices


def naive_masked_cooccurrence(levels, mask, n_levels):
    """Co-occurrence counts by a loop over pixel pairs, both inside the mask, symmetric, four directions."""
    offsets = [(0, 1), (-1, 1), (-1, 0), (-1, -1)]
    counts = np.zeros((n_levels, n_levels, len(offsets)))
    rows, columns = levels.shape
    for k, (dr, dc) in enumerate(offsets):
        for r, c in itertools.product(range(rows), range(columns)):
            r2, c2 = r + dr, c + dc
            if 0 <= r2 < rows and 0 <= c2 < columns and mask[r, c] and mask[r2, c2]:
                counts[levels[r, c], levels[r2, c2], k] += 1
                counts[levels[r2, c2], levels[r, c], k] += 1
    return counts


def test_there_are_72_named_features_first_order_and_glcm_on_the_original_and_three_log_images():
    assert FEATURE_COUNT == len(FEATURE_NAMES) == 72
    assert len(set(FEATURE_NAMES)) == FEATURE_COUNT
    for image in ("original", "log_sigma1", "log_sigma2", "log_sigma4"):
        assert f"{image}_firstorder_kurtosis" in FEATURE_NAMES
        assert f"{image}_glcm_correlation" in FEATURE_NAMES


def test_first_order_statistics_match_scipy_and_numpy():
    values = np.random.default_rng(1).gamma(2.0, 60.0, 5000) - 200
    features = dict(zip(radiomics.FIRST_ORDER, first_order_features(values, low=-1024), strict=True))
    assert features["mean"] == pytest.approx(values.mean())
    assert features["std"] == pytest.approx(values.std())
    assert features["skewness"] == pytest.approx(scipy.stats.skew(values))
    assert features["kurtosis"] == pytest.approx(scipy.stats.kurtosis(values))
    assert features["p10"] == pytest.approx(np.percentile(values, 10))
    assert features["median"] == pytest.approx(np.median(values))
    assert features["mean_absolute_deviation"] == pytest.approx(np.mean(np.abs(values - values.mean())))
    # the histogram of 25 HU bins counted from -1024, independently with np.histogram
    edges = np.arange(-1024, values.max() + 2 * BIN_WIDTH_HU, BIN_WIDTH_HU)
    p = np.histogram(values, bins=edges)[0] / values.size
    assert features["entropy"] == pytest.approx(scipy.stats.entropy(p, base=2))
    assert features["uniformity"] == pytest.approx(np.sum(p**2))


def test_a_constant_region_has_zero_spread_skewness_and_kurtosis_and_one_histogram_bin():
    features = dict(
        zip(radiomics.FIRST_ORDER, first_order_features(np.full(50, 40.0), low=-1024), strict=True)
    )
    assert features["std"] == features["skewness"] == features["kurtosis"] == 0
    assert features["entropy"] == 0 and features["uniformity"] == 1


def test_glcm_properties_equal_scikit_images_graycoprops():
    counts = np.random.default_rng(2).integers(0, 50, (12, 12, 1, 4)).astype(float)
    counts = counts + counts.transpose(1, 0, 2, 3)
    expected = [graycoprops(counts, prop).mean() for prop in GLCM_PROPERTIES]
    assert glcm_properties(counts[:, :, 0]) == pytest.approx(expected, rel=1e-12)


def test_the_glcm_counts_only_pairs_of_pixels_that_are_both_inside_the_mask():
    rng = np.random.default_rng(3)
    image = rng.normal(0, 60, (20, 20))
    mask = np.zeros((20, 20), dtype=bool)
    mask[3:17, 2:15] = True
    mask[8:10, 5:9] = False  # a hole: pairs across it must not count
    n_levels = glcm_level_count(low=-200, high=200, bin_width=BIN_WIDTH_HU)
    levels = quantise(image, mask, low=-200, high=200, bin_width=BIN_WIDTH_HU)
    assert levels[~mask].max() == 0 and levels[mask].min() >= 1 and levels.max() < n_levels
    expected_counts = naive_masked_cooccurrence(levels, mask, n_levels)[1:, 1:]
    expected = [graycoprops(expected_counts[:, :, None, :], prop).mean() for prop in GLCM_PROPERTIES]
    assert masked_glcm_features(levels, n_levels) == pytest.approx(expected, rel=1e-10)


def test_the_scale_normalised_laplacian_of_gaussian_matches_scipys_filter():
    hu = body_slices(1, seed=4, size=64)[0].astype(np.float64)
    filtered = laplacian_of_gaussian(hu, (1.0, 2.0, 4.0))
    # the FFT applies the continuous transfer function, scipy a sampled kernel: at sigma 1 pixel the Gaussian
    # still has power at the Nyquist frequency and they differ by about 2%; from sigma 2 on they agree
    for sigma, image, tolerance in zip((1.0, 2.0, 4.0), filtered, (0.03, 1e-5, 1e-5), strict=True):
        expected = sigma**2 * scipy.ndimage.gaussian_laplace(hu + 1024, sigma, mode="wrap", truncate=8)
        assert np.max(np.abs(image - expected)) < tolerance * np.max(np.abs(expected))


def test_the_features_are_computed_inside_the_body_so_the_air_around_it_does_not_matter():
    hu = body_slices(1, seed=5, size=64)[0]
    mask = slice_mask(hu)
    assert 0.3 < mask.mean() < 0.6
    wider = np.full((64, 96), -1024, dtype=np.int16)
    wider[:, 16:80] = hu
    narrow_features, wide_features = slice_radiomics(hu), slice_radiomics(wider)
    original = [i for i, name in enumerate(FEATURE_NAMES) if name.startswith("original_")]
    assert narrow_features[original] == pytest.approx(wide_features[original], rel=1e-9, abs=1e-9)


def test_a_slice_of_air_is_described_by_all_its_pixels_and_stays_finite():
    features = slice_radiomics(np.full((32, 32), -1024, dtype=np.int16))
    assert features.shape == (FEATURE_COUNT,) and np.isfinite(features).all()


def test_features_of_a_stack_do_not_depend_on_the_number_of_threads():
    slices = body_slices(6, seed=6)
    one = radiomic_features(slices, workers=1)
    assert one.shape == (6, FEATURE_COUNT)
    np.testing.assert_array_equal(one, radiomic_features(slices, workers=3))
    np.testing.assert_array_equal(one[2], slice_radiomics(slices[2]))


def test_a_cache_returns_the_same_features_and_computes_only_the_slices_it_has_not_seen(monkeypatch):
    slices = body_slices(5, seed=8)
    expected = radiomic_features(slices, workers=1)
    cache = {}
    np.testing.assert_array_equal(radiomic_features(slices[:3], workers=2, cache=cache), expected[:3])
    assert set(cache) == {slice_key(hu) for hu in slices[:3]}
    computed = []
    original = radiomics.slice_radiomics
    monkeypatch.setattr(radiomics, "slice_radiomics", lambda hu: computed.append(hu) or original(hu))
    np.testing.assert_array_equal(radiomic_features(slices, workers=2, cache=cache), expected)
    assert len(computed) == 2  # only slices 3 and 4 were new
    assert len(cache) == 5


def test_the_cache_key_is_the_pixels_shape_and_type():
    hu = body_slices(1, seed=9)[0]
    assert slice_key(hu) == slice_key(hu.copy())
    changed = hu.copy()
    changed[10, 10] += 1
    assert slice_key(changed) != slice_key(hu)
    assert slice_key(hu.astype(np.int32)) != slice_key(hu)
    assert slice_key(hu.reshape(24, 96)) != slice_key(hu)
    assert slice_key(np.asfortranarray(hu)) == slice_key(hu)  # the same pixels in another memory order


def test_smoother_slices_have_less_fine_texture():
    noisy, smooth = body_slices(4, seed=7, noise_hu=25), body_slices(4, seed=7, noise_hu=3)
    contrast = FEATURE_NAMES.index("original_glcm_contrast")
    p25, p75 = (
        FEATURE_NAMES.index("log_sigma1_firstorder_p25"),
        FEATURE_NAMES.index("log_sigma1_firstorder_p75"),
    )
    noisy_features, smooth_features = radiomic_features(noisy), radiomic_features(smooth)
    assert (smooth_features[:, contrast] < noisy_features[:, contrast]).all()
    # the interquartile range of the finest LoG image (its spread is dominated by the body's outline)
    smooth_iqr = smooth_features[:, p75] - smooth_features[:, p25]
    assert (smooth_iqr < 0.85 * (noisy_features[:, p75] - noisy_features[:, p25])).all()


def test_standardising_uses_the_reference_mean_and_spread_for_every_set():
    rng = np.random.default_rng(8)
    reference = rng.normal(5, 3, (40, 3))
    reference[:, 2] = 7.0  # constant in the reference
    other = rng.normal(6, 3, (30, 3))
    z_reference, z_other = standardise(reference, other)
    np.testing.assert_allclose(z_reference[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z_reference[:, :2].std(axis=0), 1)
    np.testing.assert_allclose(z_other[:, 0], (other[:, 0] - reference[:, 0].mean()) / reference[:, 0].std())
    np.testing.assert_allclose(z_other[:, 2], other[:, 2] - 7.0)


# --- the radiomic Fréchet distance and KID against an independent computation --------------------------------


def frechet_by_sqrtm(x, y):
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def mmd2_by_loops(x, y):
    """The unbiased MMD^2 with the cubic polynomial kernel, term by term."""
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_the_radiomic_distance_and_kid_equal_the_textbook_formulas_on_reference_z_scores():
    rng = np.random.default_rng(9)
    reference = rng.normal(0, 1, (30, 5)) * [1, 2, 3, 4, 5] + 10
    held_out = rng.normal(0, 1, (30, 5)) * [1, 2, 3, 4, 5] + 10
    synthetic = rng.normal(0.5, 1.5, (30, 5)) * [1, 2, 3, 4, 5] + 10
    scores = {
        score.metric: score
        for score in radiomic_scores(
            3, reference, held_out, synthetic, sizes=(30, 30, 30), kid_subset_size=30
        )
    }
    mean, spread = reference.mean(axis=0), reference.std(axis=0)
    z_ref, z_held, z_syn = ((features - mean) / spread for features in (reference, held_out, synthetic))
    assert scores["radiomic_fd"].value == pytest.approx(frechet_by_sqrtm(z_ref, z_syn), rel=1e-8)
    assert scores["radiomic_fd"].baseline == pytest.approx(frechet_by_sqrtm(z_ref, z_held), rel=1e-8)
    # subsets of all 30 rows hold every row, so the KID is the MMD of the whole sets
    assert scores["radiomic_kid"].value == pytest.approx(mmd2_by_loops(z_ref, z_syn), rel=1e-8)
    assert scores["radiomic_kid"].baseline == pytest.approx(mmd2_by_loops(z_ref, z_held), rel=1e-8)
    assert scores["radiomic_fd"].normalised == pytest.approx(
        scores["radiomic_fd"].value / scores["radiomic_fd"].baseline
    )
    assert scores["radiomic_fd"].detail["feature_count"] == 5


def test_a_layer_is_scored_by_radiomics_without_any_inception_features():
    reference, held_out = body_slices(10, seed=10), body_slices(10, seed=11)
    synthetic = body_slices(10, seed=12, noise_hu=4)  # over-smooth, as CycleGAN output often is
    summaries = [summarise_set([s], workers=1) for s in (reference, held_out, synthetic)]
    scores = {score.metric: score for score in score_layer(5, *summaries, features_unavailable="no weights")}
    assert scores["fid"].value is None
    for metric in RADIOMIC_METRICS:
        assert scores[metric].value is not None and scores[metric].baseline is not None
    assert scores["radiomic_fd"].normalised > 2
    expected = radiomic_scores(
        5,
        radiomic_features(reference),
        radiomic_features(held_out),
        radiomic_features(synthetic),
        sizes=(10, 10, 10),
    )
    assert scores["radiomic_fd"].value == pytest.approx(expected[0].value, rel=1e-12)


def test_without_radiomic_features_the_radiomic_metrics_say_why():
    summaries = [summarise_set([body_slices(3, seed)], radiomics=False, workers=1) for seed in (1, 2, 3)]
    scores = {score.metric: score for score in score_layer(1, *summaries)}
    for metric in RADIOMIC_METRICS:
        assert scores[metric].value is None
        assert scores[metric].note == "unavailable: no radiomic features were computed"
    assert not math.isnan(scores["kl_divergence_256"].value)
