import numpy as np
import pytest
import torch

from generation.preprocessing import (
    hu_to_tanh,
    normalisation_rule,
    normalise_volume,
    parse_hu_range,
    resize_batch,
    tanh_to_hu,
)


def test_percentile_rule_maps_the_volume_percentiles_to_minus_one_and_one_and_clips():
    volume = np.arange(1000, dtype=np.float32).reshape(10, 10, 10)
    low, high = np.percentile(volume, [0.5, 99.5])
    normalised = normalise_volume(volume, "percentile_0_5_99_5")
    assert normalised.dtype == np.float32
    flat = normalised.ravel()
    assert flat[0] == -1.0 and flat[-1] == 1.0  # 0 and 999 lie outside the percentiles: clipped
    middle = 500
    assert flat[middle] == pytest.approx((middle - low) / (high - low) * 2 - 1, abs=1e-6)


def test_normalisation_uses_one_scale_for_every_slice_of_a_volume():
    volume = np.stack([np.full((4, 4), 100.0), np.full((4, 4), 300.0)]).astype(np.float32)
    normalised = normalise_volume(volume, "min_max")
    assert normalised[0].max() == -1.0 and normalised[1].min() == 1.0


def test_a_blank_volume_normalises_to_minus_one_instead_of_dividing_by_zero():
    assert (normalise_volume(np.full((2, 3, 3), 7.0), "percentile_1_99") == -1.0).all()


def test_a_volume_with_nan_is_refused():
    volume = np.ones((2, 3, 3), dtype=np.float32)
    volume[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        normalise_volume(volume, "min_max")


def test_an_unknown_rule_is_refused_in_one_line_listing_the_known_ones():
    with pytest.raises(ValueError) as raised:
        normalisation_rule("zscore")
    assert "\n" not in str(raised.value)
    assert "percentile_0_5_99_5" in str(raised.value)


def test_tanh_output_maps_linearly_to_the_declared_hu_range_as_int16():
    output = torch.tensor([-1.0, 1.0, 0.0, -2.0, 2.0, 0.5])
    hu = tanh_to_hu(output, -1000, 1000)
    assert hu.dtype == torch.int16
    assert hu.tolist() == [-1000, 1000, 0, -1000, 1000, 500]
    assert tanh_to_hu(torch.tensor([-1.0, 1.0]), -1024, 3071).tolist() == [-1024, 3071]


def test_hu_to_tanh_is_the_inverse_of_tanh_to_hu_within_half_a_hu():
    hu = np.array([-1024, -500, 0, 40, 1200, 3071], dtype=np.int16)
    back = tanh_to_hu(torch.from_numpy(hu_to_tanh(hu, -1024, 3071)), -1024, 3071)
    assert back.tolist() == hu.tolist()


@pytest.mark.parametrize("text", ["abc", "1", "5,5", "3071,-1024", "-40000,0", "1,2,3", ""])
def test_a_bad_ct_range_is_refused_in_one_line(text):
    with pytest.raises(ValueError) as raised:
        parse_hu_range(text)
    assert "\n" not in str(raised.value)


def test_parse_hu_range_reads_two_integers():
    assert parse_hu_range(" -1024, 3071 ") == (-1024, 3071)


def test_resize_batch_returns_the_same_tensor_when_the_size_matches_and_resizes_otherwise():
    images = torch.rand(3, 2, 32, 32)
    assert resize_batch(images, 32) is images
    resized = resize_batch(images, 16)
    assert resized.shape == (3, 2, 16, 16)
    assert resized.mean().item() == pytest.approx(images.mean().item(), abs=0.02)
