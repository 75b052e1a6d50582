import io
import shutil

import numpy as np
import pydicom
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pydicom import examples
from pydicom.pixels import apply_modality_lut
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from audit.models import AuditEvent
from imaging.models import Dataset, Slice, Volume
from imaging.pixels import load_slice_pixels
from imaging.services import deidentifier
from tests.conftest import stored_files
from tests.imaging.dicom_factory import write_series


def pseudonym(identity: str) -> str:
    return deidentifier().pseudonym(identity)


pytestmark = pytest.mark.django_db


def run_import(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_images", *map(str, args), stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def volume_pixels(volume):
    return np.stack([load_slice_pixels(s.pixels) for s in volume.slices.order_by("index")])


@pytest.mark.smoke
def test_a_ct_series_imports_in_hu_sorted_inferior_to_superior(tmp_path):
    paths, stored = write_series(tmp_path / "ct", n=12, reverse_files=True, slope=1.0, intercept=-1024.0)
    code, out, _ = run_import(tmp_path / "ct", "--dataset", "CT A", "--kind", "ct", "--contrast")
    assert code == 0, out
    volume = Volume.objects.get()
    assert volume.slice_count == 12 and (volume.rows, volume.columns) == (32, 32)
    assert volume.dataset.kind == Dataset.Kind.REAL_CT and volume.dataset.contrast_enhanced is True
    pixels = volume_pixels(volume)
    assert pixels.dtype == np.int16
    expected = np.stack(
        [apply_modality_lut(pydicom.dcmread(p).pixel_array, pydicom.dcmread(p)) for p in paths]
    )
    np.testing.assert_array_equal(pixels, expected.astype(np.int16))
    z = [s.z_mm for s in volume.slices.order_by("index")]
    assert z == sorted(z) and z[0] == -50.0
    assert volume.slice_spacing_mm == pytest.approx(3.0)
    assert AuditEvent.objects.filter(verb="volume.imported", object_id=str(volume.pk)).count() == 1


def test_axial_layers_run_from_1_at_the_lowest_slice_to_10_at_the_highest(tmp_path):
    write_series(tmp_path / "ct", n=30)
    run_import(tmp_path / "ct", "--dataset", "CT", "--kind", "ct", "--no-contrast")
    layers = list(Slice.objects.order_by("index").values_list("axial_layer", flat=True))
    assert layers[0] == 1 and layers[-1] == 10
    assert layers == sorted(layers)
    assert [layers.count(k) for k in range(1, 11)] == [3] * 10


def test_hu_of_a_scanner_file_matches_pydicoms_modality_lut(tmp_path):
    source = examples.get_path("ct")  # CT_small.dcm, written outside this project
    shutil.copy(source, tmp_path / "ct_small.dcm")
    code, out, err = run_import(tmp_path, "--dataset", "scanner", "--kind", "ct", "--contrast")
    assert code == 0, err
    ds = pydicom.dcmread(source)
    np.testing.assert_array_equal(
        volume_pixels(Volume.objects.get())[0], apply_modality_lut(ds.pixel_array, ds)
    )


@pytest.mark.parametrize(
    "name",
    ["MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"],
)
def test_compressed_mr_files_decode_to_the_same_pixels_as_uncompressed(tmp_path, name):
    source = pydicom.data.get_testdata_file(name)
    shutil.copy(source, tmp_path / name)
    code, out, err = run_import(tmp_path, "--dataset", "MR", "--kind", "mr", "--modality", "t1_in")
    assert code == 0, err
    reference = pydicom.dcmread(pydicom.data.get_testdata_file("MR_small.dcm")).pixel_array
    np.testing.assert_array_equal(volume_pixels(Volume.objects.get())[0], reference.astype(np.float32))


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless])
def test_compressed_ct_series_keeps_exact_hu(tmp_path, syntax):
    paths, _ = write_series(tmp_path / "ct", n=4)
    expected = []
    for path in paths:
        ds = pydicom.dcmread(path)
        expected.append(apply_modality_lut(ds.pixel_array, ds))
        ds.compress(syntax)
        ds.save_as(path)
    assert pydicom.dcmread(paths[0]).file_meta.TransferSyntaxUID == syntax
    code, _, err = run_import(tmp_path / "ct", "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code == 0, err
    np.testing.assert_array_equal(volume_pixels(Volume.objects.get()), np.stack(expected))


@pytest.mark.smoke
def test_importing_the_same_series_twice_does_not_duplicate_it(tmp_path, media_root):
    write_series(tmp_path / "ct", n=5)
    assert run_import(tmp_path / "ct", "--dataset", "CT", "--kind", "ct", "--contrast")[0] == 0
    files_after_first = stored_files(media_root)
    code, out, _ = run_import(tmp_path / "ct", "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code == 0
    assert "already imported" in out
    assert Volume.objects.count() == 1 and Slice.objects.count() == 5
    assert stored_files(media_root) == files_after_first


def test_several_series_in_one_tree_are_grouped_by_series_uid(tmp_path):
    write_series(tmp_path / "tree" / "a", n=4, patient="A", seed=1)
    write_series(tmp_path / "tree" / "a", n=6, patient="B", seed=2, z0=10.0)  # same folder, other series
    code, out, _ = run_import(tmp_path / "tree", "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code == 0
    assert sorted(Volume.objects.values_list("patient", "slice_count")) == sorted(
        [(pseudonym("A"), 4), (pseudonym("B"), 6)]
    )


def test_chaos_layout_gives_modalities_and_patients_and_ignores_masks(tmp_path):
    root = tmp_path / "MR"
    write_series(root / "7" / "T1DUAL" / "DICOM_anon" / "InPhase", n=4, modality="MR", seed=1)
    write_series(root / "7" / "T1DUAL" / "DICOM_anon" / "OutPhase", n=4, modality="MR", seed=2)
    write_series(root / "7" / "T2SPIR" / "DICOM_anon", n=3, modality="MR", seed=3)
    (root / "7" / "T2SPIR" / "Ground").mkdir(parents=True)
    (root / "7" / "T2SPIR" / "Ground" / "mask.png").write_bytes(b"\x89PNG not really")
    code, out, err = run_import(root, "--dataset", "CHAOS MR", "--kind", "mr")
    assert code == 0, err
    # The patient named by the layout's folder, by its pseudonym.
    assert sorted(Volume.objects.values_list("patient", "modality")) == [
        (pseudonym("7"), "t1_in"),
        (pseudonym("7"), "t1_out"),
        (pseudonym("7"), "t2"),
    ]
    assert "1 ignored" in out


def test_mri_outside_the_layout_needs_a_modality(tmp_path):
    write_series(tmp_path / "mr", n=3, modality="MR")
    code, _, err = run_import(tmp_path / "mr", "--dataset", "MR", "--kind", "mr")
    assert code != 0
    assert "pass --modality" in err
    assert Volume.objects.count() == 0


def test_a_jpeg_lossless_ct_series_keeps_exact_hu(tmp_path):
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGLosslessSV1

    from tests.imaging.jpeg_lossless import encode_jpeg_lossless

    paths, stored = write_series(tmp_path / "ct", n=3, shape=(24, 20))
    for path, plane in zip(paths, stored, strict=True):
        ds = pydicom.dcmread(path)
        ds.PixelData = encapsulate([encode_jpeg_lossless(plane)])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
        ds.save_as(path)
    assert pydicom.dcmread(paths[0]).file_meta.TransferSyntaxUID == JPEGLosslessSV1
    code, _, err = run_import(tmp_path / "ct", "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code == 0, err
    np.testing.assert_array_equal(volume_pixels(Volume.objects.get()), stored.astype(np.int32) - 1024)
