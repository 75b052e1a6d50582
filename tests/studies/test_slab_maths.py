"""The pure maths of slab items (studies.slabs): the grid, the room a volume has, the interpolation along z and
the reformats, against hand-worked examples."""

import numpy as np
import pytest

from studies.policy import DisplayPolicy
from studies.rendering import render_with_geometry
from studies.sampling import Candidate
from studies.slabs import (
    SlabGrid,
    SlabOutOfVolume,
    check_room,
    interpolate_along_z,
    reformat,
    render_slab,
    slab_room_gaps,
    view_geometries,
    with_room_for_slab,
    z_weights,
)


def test_a_160_mm_slab_at_2_5_mm_is_65_planes_inferior_first_centred_on_the_slice():
    grid = SlabGrid(160, 2.5)
    assert grid.slices == 65
    positions = grid.positions(100.0)
    assert positions[0] == pytest.approx(20.0)
    assert positions[32] == pytest.approx(100.0)
    assert positions[-1] == pytest.approx(180.0)
    assert np.allclose(np.diff(positions), 2.5)


def test_linear_weights_by_hand():
    # slices at z 0, 3, 6: z 1 lies a third of the way from 0 to 3; z 4.5 half way from 3 to 6; z 6 on a slice.
    lower, upper, weight = z_weights([0.0, 3.0, 6.0], [1.0, 4.5, 6.0, 0.0])
    assert lower.tolist() == [0, 1, 1, 0]
    assert upper.tolist() == [1, 2, 2, 1]
    assert weight == pytest.approx([1 / 3, 0.5, 1.0, 0.0])
    # nearest: the closer slice (z 1 -> slice 0, z 4.5 a tie -> the lower, z 6 -> slice 2)
    _, _, nearest = z_weights([0.0, 3.0, 6.0], [1.0, 4.5, 6.0], "nearest")
    assert nearest.tolist() == [0.0, 0.0, 1.0]


def test_interpolation_along_z_by_hand():
    planes = [np.full((2, 2), 0.0), np.full((2, 2), 30.0), np.full((2, 2), 90.0)]
    out = interpolate_along_z(planes, [0.0, 3.0, 6.0], [1.0, 4.5, 3.0])
    assert [float(p[0, 0]) for p in out] == pytest.approx([10.0, 60.0, 30.0])
    nearest = interpolate_along_z(planes, [0.0, 3.0, 6.0], [1.0, 5.0], "nearest")
    assert [float(p[0, 0]) for p in nearest] == [0.0, 90.0]


