import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from metrics.paired import (
    DATA_RANGE_HU,
    MS_SSIM_WEIGHTS,
    PairedMetricsError,
    compare_slice,
    masked_ms_ssim,
    ms_ssim_scales,
    per_patient,
    ssim_map,
)


def body(size=200, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    hu = np.full((size, size), -1024.0)
    inside = ((yy - size / 2) / (size * 0.4)) ** 2 + ((xx - size / 2) / (size * 0.45)) ** 2 < 1
    hu[inside] = 40 + rng.normal(0, 30, inside.sum())
    return hu, inside


def test_mae_and_psnr_inside_the_mask_by_hand():
    real = np.zeros((4, 4))
    synthetic = real.copy()
    synthetic[0, 0] = 40  # inside
    synthetic[3, 3] = 1000  # outside: ignored
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    result = compare_slice(real, synthetic, mask=mask)
    assert result.mae == 10.0 and result.pixels == 4
    assert result.psnr == pytest.approx(10 * math.log10(4000**2 / (40**2 / 4)))


def test_psnr_over_the_whole_image_equals_scikit_images():
    real, _ = body(64)
    synthetic = real + np.random.default_rng(1).normal(0, 25, real.shape)
    result = compare_slice(real, synthetic, mask=np.ones(real.shape, bool))
    assert result.psnr == pytest.approx(peak_signal_noise_ratio(real, synthetic, data_range=DATA_RANGE_HU))


def test_the_ssim_map_equals_scikit_images():
    real, _ = body(64)
    synthetic = real * 0.9 + np.random.default_rng(2).normal(0, 40, real.shape)
    _, expected = structural_similarity(
        real,
        synthetic,
        data_range=DATA_RANGE_HU,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        full=True,
    )
    np.testing.assert_allclose(ssim_map(real, synthetic), expected, atol=1e-10)


def test_ms_ssim_of_identical_slices_is_one_and_of_two_constants_is_their_luminance_term():
    real, inside = body(200)
    assert masked_ms_ssim(real, real, inside) == pytest.approx(1.0)
    # constant images: contrast-structure is 1 at every scale, luminance (2ab + C1) / (a^2 + b^2 + C1) everywhere,
    # and MS-SSIM is the luminance to the power of the coarsest weight
    a, b = np.full((200, 200), 40.0), np.full((200, 200), 400.0)
    c1 = (0.01 * DATA_RANGE_HU) ** 2
    luminance = (2 * 40 * 400 + c1) / (40**2 + 400**2 + c1)
    assert ms_ssim_scales((200, 200)) == 5
    assert masked_ms_ssim(a, b, np.ones((200, 200), bool)) == pytest.approx(luminance ** MS_SSIM_WEIGHTS[4])


def test_small_slices_use_fewer_scales_with_renormalised_weights():
    assert ms_ssim_scales((128, 128)) == 4 and ms_ssim_scales((40, 40)) == 2 and ms_ssim_scales((16, 16)) == 1
    a, b = np.full((40, 40), 40.0), np.full((40, 40), 400.0)
    c1 = (0.01 * DATA_RANGE_HU) ** 2
    luminance = (2 * 40 * 400 + c1) / (40**2 + 400**2 + c1)
    expected = luminance ** (MS_SSIM_WEIGHTS[1] / (MS_SSIM_WEIGHTS[0] + MS_SSIM_WEIGHTS[1]))
    assert masked_ms_ssim(a, b, np.ones((40, 40), bool)) == pytest.approx(expected)


def test_noisier_synthetic_slices_score_worse_on_every_metric():
    real, _ = body(200, seed=3)
    rng = np.random.default_rng(4)
    close, far = (compare_slice(real, real + rng.normal(0, sd, real.shape)) for sd in (10, 80))
    assert close.mae < far.mae and close.psnr > far.psnr and close.ms_ssim > far.ms_ssim


def test_per_patient_pools_pixels_for_mae_and_psnr_and_averages_ms_ssim():
    real, inside = body(64, seed=5)
    rng = np.random.default_rng(6)
    slices = [compare_slice(real, real + rng.normal(0, sd, real.shape), patient="p") for sd in (10, 30)]
    slices.append(compare_slice(real, real + 5, patient="q"))
    (p, q) = per_patient(slices)
    assert p.patient == "p" and p.slices == 2 and q.slices == 1
    assert p.mae == pytest.approx((slices[0].mae + slices[1].mae) / 2)  # same mask, same pixel count
    mse = (slices[0].squared_error_sum + slices[1].squared_error_sum) / (2 * slices[0].pixels)
    assert p.psnr == pytest.approx(10 * math.log10(4000**2 / mse))
    assert p.ms_ssim == pytest.approx((slices[0].ms_ssim + slices[1].ms_ssim) / 2)
    assert q.mae == pytest.approx(5.0)


def test_slices_of_different_shapes_or_without_a_body_are_refused():
    with pytest.raises(PairedMetricsError, match="one shape"):
        compare_slice(np.zeros((8, 8)), np.zeros((8, 9)))
    with pytest.raises(PairedMetricsError, match="no body"):
        compare_slice(np.full((8, 8), -1024.0), np.zeros((8, 8)))
