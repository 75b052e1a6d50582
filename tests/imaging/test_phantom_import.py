"""Phantoms go through the same import path as real data."""

import io

import numpy as np
import pytest
from django.core.management import call_command

from imaging.models import Dataset, Slice, Volume
from imaging.phantoms import write_phantoms
from imaging.pixels import load_slice_pixels
from imaging.services import deidentifier

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def phantom_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("phantoms")
    write_phantoms(root, patients=2, seed=5, ct_matrix=128, mr_matrix=64, ct_slices=30, mr_slices=10)
    return root


def test_phantom_ct_and_mri_import_in_the_chaos_layout(phantom_root):
    out = io.StringIO()
    call_command(
        "import_images",
        str(phantom_root / "CT"),
        "--dataset",
        "CT+",
        "--kind",
        "ct",
        "--contrast",
        stdout=out,
    )
    call_command(
        "import_images",
        str(phantom_root / "CT_noncontrast"),
        "--dataset",
        "CT-",
        "--kind",
        "ct",
        "--no-contrast",
        stdout=out,
    )
    call_command("import_images", str(phantom_root / "MR"), "--dataset", "MR", "--kind", "mr", stdout=out)
    # Patients by the pseudonyms of the layout's folder names: the same patient across datasets and modalities.
    p1, p2 = deidentifier().pseudonym("1"), deidentifier().pseudonym("2")
    assert sorted(Volume.objects.values_list("dataset__name", "patient", "modality")) == sorted([
        ("CT+", p1, "ct"), ("CT+", p2, "ct"), ("CT-", p1, "ct"), ("CT-", p2, "ct"),
        ("MR", p1, "t1_in"), ("MR", p1, "t1_out"), ("MR", p1, "t2"),
        ("MR", p2, "t1_in"), ("MR", p2, "t1_out"), ("MR", p2, "t2"),
    ])  # fmt: skip
    assert Dataset.objects.get(name="CT-").contrast_enhanced is False
    ct = Volume.objects.get(dataset__name="CT+", patient=p1)
    assert ct.slice_count == 30 and (ct.rows, ct.columns) == (128, 128)
    assert set(ct.slices.values_list("axial_layer", flat=True)) == set(range(1, 11))
    # Top slices hold lung bases (air inside the body), bottom slices do not.
    top = load_slice_pixels(ct.slices.get(index=29).pixels)
    bottom = load_slice_pixels(ct.slices.get(index=0).pixels)
    body_rows = slice(40, 100)
    assert (top[body_rows] < -700).sum() > (bottom[body_rows] < -700).sum()
    t1_in, t1_out = (
        Volume.objects.get(dataset__name="MR", patient=p1, modality=m) for m in ("t1_in", "t1_out")
    )
    z_in = list(t1_in.slices.values_list("z_mm", flat=True))
    assert z_in == list(t1_out.slices.values_list("z_mm", flat=True))
    assert load_slice_pixels(t1_in.slices.first().pixels).dtype == np.float32


@pytest.mark.smoke
def test_demo_builds_once_and_a_second_run_changes_nothing(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    options = {"patients": 1, "phantom_dir": str(tmp_path / "phantoms"), "stdout": io.StringIO()}
    call_command("demo", **options)
    counts = (Dataset.objects.count(), Volume.objects.count(), Slice.objects.count())
    assert counts[1] >= 5
    second = io.StringIO()
    call_command("demo", **{**options, "stdout": second})
    assert (Dataset.objects.count(), Volume.objects.count(), Slice.objects.count()) == counts
    assert "0 series imported" in second.getvalue()
