"""The display pipeline: every slice, real or synthetic, comes out the same shape, dtype, range and background."""

import numpy as np
import pytest

from studies.rendering import (
    DisplayPolicy,
    body_mask,
    circle_mask,
    decode_payload,
    encode_payload,
    render_slice,
)

POLICY = DisplayPolicy(matrix_size=64, hu_min=-1024, hu_max=3071, interpolation="bilinear", mask="body")


def disc(shape=(100, 80), *, inside=40, outside=-1000, radius=0.35):
    rows, columns = shape
    y, x = np.ogrid[:rows, :columns]
    image = np.full(shape, outside, dtype=np.int16)
    image[((y - rows / 2) / rows) ** 2 + ((x - columns / 2) / columns) ** 2 <= radius**2] = inside
    return image


@pytest.mark.parametrize("shape", [(32, 32), (100, 80), (512, 512), (70, 200)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic", "area"])
def test_every_slice_comes_out_at_the_policy_matrix_as_int16(shape, interpolation):
    policy = DisplayPolicy(
        matrix_size=64, hu_min=-1024, hu_max=3071, interpolation=interpolation, mask="none"
    )
    out = render_slice(disc(shape), row_spacing_mm=0.8, column_spacing_mm=0.8, policy=policy)
    assert out.shape == (64, 64)
    assert out.dtype == np.int16
    assert len(encode_payload(out)) == 64 * 64 * 2


def test_values_are_clipped_to_the_hu_range_even_after_bicubic_overshoot():
    image = disc(inside=3000, outside=-3024)
    image[10:12, :] = 32000
    policy = DisplayPolicy(matrix_size=64, hu_min=-1000, hu_max=2000, interpolation="bicubic", mask="none")
    out = render_slice(image, row_spacing_mm=1, column_spacing_mm=1, policy=policy)
    assert out.min() >= -1000
    assert out.max() <= 2000
    assert out.max() == 2000


def test_body_mask_sets_everything_outside_the_body_to_exactly_the_background():
    rng = np.random.default_rng(0)
    image = disc().astype(np.float64)
    image += rng.normal(0, 30, size=image.shape)  # noisy air, as a scanner or a model may leave it
    out = render_slice(image.astype(np.int16), row_spacing_mm=1, column_spacing_mm=1, policy=POLICY)
    corners = np.concatenate([out[:3, :3].ravel(), out[-3:, -3:].ravel()])
    assert np.all(corners == -1024)
    assert out[32, 32] > -200  # the body itself is kept


def test_body_mask_keeps_air_inside_the_body_such_as_lungs():
    image = disc(inside=40, outside=-1024)
    image[45:55, 35:45] = -850  # a lung inside the body
    mask = body_mask(image.astype(np.float32), hu_min=-1024)
    assert mask[50, 40]
    assert not mask[0, 0]


def test_circle_mask_blanks_the_corners_only():
    out = render_slice(
        np.full((64, 64), 100, dtype=np.int16),
        row_spacing_mm=1,
        column_spacing_mm=1,
        policy=DisplayPolicy(matrix_size=64, hu_min=-1024, hu_max=3071, mask="circle"),
    )
    assert out[0, 0] == -1024
    assert out[32, 32] == 100
    assert np.all(out[~circle_mask(64)] == -1024)


def test_field_of_view_gives_the_same_physical_scale_whatever_the_pixel_spacing():
    fine = disc((200, 200), radius=0.25)  # 0.5 mm pixels: the disc is 50 mm across
    coarse = disc((100, 100), radius=0.25)  # 1.0 mm pixels: the same 50 mm disc
    policy = DisplayPolicy(matrix_size=64, hu_min=-1024, hu_max=3071, mask="none", field_of_view_mm=150)
    a = render_slice(fine, row_spacing_mm=0.5, column_spacing_mm=0.5, policy=policy)
    b = render_slice(coarse, row_spacing_mm=1.0, column_spacing_mm=1.0, policy=policy)
    assert abs(int((a > -500).sum()) - int((b > -500).sum())) <= 0.1 * int((a > -500).sum())
    assert a[0, 0] == -1024  # padding is background


def test_payload_round_trips_as_little_endian_int16():
    pixels = np.arange(-2048, 2048, dtype=np.int16).reshape(64, 64)
    payload = encode_payload(pixels)
    assert payload[:2] == (-2048).to_bytes(2, "little", signed=True)
    assert np.array_equal(decode_payload(payload, 64), pixels)


def test_a_payload_of_the_wrong_size_is_refused_with_one_line():
    with pytest.raises(ValueError, match="expected 8192"):
        decode_payload(b"\0" * 100, 64)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"matrix_size": 8}, "outside 16..2048"),
        ({"hu_min": 100, "hu_max": 100}, "is empty"),
        ({"hu_min": -40000}, "int16"),
        ({"interpolation": "lanczos9"}, "unknown interpolation"),
        ({"mask": "skin"}, "unknown mask"),
        ({"field_of_view_mm": -3}, "positive"),
    ],
)
def test_an_impossible_policy_is_refused(arguments, message):
    base = {"matrix_size": 64, "hu_min": -1024, "hu_max": 3071}
    with pytest.raises(ValueError, match=message):
        DisplayPolicy(**{**base, **arguments})


def test_a_slice_that_is_not_2d_is_refused():
    with pytest.raises(ValueError, match="2-D"):
        render_slice(np.zeros((2, 3, 4)), row_spacing_mm=1, column_spacing_mm=1, policy=POLICY)
