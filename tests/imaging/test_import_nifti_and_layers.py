import io

import nibabel as nib
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from imaging.models import Slice, Volume
from imaging.pixels import load_slice_pixels
from tests.imaging.dicom_factory import write_series

pytestmark = pytest.mark.django_db


def write_marked_nifti(path, *, shape=(20, 16, 10), spacing=(0.8, 0.9, 3.0)):
    """A RAS volume whose voxel (i=max, j=max) is patient right-anterior: it must appear at image top-left."""
    data = np.full(shape, -1000, np.int16)
    data[-1, -1, :] = 500  # right, anterior
    data[0, 0, :] = 100  # left, posterior
    data[..., 3] += 7  # mark one z slice
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = [-10.0, -20.0, -30.0]
    nib.save(nib.Nifti1Image(data, affine), path)
    return data


def test_a_nifti_ct_volume_imports_in_the_dicom_display_orientation(tmp_path):
    path = tmp_path / "patient07.nii.gz"
    write_marked_nifti(path)
    call_command(
        "import_images", str(path), "--dataset", "N", "--kind", "ct", "--contrast", stdout=io.StringIO()
    )
    volume = Volume.objects.get()
    # Never named after the file: without a patient named by the importer, the file is a patient of its own.
    assert volume.patient.startswith("pt-") and "patient07" not in volume.patient + volume.source_path
    assert volume.source_format == "nifti"
    assert (volume.rows, volume.columns, volume.slice_count) == (16, 20, 10)
    assert (volume.row_spacing_mm, volume.column_spacing_mm) == pytest.approx((0.9, 0.8))
    first = load_slice_pixels(volume.slices.get(index=0).pixels)
    assert first[0, 0] == 500 and first[-1, -1] == 100
    z = list(volume.slices.order_by("index").values_list("z_mm", flat=True))
    assert z == pytest.approx([-30.0 + 3.0 * k for k in range(10)])
    assert load_slice_pixels(volume.slices.get(index=3).pixels)[5, 5] == -993


def test_the_same_nifti_twice_is_not_duplicated(tmp_path):
    path = tmp_path / "v.nii"
    write_marked_nifti(path)
    for _ in range(2):
        call_command(
            "import_images", str(path), "--dataset", "N", "--kind", "ct", "--contrast", stdout=io.StringIO()
        )
    assert Volume.objects.count() == 1


def test_a_flipped_nifti_affine_gives_the_same_slices(tmp_path):
    # The same anatomy stored with the first axis flipped (LAS) must import identically.
    ras = tmp_path / "ras.nii"
    data = write_marked_nifti(ras)
    las = tmp_path / "las.nii"
    affine = np.diag([-0.8, 0.9, 3.0, 1.0])
    affine[:3, 3] = [-10.0 + 0.8 * 19, -20.0, -30.0]
    nib.save(nib.Nifti1Image(data[::-1].copy(), affine), las)
    call_command(
        "import_images", str(ras), "--dataset", "A", "--kind", "ct", "--contrast", stdout=io.StringIO()
    )
    call_command(
        "import_images", str(las), "--dataset", "B", "--kind", "ct", "--contrast", stdout=io.StringIO()
    )
    a, b = (Volume.objects.get(dataset__name=name) for name in "AB")
    for k in (0, 3, 9):
        np.testing.assert_array_equal(
            load_slice_pixels(a.slices.get(index=k).pixels), load_slice_pixels(b.slices.get(index=k).pixels)
        )


def write_layers_csv(path, rows, header="volume,layer,z_min,z_max"):
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")


def test_set_layers_replaces_the_default_layers_from_z_bounds(tmp_path):
    write_series(tmp_path / "ct", n=10, z0=0.0, dz=3.0)  # z = 0, 3, ..., 27
    call_command(
        "import_images",
        str(tmp_path / "ct"),
        "--dataset",
        "CT",
        "--kind",
        "ct",
        "--contrast",
        stdout=io.StringIO(),
    )
    volume = Volume.objects.get()
    csv_path = tmp_path / "layers.csv"
    write_layers_csv(
        csv_path, [(volume.uid, 1, 0, 5), (volume.uid, 2, 6, 14), (volume.series_key, 3, 15, 20)]
    )
    out = io.StringIO()
    call_command("set_layers", str(csv_path), stdout=out)
    layers = list(Slice.objects.order_by("index").values_list("axial_layer", flat=True))
    assert layers == [1, 1, 2, 2, 2, 3, 3, None, None, None]
    assert "7 slices layered, 3 outside every bound" in out.getvalue()
    assert AuditEvent.objects.filter(verb="volume.layers_set").count() == 1


@pytest.mark.parametrize(
    "header, rows, fragment",
    [
        ("volume,layer,zmin,zmax", [("{uid}", 1, 0, 5)], "missing column(s) z_min, z_max"),
        (None, [("{uid}", "one", 0, 5)], "line 2: layer must be an integer"),
        (None, [("{uid}", 11, 0, 5)], "layer 11 is outside 1..10"),
        (None, [("{uid}", 1, 5, 0)], "is not below z_max"),
        (None, [("{uid}", 1, 0, 10), ("{uid}", 2, 5, 15)], "overlap"),
        (None, [("{uid}", 1, 0, 5), ("{uid}", 1, 6, 9)], "given twice"),
        (None, [("no-such-volume", 1, 0, 5)], "no volume"),
        (None, [], "no rows"),
    ],
)
def test_set_layers_refuses_a_bad_csv_and_changes_nothing(tmp_path, header, rows, fragment):
    write_series(tmp_path / "ct", n=10)
    call_command(
        "import_images",
        str(tmp_path / "ct"),
        "--dataset",
        "CT",
        "--kind",
        "ct",
        "--contrast",
        stdout=io.StringIO(),
    )
    volume = Volume.objects.get()
    before = list(Slice.objects.order_by("index").values_list("axial_layer", flat=True))
    csv_path = tmp_path / "layers.csv"
    rows = [tuple(str(v).format(uid=volume.uid) for v in row) for row in rows]
    write_layers_csv(csv_path, rows, header=header or "volume,layer,z_min,z_max")
    with pytest.raises(CommandError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        call_command("set_layers", str(csv_path))
    assert list(Slice.objects.order_by("index").values_list("axial_layer", flat=True)) == before


def test_set_layers_refuses_a_binary_file(tmp_path):
    path = tmp_path / "layers.csv"
    path.write_bytes(b"\xff\xfe\x00\x00garbage\x80\x81")
    with pytest.raises(CommandError, match="not a UTF-8 CSV file"):
        call_command("set_layers", str(path))
