"""The display pipeline: every slice, real or synthetic, comes out the same shape, dtype, range and background."""

import numpy as np
import pytest
from scipy import ndimage

from studies.policy import DisplayPolicy, PolicyError, round_field_of_view
from studies.rendering import (
    body_extent,
    body_mask,
    circle_mask,
    decode_payload,
    display_geometry,
    encode_payload,
    fill_holes,
    render_slice,
)

POLICY = DisplayPolicy(
    matrix_size=64,
    hu_min=-1024,
    hu_max=3071,
    interpolation="bilinear",
    mask="body",
    field_of_view="per_slice",
)


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
        matrix_size=64,
        hu_min=-1024,
        hu_max=3071,
        interpolation=interpolation,
        mask="none",
        field_of_view_mm=90,
    )
    out = render_slice(disc(shape), row_spacing_mm=0.8, column_spacing_mm=0.8, policy=policy)
    assert out.shape == (64, 64)
    assert out.dtype == np.int16
    assert len(encode_payload(out)) == 64 * 64 * 2


def test_values_are_clipped_to_the_hu_range_even_after_bicubic_overshoot():
    image = disc(inside=3000, outside=-3024)
    image[10:12, :] = 32000
    policy = DisplayPolicy(
        matrix_size=64,
        hu_min=-1000,
        hu_max=2000,
        interpolation="bicubic",
        mask="none",
        field_of_view="per_slice",
    )
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


def test_fill_holes_equals_scipys_binary_fill_holes():
    rng = np.random.default_rng(3)
    masks = [
        rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))) < rng.random() for _ in range(400)
    ]
    ring = np.zeros((9, 9), dtype=bool)
    ring[2:7, 2:7] = True
    ring[4, 4] = False  # a hole
    diagonal = ring.copy()
    diagonal[3, 3] = diagonal[2, 2] = (
        False  # background touching the hole only through a corner... and the edge
    )
    masks += [np.zeros((5, 7), dtype=bool), np.ones((5, 7), dtype=bool), ring, diagonal, ring[:, :5]]
    for mask in masks:
        np.testing.assert_array_equal(fill_holes(mask), ndimage.binary_fill_holes(mask))
    assert fill_holes(ring)[4, 4] and not fill_holes(ring[:, :5])[4, 4]  # a hole cut open at the edge stays
    assert fill_holes(diagonal)[3, 3] and not fill_holes(diagonal)[2, 2]


def test_circle_mask_blanks_the_corners_only():
    out = render_slice(
        np.full((64, 64), 100, dtype=np.int16),
        row_spacing_mm=1,
        column_spacing_mm=1,
        policy=DisplayPolicy(
            matrix_size=64, hu_min=-1024, hu_max=3071, mask="circle", field_of_view="per_slice"
        ),
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
        ({"matrix_size": 64.5}, "whole number"),
        ({"matrix_size": True}, "whole number"),
        ({"hu_min": 100, "hu_max": 100}, "is empty"),
        ({"hu_min": -40000}, "int16"),
        ({"interpolation": "lanczos9"}, "unknown interpolation"),
        ({"mask": "skin"}, "unknown mask"),
        ({"field_of_view": "fisheye"}, "unknown field of view"),
        ({"field_of_view_mm": -3}, "positive"),
        ({"field_of_view_mm": float("nan")}, "positive"),
        ({"field_of_view_mm": "300"}, "number of mm"),
        ({"field_of_view_mm": 5000}, "1..2000 mm"),
        ({"field_of_view": "per_slice", "field_of_view_mm": 300}, "one field of view for the survey only"),
        ({"default_window_width": 0}, "window width"),
        ({"default_window_level": 9000}, "window level"),
    ],
)
def test_an_impossible_policy_is_refused(arguments, message):
    base = {"matrix_size": 64, "hu_min": -1024, "hu_max": 3071}
    with pytest.raises(PolicyError, match=message):
        DisplayPolicy(**{**base, **arguments})


@pytest.mark.parametrize(
    "data, message",
    [
        ([1, 2], "JSON object"),
        ({"matrix_size": 64, "colour": "sepia"}, "unknown display policy field"),
        ({"matrix_size": "64"}, "whole number"),
    ],
)
def test_stored_garbage_is_refused_when_read_back(data, message):
    with pytest.raises(PolicyError, match=message):
        DisplayPolicy.from_dict(data)


def test_a_policy_round_trips_through_its_stored_form_and_missing_keys_take_the_defaults():
    policy = DisplayPolicy(matrix_size=256, mask="circle", field_of_view_mm=380.0, default_window_level=60)
    assert DisplayPolicy.from_dict(policy.to_dict()) == policy
    assert DisplayPolicy.from_dict({"matrix_size": 256}) == DisplayPolicy(matrix_size=256)


def test_the_default_policy_shows_one_field_of_view_that_the_survey_chooses():
    policy = DisplayPolicy()
    assert (policy.field_of_view, policy.field_of_view_mm, policy.is_resolved) == ("survey", None, False)
    with pytest.raises(PolicyError, match="not been chosen"):
        render_slice(disc(), row_spacing_mm=1, column_spacing_mm=1, policy=policy)
    chosen = policy.replace(field_of_view_mm=380.0)
    assert chosen.is_resolved and chosen.mm_per_pixel == pytest.approx(380 / 512)


