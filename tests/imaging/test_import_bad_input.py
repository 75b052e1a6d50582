"""Every unusable file is reported with its path and a one-line reason; nothing is left behind."""

import io
import shutil

import nibabel as nib
import numpy as np
import pydicom
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pydicom.uid import generate_uid

from imaging.models import Dataset, Slice, Volume
from tests.conftest import stored_files
from tests.imaging.dicom_factory import make_slice, write_series

pytestmark = pytest.mark.django_db


def run_import(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_images", *map(str, args), stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()


def rejected_lines(err: str) -> dict[str, str]:
    lines = [line for line in err.splitlines() if line.startswith("rejected")]
    return {line.split(": ", 1)[0].removeprefix("rejected").strip(): line.split(": ", 1)[1] for line in lines}


def assert_nothing_stored(media_root):
    assert Volume.objects.count() == 0 and Slice.objects.count() == 0 and Dataset.objects.count() == 0
    assert stored_files(media_root) == []


def one_ct_file(folder, **changes):
    folder.mkdir(parents=True, exist_ok=True)
    ds = make_slice(series_uid=generate_uid(), z=0.0, pixels=np.full((16, 16), 1024, np.uint16))
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    path = folder / "one.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.smoke
@pytest.mark.parametrize(
    "make_bad, fragment",
    [
        (
            lambda d: (d / "notes.dcm").write_text("not a DICOM file at all\n") and d / "notes.dcm",
            "not a DICOM file",
        ),
        (lambda d: (d / "empty.dcm").write_bytes(b"") or d / "empty.dcm", "not a DICOM file"),
        (
            lambda d: (d / "half.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00") and d / "half.dcm",
            "truncated or empty",
        ),
        (lambda d: one_ct_file(d, Modality="MR"), "Modality is MR but --kind ct"),
        (
            lambda d: one_ct_file(d, PhotometricInterpretation="RGB"),
            "unsupported photometric interpretation RGB",
        ),
        (
            lambda d: one_ct_file(d, PhotometricInterpretation="PALETTE COLOR"),
            "photometric interpretation PALETTE",
        ),
        (lambda d: one_ct_file(d, BitsAllocated=32), "BitsAllocated 32"),
        (lambda d: one_ct_file(d, SamplesPerPixel=3), "SamplesPerPixel 3"),
        (lambda d: one_ct_file(d, NumberOfFrames=4), "multi-frame"),
        (lambda d: one_ct_file(d, PixelSpacing=[0, 0.7]), "PixelSpacing must be positive"),
    ],
    ids=[
        "text",
        "empty",
        "header-only",
        "wrong-modality",
        "rgb",
        "palette",
        "32-bit",
        "3-samples",
        "multiframe",
        "zero-spacing",
    ],
)
def test_a_bad_file_is_rejected_with_its_path_and_a_reason(tmp_path, media_root, make_bad, fragment):
    folder = tmp_path / "in"
    folder.mkdir()
    bad = make_bad(folder)
    code, out, err = run_import(folder, "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code != 0
    reasons = rejected_lines(err)
    assert list(reasons) == [str(bad)]
    assert fragment in reasons[str(bad)]
    assert "Traceback" not in out + err
    assert all("\n" not in reason for reason in reasons.values())
    assert_nothing_stored(media_root)


def test_missing_pixel_data_is_rejected(tmp_path, media_root):
    path = one_ct_file(tmp_path / "in")
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    code, _, err = run_import(tmp_path / "in", "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code != 0 and "no pixel data" in rejected_lines(err)[str(path)]
    assert_nothing_stored(media_root)


def test_truncated_pixel_data_from_outside_is_rejected(tmp_path, media_root):
    path = tmp_path / "in" / "MR_truncated.dcm"
    path.parent.mkdir()
    shutil.copy(pydicom.data.get_testdata_file("MR_truncated.dcm"), path)
    code, _, err = run_import(tmp_path / "in", "--dataset", "MR", "--kind", "mr", "--modality", "t2")
    assert code != 0 and "pixel data" in rejected_lines(err)[str(path)]
    assert_nothing_stored(media_root)


def test_colour_files_from_outside_are_rejected(tmp_path, media_root):
    for name in ("examples_rgb_color.dcm", "examples_palette.dcm"):
        shutil.copy(pydicom.data.get_testdata_file(name), tmp_path / name)
    code, _, err = run_import(tmp_path, "--dataset", "X", "--kind", "mr", "--modality", "t2")
    reasons = rejected_lines(err)
    assert code != 0 and len(reasons) == 2
    assert all("photometric interpretation" in r or "Modality" in r for r in reasons.values())
    assert_nothing_stored(media_root)


def test_one_broken_file_rejects_its_whole_series_and_leaves_nothing(tmp_path, media_root):
    paths, _ = write_series(tmp_path / "ct", n=8)
    data = paths[3].read_bytes()
    paths[3].write_bytes(data[: len(data) - 300])  # cut into the pixel data
    code, _, err = run_import(tmp_path / "ct", "--dataset", "CT", "--kind", "ct", "--contrast")
    reasons = rejected_lines(err)
    assert code != 0
    assert list(reasons) == [str(paths[3])]
    assert "other 7 file(s) of this series were not imported" in reasons[str(paths[3])]
    assert_nothing_stored(media_root)


def test_good_series_beside_a_bad_one_is_imported_and_the_exit_status_is_non_zero(tmp_path):
    write_series(tmp_path / "in" / "good", n=4)
    (tmp_path / "in" / "bad.dcm").write_text("garbage")
    code, out, err = run_import(tmp_path / "in", "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code != 0
    assert Volume.objects.count() == 1
    assert "1 series imported" in out and "1 file(s) rejected" in out


@pytest.mark.parametrize(
    "change, fragment",
    [
        (
            lambda ds, i: setattr(ds, "Rows", 8) or setattr(ds, "PixelData", b"\0" * 8 * 16 * 2),
            "inconsistent geometry",
        ),
        (
            lambda ds, i: setattr(ds, "ImageOrientationPatient", [0, 1, 0, 0, 0, -1]),
            "ImageOrientationPatient",
        ),
        (lambda ds, i: setattr(ds, "PixelSpacing", [0.5, 0.5]), "PixelSpacing differs"),
        (lambda ds, i: setattr(ds, "ImagePositionPatient", [-100, -100, 0.0]), "same position"),
        (lambda ds, i: setattr(ds, "ImagePositionPatient", [-100, -100, 40.0]), "slice spacing varies"),
    ],
    ids=["matrix", "orientation", "pixel-spacing", "duplicate-position", "gap"],
)
def test_inconsistent_geometry_inside_a_series_rejects_it(tmp_path, media_root, change, fragment):
    paths, _ = write_series(tmp_path / "ct", n=6, shape=(16, 16), z0=0.0, dz=3.0)
    ds = pydicom.dcmread(paths[-1])
    change(ds, 5)
    ds.save_as(paths[-1])
    code, _, err = run_import(tmp_path / "ct", "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code != 0
    assert fragment in err
    assert_nothing_stored(media_root)


def test_a_nifti_that_is_not_3d_is_rejected(tmp_path, media_root):
    path = tmp_path / "four_d.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4, 3), np.int16), np.eye(4)), path)
    code, _, err = run_import(path, "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code != 0 and "not 3-D" in rejected_lines(err)[str(path)]
    assert_nothing_stored(media_root)


def test_a_corrupt_nifti_is_rejected(tmp_path, media_root):
    path = tmp_path / "broken.nii.gz"
    path.write_bytes(b"\x1f\x8b\x08 definitely not gzip data")
    code, _, err = run_import(path, "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code != 0 and "not a readable NIfTI file" in rejected_lines(err)[str(path)]
    assert_nothing_stored(media_root)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--dataset", "new", "--kind", "ct"], "say --contrast or --no-contrast"),
        (["--dataset", "new", "--kind", "mr", "--contrast"], "CT only"),
        (["--dataset", " ", "--kind", "ct", "--contrast"], "dataset name is required"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, args, fragment):
    write_series(tmp_path / "ct", n=2)
    with pytest.raises(CommandError, match=fragment):
        call_command("import_images", str(tmp_path / "ct"), *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_a_missing_path_is_a_one_line_error(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_images", str(tmp_path / "nope"), "--dataset", "CT", "--kind", "ct", "--contrast")


def test_importing_ct_into_an_mri_dataset_is_refused(tmp_path):
    write_series(tmp_path / "mr", n=2, modality="MR")
    run_import(tmp_path / "mr", "--dataset", "D", "--kind", "mr", "--modality", "t2")
    write_series(tmp_path / "ct", n=2)
    with pytest.raises(CommandError, match="holds MRI, not --kind ct"):
        call_command("import_images", str(tmp_path / "ct"), "--dataset", "D", "--kind", "ct", "--contrast")


def test_a_failure_while_storing_deletes_the_pixels_already_written(tmp_path, media_root, monkeypatch):
    write_series(tmp_path / "ct", n=5)

    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Slice.objects, "bulk_create", fail)
    with pytest.raises(RuntimeError):
        call_command("import_images", str(tmp_path / "ct"), "--dataset", "CT", "--kind", "ct", "--contrast")
    assert_nothing_stored(media_root)


def test_every_ignored_file_is_named_with_why(tmp_path):
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, RTPlanStorage

    folder = tmp_path / "study"
    write_series(folder / "ct", n=3)
    plan = pydicom.Dataset()
    plan.file_meta = FileMetaDataset()
    plan.file_meta.MediaStorageSOPClassUID = RTPlanStorage
    plan.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    plan.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    plan.SOPClassUID = RTPlanStorage
    plan.SOPInstanceUID = plan.file_meta.MediaStorageSOPInstanceUID
    plan.Modality = "RTPLAN"
    plan.save_as(folder / "plan.dcm", enforce_file_format=True)
    (folder / "Thumbs.db").write_bytes(b"\x00" * 16)
    code, out, err = run_import(folder, "--dataset", "CT", "--kind", "ct", "--contrast")
    assert code == 0, err
    assert f"ignored   {folder / 'plan.dcm'}: RT Plan, no image" in out.splitlines()
    assert f"ignored   {folder / 'Thumbs.db'}: a Windows thumbnail cache, no image" in out.splitlines()
    assert "2 ignored" in out
