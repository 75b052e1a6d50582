"""The 2-D spectrum Fig. 8 shows is the one the spectral score averages: its radial mean, taken here directly on
the centred full FFT, is mean_log_spectrum of the slice."""

import numpy as np
import pytest

from metrics.measures.distribution import HU_RANGE, log_magnitude_spectrum, mean_log_spectrum


@pytest.mark.parametrize("shape", [(32, 32), (31, 40)])
def test_the_radial_mean_of_the_centred_spectrum_is_the_spectral_scores_profile(shape):
    hu = np.random.default_rng(3).normal(40, 300, shape).astype(np.int16)
    spectrum = log_magnitude_spectrum(hu)
    assert spectrum.shape == shape
    rows, columns = shape
    ky = np.arange(rows) - rows // 2  # fftshift puts the zero frequency at index n // 2
    kx = np.arange(columns) - columns // 2
    radius = np.rint(np.hypot(ky[:, None], kx[None, :])).astype(int)
    by_hand = np.bincount(radius.ravel(), weights=spectrum.ravel()) / np.bincount(radius.ravel())
    assert np.allclose(by_hand, mean_log_spectrum(hu[np.newaxis]), rtol=1e-5)
    clipped = np.clip(hu, *HU_RANGE).astype(float)
    assert spectrum[rows // 2, columns // 2] == pytest.approx(np.log1p(abs(clipped.sum())))


def test_a_spectrum_needs_one_slice():
    with pytest.raises(ValueError, match="2-D"):
        log_magnitude_spectrum(np.zeros((2, 8, 8)))