@pytest.mark.parametrize("measured, rounded", [(362.0, 370.0), (372.4, 380.0), (380.0, 380.0), (38.4, 39.0)])
def test_the_chosen_field_of_view_is_rounded_up(measured, rounded):
    assert round_field_of_view(measured) == rounded


def body(shape, *, diameter_mm, spacing, offset=(0, 0), noise=0.0, seed=0):
    """A disc of soft tissue `diameter_mm` across on noisy air, `offset` pixels from the slice's centre."""
    rows, columns = shape
    y, x = np.ogrid[:rows, :columns]
    cy, cx = (rows - 1) / 2 + offset[0], (columns - 1) / 2 + offset[1]
    image = np.full(shape, -1000.0) + np.random.default_rng(seed).normal(0, noise, shape)
    image[((y - cy) * spacing) ** 2 + ((x - cx) * spacing) ** 2 <= (diameter_mm / 2) ** 2] = 40
    return image.astype(np.int16)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic", "area"])
def test_one_field_of_view_shows_the_same_anatomy_at_the_same_size_whatever_the_source_geometry(
    interpolation,
):
    """CT at 512 px x 0.72 mm and synthetic CT at the MRI's 256 px x 1.6 or 128 px x 3.2 mm: the same 300 mm body
    comes out the same number of pixels across (to one or two pixels of resampling), centred."""
    policy = DisplayPolicy(matrix_size=512, interpolation=interpolation, field_of_view_mm=380)
    extents = []
    for shape, spacing, offset in [
        ((512, 512), 0.72, (0, 0)),
        ((256, 256), 1.6, (12, -30)),
        ((128, 128), 3.2, (5, 3)),
    ]:
        out = render_slice(
            body(shape, diameter_mm=300, spacing=spacing, offset=offset, noise=20),
            row_spacing_mm=spacing,
            column_spacing_mm=spacing,
            policy=policy,
        )
        extent = body_extent(out, hu_min=-1024)
        extents.append(extent)
        assert abs(extent.centre_row - 255.5) <= 1 and abs(extent.centre_column - 255.5) <= 1
    expected = 300 / (380 / 512)
    for extent in extents:
        assert abs(extent.rows - expected) <= 3 and abs(extent.columns - expected) <= 3


def test_each_slice_keeps_its_own_field_of_view_only_when_asked_and_then_scale_differs():
    policy = DisplayPolicy(matrix_size=512, field_of_view="per_slice")
    ct = render_slice(
        body((512, 512), diameter_mm=300, spacing=0.72),
        row_spacing_mm=0.72,
        column_spacing_mm=0.72,
        policy=policy,
    )
    mr = render_slice(
        body((256, 256), diameter_mm=300, spacing=1.7),
        row_spacing_mm=1.7,
        column_spacing_mm=1.7,
        policy=policy,
    )
    # 368.6 mm vs 435.2 mm across 512 pixels: the same body is drawn 18% smaller from the MRI's geometry.
    assert body_extent(mr, hu_min=-1024).rows < 0.9 * body_extent(ct, hu_min=-1024).rows


def test_the_geometry_says_what_the_pipeline_shows():
    image = body((256, 200), diameter_mm=200, spacing=1.5, offset=(20, 0))
    fixed = display_geometry(
        image,
        row_spacing_mm=1.5,
        column_spacing_mm=1.5,
        policy=DisplayPolicy(matrix_size=64, field_of_view_mm=400),
    )
    assert fixed.mm_per_pixel == pytest.approx(400 / 64)
    assert fixed.centre_row == pytest.approx(127.5 + 20, abs=1) and fixed.padded
    own = display_geometry(
        image,
        row_spacing_mm=1.5,
        column_spacing_mm=1.5,
        policy=DisplayPolicy(matrix_size=64, field_of_view="per_slice"),
    )
    assert own.field_of_view_mm == pytest.approx(256 * 1.5) and own.mm_per_pixel == pytest.approx(6.0)
    assert (own.centre_row, own.centre_column) == (127.5, 99.5)


def test_where_the_field_of_view_leaves_the_slice_it_is_background_and_masked_alike():
    policy = DisplayPolicy(matrix_size=64, field_of_view_mm=200, mask="none")
    out = render_slice(
        body((50, 50), diameter_mm=60, spacing=2.0, noise=30),
        row_spacing_mm=2.0,
        column_spacing_mm=2.0,
        policy=policy,
    )
    # The slice covers 100 mm of the 200 mm square: the outer quarter on each side is exactly the background.
    assert np.all(out[:12] == -1024) and np.all(out[-12:] == -1024)
    assert np.all(out[:, :12] == -1024) and np.all(out[:, -12:] == -1024)


def test_a_slice_that_is_not_2d_is_refused():
    with pytest.raises(ValueError, match="2-D"):
        render_slice(np.zeros((2, 3, 4)), row_spacing_mm=1, column_spacing_mm=1, policy=POLICY)