def test_a_slab_leaving_the_volume_or_crossing_a_gap_is_refused_in_one_line():
    z = [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    check_room(z, 6.0, SlabGrid(12, 2.0))  # 0..12: exactly the volume
    with pytest.raises(SlabOutOfVolume) as caught:
        check_room(z, 5.0, SlabGrid(12, 2.0))
    assert str(caught.value) == "a 12 mm slab around z 5 mm reaches -1..11 mm; the volume covers 0..12 mm"
    gappy = [0.0, 2.0, 4.0, 10.0, 12.0, 14.0, 16.0, 18.0]  # slices at 6 and 8 missing
    with pytest.raises(SlabOutOfVolume, match="gap of 6 mm"):
        check_room(gappy, 8.0, SlabGrid(12, 2.0))
    check_room(gappy, 14.0, SlabGrid(4, 2.0))  # far from the gap


def test_only_candidates_whose_volume_covers_the_slab_are_kept_and_gaps_are_named():
    grid = SlabGrid(12, 2.0)
    z = {"a": [float(v) for v in range(0, 40, 2)], "b": [0.0, 2.0, 4.0, 6.0]}
    real = [Candidate(i, "a", i, 1 if i < 10 else 2, float(2 * i)) for i in range(20)]
    synthetic = [Candidate(100 + i, "b", i, 1, float(2 * i)) for i in range(4)]
    room = with_room_for_slab(real, z, grid)
    assert [c.index for c in room] == list(range(3, 17))  # z 6..32: 6 mm of the volume on both sides
    assert with_room_for_slab(synthetic, z, grid) == []
    pools = {"'Real'": (real, room), "'Model'": (synthetic, [])}
    assert slab_room_gaps(pools, grid) == [
        "a slab of 12 mm needs 6 mm of its volume on each side: layer 1 has no such slice in 'Model'"
    ]


def _volume(slices=12, size=40, spacing_z=3.0):
    rng = np.random.default_rng(4)
    planes = []
    for index in range(slices):
        plane = np.full((size, size), -1000.0)
        plane[8:32, 10 + index % 3 : 30] = 40.0 + rng.normal(0, 20, (24, 20 - index % 3))
        planes.append(plane)
    return planes, [index * spacing_z for index in range(slices)]


def test_render_slab_is_the_display_pipeline_on_planes_interpolated_along_z_under_the_middle_geometry():
    planes, z = _volume()
    policy = DisplayPolicy(matrix_size=32, field_of_view_mm=40.0)
    grid = SlabGrid(12, 2.0)  # 7 planes at centre -6..+6 mm
    slab, geometry = render_slab(
        planes, z, 15.0, grid, row_spacing_mm=1.0, column_spacing_mm=1.0, policy=policy
    )
    assert slab.shape == (7, 32, 32) and slab.dtype == np.int16
    # plane 1 lies at z 11: two thirds of the way from slice 3 (z 9) to slice 4 (z 12)
    by_hand = planes[3] + (2 / 3) * (planes[4] - planes[3])
    expected, _ = render_with_geometry(
        by_hand, row_spacing_mm=1.0, column_spacing_mm=1.0, policy=policy, geometry=geometry
    )
    assert np.array_equal(slab[1], expected)
    # the middle plane is the item's own slice (z 15 = slice 5) under its own geometry
    own, own_geometry = render_with_geometry(
        planes[5], row_spacing_mm=1.0, column_spacing_mm=1.0, policy=policy
    )
    assert np.array_equal(slab[3], own) and own_geometry == geometry
    only, _ = render_slab(
        planes, z, 15.0, grid, row_spacing_mm=1.0, column_spacing_mm=1.0, policy=policy, only=[6, 1]
    )
    assert np.array_equal(only, slab[[6, 1]])
    nearest, _ = render_slab(
        planes,
        z,
        15.0,
        grid,
        row_spacing_mm=1.0,
        column_spacing_mm=1.0,
        policy=policy,
        z_interpolation="nearest",
    )
    assert not np.array_equal(nearest, slab)


def test_reformats_put_the_most_superior_plane_on_top_and_views_have_the_grid_geometry():
    slab = np.arange(3 * 4 * 5).reshape(3, 4, 5)
    assert reformat(slab, "coronal", 1).tolist() == [
        slab[2, 1].tolist(),
        slab[1, 1].tolist(),
        slab[0, 1].tolist(),
    ]
    assert reformat(slab, "sagittal", 4).tolist() == [
        slab[2, :, 4].tolist(),
        slab[1, :, 4].tolist(),
        slab[0, :, 4].tolist(),
    ]
    assert np.array_equal(reformat(slab, "axial", 2), slab[2])
    views = view_geometries(SlabGrid(160, 2.5), DisplayPolicy(matrix_size=512, field_of_view_mm=400.0))
    assert [(v.view, v.rows, v.columns, v.row_mm, v.column_mm) for v in views] == [
        ("axial", 512, 512, 0.78125, 0.78125),
        ("coronal", 65, 512, 2.5, 0.78125),
        ("sagittal", 65, 512, 2.5, 0.78125),
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"slab_thickness_mm": 24, "slab_spacing_mm": 2.0},
        {"stack_k": 2},
    ],
)
def test_a_time_limited_exposure_refuses_a_slab_or_a_stack(options):
    from studies.design import DesignError, StudyDesign

    with pytest.raises(DesignError, match="^a time-limited exposure shows one slice"):
        StudyDesign(exposure="fixed", exposure_ms=500, **options)
    assert StudyDesign(**options).exposure == "off"
