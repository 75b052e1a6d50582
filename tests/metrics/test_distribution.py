import math

import cv2
import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage

from metrics.measures import distribution
from metrics.measures.distribution import (
    HU_RANGE,
    KL_EPSILON,
    SliceStatsAccumulator,
    compare_slice_stats,
    feature_statistics,
    frechet_distance,
    histogram_correlation,
    histogram_intersection,
    hu_histogram,
    kernel_inception_distance,
    kl_divergence,
    layer_metrics,
    mean_log_spectrum,
    polynomial_mmd2_unbiased,
    slice_stats,
    spectral_score,
    tissue_histogram,
)


def random_spd(rng, dim, scale=1.0):
    a = rng.standard_normal((dim, dim))
    return scale * (a @ a.T / dim + 0.1 * np.eye(dim))


def random_hu_slices(rng, n, rows=32, columns=32, low=-1500, high=3500):
    return rng.integers(low, high, (n, rows, columns)).astype(np.int16)


def ct_like_slices(n, size=128, seed=0):
    """Body ellipse with fat rim, round organs and bones, CT-like noise, air around."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    slices = []
    for _ in range(n):
        hu = np.full((size, size), -1000.0)
        cy, cx = size / 2 + rng.normal(0, 3, 2)
        ay, ax = size * 0.35, size * 0.45
        body = ((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2
        hu[body < 1] = -100
        hu[body < 0.8] = 40
        for _ in range(4):
            oy, ox = rng.uniform(-0.4, 0.4, 2) * [ay, ax]
            radius = rng.uniform(4, 12)
            hu[(yy - cy - oy) ** 2 + (xx - cx - ox) ** 2 < radius**2] = rng.choice([60, 700, -50])
        hu += rng.normal(0, 10, hu.shape) * (body < 1)
        slices.append(np.rint(hu).astype(np.int16))
    return np.stack(slices)


# --- Frechet distance ---------------------------------------------------------------------------------------


def closed_form_commuting(mu1, eig1, mu2, eig2):
    """FD for covariances sharing eigenvectors: the matrix square root acts on the eigenvalues."""
    return float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(eig1) - np.sqrt(eig2)) ** 2))


def test_frechet_distance_of_diagonal_covariances_has_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=20), rng.normal(size=20)
    var1, var2 = rng.uniform(0.1, 4, 20), rng.uniform(0.1, 4, 20)
    expected = closed_form_commuting(mu1, var1, mu2, var2)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-12)


def test_frechet_distance_of_commuting_covariances_has_the_closed_form():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    eig1, eig2 = rng.uniform(0.01, 5, 30), rng.uniform(0.01, 5, 30)
    sigma1, sigma2 = q @ np.diag(eig1) @ q.T, q @ np.diag(eig2) @ q.T
    mu1, mu2 = rng.normal(size=30), rng.normal(size=30)
    expected = closed_form_commuting(mu1, eig1, mu2, eig2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_in_one_dimension_is_mean_and_std_difference_squared():
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx((1 - 3) ** 2 + (2 - 3) ** 2)


def test_frechet_distance_of_random_spd_pairs_matches_an_eigh_square_root_computation():
    rng = np.random.default_rng(2)
    for dim in (2, 17, 64):
        sigma1, sigma2 = random_spd(rng, dim), random_spd(rng, dim, scale=3.0)
        mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
        lam, vectors = scipy.linalg.eigh(sigma1)
        root1 = vectors @ np.diag(np.sqrt(lam)) @ vectors.T
        trace_sqrt = np.sqrt(scipy.linalg.eigvalsh(root1 @ sigma2 @ root1)).sum()
        expected = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
        assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-10)
        # and the textbook general square root, for good measure
        textbook = np.trace(scipy.linalg.sqrtm(sigma1 @ sigma2)).real
        assert trace_sqrt == pytest.approx(textbook, rel=1e-8)


def test_frechet_distance_of_rank_deficient_covariances_matches_the_nuclear_norm_of_the_features():
    # fewer samples than dimensions, as per axial layer: tr sqrt(S1 S2) = |A B^T|_* for S1 = A^T A, S2 = B^T B
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 100)), 1.3 * rng.standard_normal((55, 100)) + 0.2
    a = (x - x.mean(0)) / math.sqrt(len(x) - 1)
    b = (y - y.mean(0)) / math.sqrt(len(y) - 1)
    nuclear = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    expected = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.sum(a * a) + np.sum(b * b) - 2 * nuclear
    assert frechet_distance(*feature_statistics(x), *feature_statistics(y)) == pytest.approx(
        expected, rel=1e-9
    )


@pytest.mark.parametrize("n_samples", [30, 500])
def test_frechet_distance_of_a_feature_set_with_itself_is_zero(n_samples):
    features = np.random.default_rng(4).standard_normal((n_samples, 64)) * 3 + 1
    mu, sigma = feature_statistics(features)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9 * np.trace(sigma)


def test_frechet_distance_is_positive_for_different_feature_sets():
    rng = np.random.default_rng(5)
    same = frechet_distance(
        *feature_statistics(rng.normal(size=(400, 8))), *feature_statistics(rng.normal(size=(400, 8)))
    )
    shifted = frechet_distance(
        *feature_statistics(rng.normal(size=(400, 8))),
        *feature_statistics(rng.normal(1.0, 1.0, size=(400, 8))),
    )
    assert 0 < same < 1 < shifted


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_feature_statistics_are_the_mean_and_unbiased_covariance():
    features = np.random.default_rng(6).normal(size=(50, 5))
    mu, sigma = feature_statistics(features)
    np.testing.assert_allclose(mu, features.mean(0))
    np.testing.assert_allclose(sigma, np.cov(features.T, ddof=1))
    with pytest.raises(ValueError, match="n >= 2"):
        feature_statistics(features[:1])


# --- KID --------------------------------------------------------------------------------------------------------


def mmd2_unbiased_by_loops(x, y):
    d = x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_polynomial_mmd2_matches_a_direct_double_loop():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(7, 4)), rng.normal(0.5, 1.2, size=(9, 4))
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(mmd2_unbiased_by_loops(x, y), rel=1e-12)


def test_kid_of_whole_sets_is_the_unbiased_mmd_with_zero_spread():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(12, 6)), rng.normal(0.3, 1.0, size=(12, 6))
    result = kernel_inception_distance(x, y, subsets=5, subset_size=1000)
    assert result.subset_size == 12
    assert result.mean == pytest.approx(mmd2_unbiased_by_loops(x, y), rel=1e-12)
    assert result.std == pytest.approx(0.0, abs=1e-15)


def test_kid_averages_to_zero_for_two_samples_of_one_distribution():
    rng = np.random.default_rng(9)
    unbiased, biased = [], []
    for _ in range(300):
        x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
        unbiased.append(kernel_inception_distance(x, y, subsets=1).mean)
        # the plug-in (V-statistic) estimate keeps the diagonal and is biased upwards
        k_xx, k_yy, k_xy = ((a @ b.T / 8 + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        biased.append(k_xx.mean() + k_yy.mean() - 2 * k_xy.mean())
    unbiased, biased = np.array(unbiased), np.array(biased)
    standard_error = unbiased.std(ddof=1) / math.sqrt(len(unbiased))
    assert abs(unbiased.mean()) < 3 * standard_error
    assert (unbiased < 0).any()
    assert biased.mean() > 10 * standard_error


def test_kid_separates_shifted_distributions():
    rng = np.random.default_rng(10)
    same = kernel_inception_distance(
        rng.normal(size=(200, 16)), rng.normal(size=(200, 16)), subsets=20, subset_size=100
    )
    shifted = kernel_inception_distance(
        rng.normal(size=(200, 16)), rng.normal(0.5, 1.0, size=(200, 16)), subsets=20, subset_size=100
    )
    assert shifted.mean > 10 * abs(same.mean)
    assert shifted.std > 0


def test_kid_is_the_same_with_and_without_whole_set_kernels(monkeypatch):
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(60, 10)), rng.normal(0.2, 1.0, size=(70, 10))
    cached = kernel_inception_distance(x, y, subsets=7, subset_size=25, seed=3)
    monkeypatch.setattr(distribution, "KID_KERNEL_ENTRIES", 0)
    direct = kernel_inception_distance(x, y, subsets=7, subset_size=25, seed=3)
    assert cached.mean == pytest.approx(direct.mean, rel=1e-12)
    assert cached.std == pytest.approx(direct.std, rel=1e-10)


def test_kid_default_gamma_is_one_over_the_dimension():
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(10, 5)), rng.normal(size=(10, 5))
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(polynomial_mmd2_unbiased(x, y, gamma=0.2))
    assert polynomial_mmd2_unbiased(x, y) != pytest.approx(polynomial_mmd2_unbiased(x, y, gamma=1.0))


# --- Histograms --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [256, 100, 3])
def test_hu_histogram_matches_numpy_on_clipped_values_normalised_per_slice(bins):
    slices = random_hu_slices(np.random.default_rng(13), 5)
    low, high = HU_RANGE
    expected = np.mean(
        [np.histogram(np.clip(s, low, high), bins=bins, range=(low, high + 1))[0] / s.size for s in slices],
        axis=0,
    )
    np.testing.assert_allclose(hu_histogram(slices, bins=bins), expected, rtol=0, atol=1e-12)


def test_hu_histogram_weighs_each_slice_equally_whatever_its_size():
    air = np.full((1, 64, 64), -1024, np.int16)
    bone = np.full((1, 16, 16), 3071, np.int16)
    histogram = hu_histogram([air, bone])
    assert histogram[0] == pytest.approx(0.5)
    assert histogram[-1] == pytest.approx(0.5)
    assert histogram.sum() == pytest.approx(1.0)


def test_hu_histogram_rounds_float_hu_and_clips_out_of_range_values():
    slices = np.array([[[-5000.0, -1023.6, 15.4, 16.0], [5000.0, 3070.7, 0.2, -0.4]]])
    histogram = hu_histogram(slices, bins=4096)
    expected = np.zeros(4096)
    for hu, pixels in ((-1024, 2), (15, 1), (16, 1), (3071, 2), (0, 2)):
        expected[hu + 1024] += pixels / 8
    np.testing.assert_allclose(histogram, expected)


def test_tissue_histogram_splits_at_minus_200_and_300_hu():
    hu = np.array([[[-3000, -201, -200, 299], [300, 5000, 40, -1024]]], dtype=np.int16)
    np.testing.assert_allclose(tissue_histogram(hu), [3 / 8, 3 / 8, 2 / 8])


def test_kl_divergence_is_real_versus_synthetic_in_nats():
    real, synthetic = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert kl_divergence(real, synthetic) == pytest.approx(expected, rel=1e-8)
    assert kl_divergence(synthetic, real) != pytest.approx(expected, rel=1e-3)
    assert kl_divergence(2 * real, 7 * synthetic) == pytest.approx(expected, rel=1e-8)
    assert kl_divergence(real, real) == 0.0


def test_kl_divergence_of_an_empty_synthetic_bin_is_large_but_finite():
    divergence = kl_divergence([1.0, 0.0], [0.0, 1.0])
    assert divergence == pytest.approx(-math.log(KL_EPSILON), rel=1e-6)


def test_kl_divergence_rejects_negative_or_empty_histograms():
    with pytest.raises(ValueError):
        kl_divergence([1.0, -0.1], [0.5, 0.5])
    with pytest.raises(ValueError):
        kl_divergence([0.0, 0.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="same number of bins"):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])


def histogram_pairs():
    rng = np.random.default_rng(14)
    real, synthetic = random_hu_slices(rng, 4), random_hu_slices(rng, 4, low=-1024, high=500)
    yield hu_histogram(real), hu_histogram(synthetic)
    yield tissue_histogram(real), tissue_histogram(synthetic)
    yield rng.random(256), rng.random(256) * 5
    yield np.full(16, 1 / 16), rng.random(16)  # a constant histogram: OpenCV answers 1.0


@pytest.mark.parametrize("pair", list(histogram_pairs()))
def test_histogram_correlation_and_intersection_are_opencv_compare_hist(pair):
    h1, h2 = (h.astype(np.float32) for h in pair)
    assert histogram_correlation(h1, h2) == pytest.approx(
        cv2.compareHist(h1, h2, cv2.HISTCMP_CORREL), abs=1e-7
    )
    assert histogram_intersection(h1, h2) == pytest.approx(
        cv2.compareHist(h1, h2, cv2.HISTCMP_INTERSECT), rel=1e-6
    )


def test_histogram_comparison_of_identical_normalised_histograms_is_perfect():
    histogram = hu_histogram(random_hu_slices(np.random.default_rng(15), 3))
    assert histogram_correlation(histogram, histogram) == pytest.approx(1.0)
    assert histogram_intersection(histogram, histogram) == pytest.approx(1.0)


# --- Spectrum ----------------------------------------------------------------------------------------------------


def mean_log_spectrum_by_fftshift(slices):
    """Independent computation on the full centred spectrum, one mask per radius."""
    low, high = HU_RANGE
    rows, columns = slices.shape[1:]
    yy, xx = np.mgrid[:rows, :columns]
    radius = np.rint(np.hypot(yy - rows // 2, xx - columns // 2)).astype(int)
    profiles = []
    for hu_slice in slices:
        centred = np.fft.fftshift(np.fft.fft2(np.clip(hu_slice, low, high).astype(np.float64)))
        log_magnitude = np.log1p(np.abs(centred))
        profiles.append([log_magnitude[radius == r].mean() for r in range(radius.max() + 1)])
    return np.mean(profiles, axis=0)


@pytest.mark.parametrize("shape", [(8, 8), (7, 9), (16, 10), (5, 12), (1, 6)])
def test_mean_log_spectrum_matches_the_full_centred_spectrum(shape):
    slices = random_hu_slices(np.random.default_rng(16), 3, *shape)
    np.testing.assert_allclose(mean_log_spectrum(slices), mean_log_spectrum_by_fftshift(slices), rtol=1e-5)


def test_radial_average_of_a_gaussian_follows_its_known_fourier_transform():
    # a Gaussian of sigma s pixels has |F(k)| = peak 2 pi s^2 exp(-|k|^2 / (2 sf^2)), sf = N / (2 pi s);
    # the profile averages log(1 + |F|) over the frequencies whose radius rounds to each bin
    size, s, peak = 128, 2.0, 3000.0
    yy, xx = np.mgrid[:size, :size] - size // 2
    hu = np.rint(peak * np.exp(-(yy**2 + xx**2) / (2 * s**2))).astype(np.int16)
    spectrum_sigma = size / (2 * math.pi * s)
    radius = np.hypot(yy, xx)
    known = np.log1p(peak * 2 * math.pi * s**2 * np.exp(-(radius**2) / (2 * spectrum_sigma**2)))
    expected = [known[np.rint(radius) == k].mean() for k in range(21)]
    np.testing.assert_allclose(mean_log_spectrum(hu[None])[:21], expected, atol=1e-3)
    # bins are centred on whole radii: bin k is not the mean over [k, k + 1)
    floored = [known[np.floor(radius) == k].mean() for k in range(21)]
    assert np.abs(mean_log_spectrum(hu[None])[:21] - floored).max() > 0.05


def test_spectral_score_of_identical_sets_is_one():
    slices = ct_like_slices(4)
    assert spectral_score(slices, slices.copy()) == pytest.approx(1.0, abs=1e-12)


def test_spectral_score_drops_for_blurred_slices_more_than_for_mild_noise_or_another_sample():
    real = ct_like_slices(8, seed=0)
    rng = np.random.default_rng(17)
    mildly_noisy = np.rint(real + rng.normal(0, 5, real.shape)).astype(np.int16)
    blurred = np.stack([np.rint(scipy.ndimage.gaussian_filter(s.astype(float), 1.0)) for s in real]).astype(
        np.int16
    )
    another_sample = ct_like_slices(8, seed=5)

    noisy_score = spectral_score(real, mildly_noisy)
    blurred_score = spectral_score(real, blurred)
    assert noisy_score > 0.999
    assert spectral_score(real, another_sample) > 0.99
    assert blurred_score < 0.95
    assert blurred_score < spectral_score(real, another_sample)


def test_spectral_score_refuses_slices_of_different_sizes():
    rng = np.random.default_rng(18)
    with pytest.raises(ValueError, match="resample"):
        spectral_score(random_hu_slices(rng, 2, 16, 16), random_hu_slices(rng, 2, 32, 32))


# --- One pass over the data ----------------------------------------------------------------------------------------


def test_streamed_chunks_give_the_statistics_of_the_whole_array():
    slices = random_hu_slices(np.random.default_rng(19), 40, 24, 20)
    whole = slice_stats(slices, workers=1)
    accumulator = SliceStatsAccumulator(workers=2, chunk_slices=16)
    for start, stop in ((0, 1), (1, 6), (6, 23), (23, 40)):
        accumulator.add(slices[start:stop])
    streamed = accumulator.result()
    assert streamed.n_slices == 40
    np.testing.assert_allclose(streamed.hu_value_histogram, whole.hu_value_histogram, rtol=1e-12)
    np.testing.assert_allclose(streamed.log_spectrum, whole.log_spectrum, rtol=1e-6)


def test_layer_metrics_reads_generators_once_and_matches_the_separate_metrics():
    rng = np.random.default_rng(20)
    real = random_hu_slices(rng, 30, 32, 32)
    synthetic = random_hu_slices(rng, 20, 32, 32, low=-1100, high=1500)
    reads = []

    def chunks(slices):
        for start in range(0, len(slices), 7):
            reads.append(start)
            yield slices[start : start + 7]

    metrics = layer_metrics(chunks(real), chunks(synthetic))
    assert len(reads) == math.ceil(30 / 7) + math.ceil(20 / 7)
    assert metrics["n_real"] == 30 and metrics["n_synthetic"] == 20
    assert metrics["kl_divergence_256"] == pytest.approx(
        kl_divergence(hu_histogram(real), hu_histogram(synthetic))
    )
    assert metrics["kl_divergence_3"] == pytest.approx(
        kl_divergence(tissue_histogram(real), tissue_histogram(synthetic))
    )
    assert metrics["histogram_correlation"] == pytest.approx(
        histogram_correlation(hu_histogram(real), hu_histogram(synthetic))
    )
    assert metrics["histogram_intersection"] == pytest.approx(
        histogram_intersection(hu_histogram(real), hu_histogram(synthetic))
    )
    assert metrics["spectral_score"] == pytest.approx(spectral_score(real, synthetic))


def test_accumulator_refuses_a_slice_size_that_would_mix_spectra():
    accumulator = SliceStatsAccumulator()
    accumulator.add(np.zeros((2, 16, 16), np.int16))
    with pytest.raises(ValueError, match="cannot join"):
        accumulator.add(np.zeros((2, 16, 17), np.int16))


def test_accumulator_without_slices_has_no_result():
    with pytest.raises(ValueError, match="no slices"):
        SliceStatsAccumulator().result()


@pytest.mark.parametrize("hu_range", [(100, 100), (-40000, 0), (-1024.5, 3071)])
def test_accumulator_rejects_an_invalid_hu_range(hu_range):
    with pytest.raises(ValueError, match="hu_range"):
        SliceStatsAccumulator(hu_range)


def test_compare_slice_stats_refuses_different_hu_ranges():
    slices = random_hu_slices(np.random.default_rng(21), 2)
    with pytest.raises(ValueError, match="hu_range differs"):
        compare_slice_stats(slice_stats(slices), slice_stats(slices, (-1000, 2000)))
