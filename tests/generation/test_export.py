"""Synthetic volumes exported as DICOM series and NIfTI, read back by the platform's own importers."""

import io
import zipfile

import numpy as np
import pydicom
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from pydicom.sr.codedict import codes
from pydicom.uid import MRImageStorage

from generation.models import GenerationJob
from generation.services import generate_now, start_generation
from generation.volume_export import export_volume
from imaging.models import Dataset, Slice, Volume
from imaging.nifti import load_nifti
from imaging.pixels import load_slice_pixels
from imaging.services import import_images
from jobs.models import JobStatus
from tests.generation.factories import make_mri_dataset, register_small, small_multimodal

pytestmark = pytest.mark.django_db

Z = [0.0, 6.0, 12.0, 18.0]


@pytest.fixture
def synthetic(media_root):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z})
    checkpoint = register_small("exported")
    job = start_generation(checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="MRI"), enqueue=False)
    job = generate_now(job, device="cpu")
    assert job.status == JobStatus.DONE
    return Volume.objects.get(dataset__kind="synthetic_ct")


def stored_hu(volume) -> np.ndarray:
    return np.stack([load_slice_pixels(s.pixels) for s in volume.slices.order_by("index")])


def test_the_dicom_series_is_derived_secondary_with_new_uids_naming_the_checkpoint(synthetic, tmp_path):
    paths, warnings = export_volume(synthetic, fmt="dicom", outdir=tmp_path)
    assert warnings == [] and len(paths) == 4
    datasets = [pydicom.dcmread(path) for path in paths]
    mri_uids = set(Slice.objects.filter(volume__modality="t1_in").values_list("sop_instance_uid", flat=True))
    synthetic_slices = list(synthetic.slices.order_by("index"))
    for ds, synthetic_slice in zip(datasets, synthetic_slices, strict=True):
        assert list(ds.ImageType[:2]) == ["DERIVED", "SECONDARY"]
        assert (
            "exported" in ds.DerivationDescription
            and synthetic_slice.synthesis.checkpoint.sha256 in ds.DerivationDescription
        )
        assert ds.SOPInstanceUID == synthetic_slice.sop_instance_uid and ds.SOPInstanceUID not in mri_uids
        assert ds.Modality == "CT" and ds.PatientID == "p1"
        (reference,) = ds.SourceImageSequence
        assert reference.ReferencedSOPInstanceUID in mri_uids
        assert np.array_equal(ds.pixel_array, load_slice_pixels(synthetic_slice.pixels))
        assert float(ds.ImagePositionPatient[2]) == synthetic_slice.z_mm
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 1
    assert datasets[0].SeriesInstanceUID not in mri_uids


def test_each_synthetic_slice_names_the_mri_slices_it_was_made_from_and_how(media_root, tmp_path):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z, ("p1", "t1_out"): Z})
    checkpoint = register_small("two", net=small_multimodal(2), inputs="t1_in,t1_out")
    job = start_generation(checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="MRI"), enqueue=False)
    generate_now(job, device="cpu")
    volume = Volume.objects.get(dataset__kind="synthetic_ct")
    paths, _ = export_volume(volume, fmt="dicom", outdir=tmp_path)
    for path, output in zip(paths, volume.slices.order_by("index"), strict=True):
        ds = pydicom.dcmread(path)
        sources = Slice.objects.in_bulk(output.synthesis.source_slice_ids)
        expected = [sources[i].sop_instance_uid for i in output.synthesis.source_slice_ids]
        assert {source.volume.modality for source in sources.values()} == {"t1_in", "t1_out"}
        assert [item.ReferencedSOPInstanceUID for item in ds.SourceImageSequence] == expected
        for item in ds.SourceImageSequence:
            assert item.ReferencedSOPClassUID == MRImageStorage
            (purpose,) = item.PurposeOfReferenceCodeSequence
            assert (purpose.CodeValue, purpose.CodingSchemeDesignator) == ("121322", "DCM")
        (code,) = ds.DerivationCodeSequence
        standard = codes.DCM.ImageProcessing
        assert (code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning) == (
            standard.value,
            standard.scheme_designator,
            standard.meaning,
        )
        assert ds.ImageType[0] == "DERIVED" and "two" in ds.DerivationDescription


def test_the_exported_dicom_series_imports_back_as_the_same_synthetic_ct(synthetic, tmp_path):
    export_volume(synthetic, fmt="dicom", outdir=tmp_path / "export")
    report = import_images(path=tmp_path / "export", dataset_name="Round trip", kind="sct", contrast=True)
    assert report.ok and len(report.imported) == 1
    back = Volume.objects.get(dataset__name="Round trip")
    assert np.array_equal(stored_hu(back), stored_hu(synthetic))
    assert list(back.slices.order_by("index").values_list("z_mm", flat=True)) == Z
    assert back.row_spacing_mm == pytest.approx(synthetic.row_spacing_mm)


def test_the_nifti_file_reads_back_with_the_same_pixels_and_positions(synthetic, tmp_path):
    (path,), warnings = export_volume(synthetic, fmt="nifti", outdir=tmp_path)
    assert path.name.endswith(".nii.gz") and warnings == []
    data = load_nifti(path, kind="sct", modality="ct", patient=synthetic.patient, source_path="exported")
    assert np.array_equal(data.pixels, stored_hu(synthetic))
    assert data.z_mm.tolist() == pytest.approx(Z)
    assert (data.row_spacing_mm, data.column_spacing_mm) == pytest.approx(
        (synthetic.row_spacing_mm, synthetic.column_spacing_mm)
    )


def test_a_nifti_of_unevenly_spaced_slices_comes_with_a_warning(media_root, tmp_path):
    make_mri_dataset("MRI", {("p1", "t1_in"): [0.0, 6.0, 12.0], ("p1", "t1_out"): [0.0, 6.0, 40.0]})
    checkpoint = register_small("two", net=small_multimodal(2), inputs="t1_in,t1_out")
    job = start_generation(checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="MRI"), enqueue=False)
    generate_now(job, device="cpu")
    volume = Volume.objects.get(dataset__kind="synthetic_ct")
    assert volume.slices.count() == 2
    _, warnings = export_volume(volume, fmt="nifti", outdir=tmp_path)
    assert warnings == []  # two slices are always evenly spaced
    make_mri_dataset(
        "MRI 2", {("p2", "t1_in"): [0.0, 6.0, 12.0, 18.0], ("p2", "t1_out"): [0.0, 6.0, 30.0, 18.0]}
    )
    job = start_generation(
        checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="MRI 2"), enqueue=False
    )
    generate_now(job, device="cpu")
    uneven = Volume.objects.get(dataset__kind="synthetic_ct", patient="p2")
    _, warnings = export_volume(uneven, fmt="nifti", outdir=tmp_path)
    assert len(warnings) == 1 and "not evenly spaced" in warnings[0]


def test_export_volume_command_writes_every_volume_of_a_dataset(synthetic, tmp_path):
    out = io.StringIO()
    call_command(
        "export_volume", str(tmp_path), "--format", "nifti", "--dataset", synthetic.dataset.name, stdout=out
    )
    assert len(list(tmp_path.glob("*.nii.gz"))) == 1
    assert "1 file(s) for 1 volume(s)" in out.getvalue()
    call_command(
        "export_volume", str(tmp_path / "d"), "--format", "dicom", "--volume", str(synthetic.uid), stdout=out
    )
    assert len(list((tmp_path / "d").rglob("*.dcm"))) == 4


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--format", "dicom", "--dataset", "nope"], "no dataset named 'nope'"),
        (["--format", "dicom", "--volume", "not-a-uid"], "no volume with uid or series key 'not-a-uid'"),
        (["--format", "dicom", "--dataset", "MRI"], "holds MRI, not CT (real or synthetic)"),
        (["--format", "png", "--dataset", "MRI"], "invalid choice: 'png'"),
        (
            ["--format", "nifti", "--dataset", "exported synthetic CT", "--patient", "zz"],
            "has no volumes of patient 'zz'",
        ),
        (["--format", "nifti"], "one of the arguments --volume --dataset is required"),
    ],
)
def test_export_volume_command_refuses_bad_arguments_in_one_line(synthetic, tmp_path, arguments, expected):
    with pytest.raises(CommandError) as raised:
        call_command("export_volume", str(tmp_path / "out"), *arguments)
    assert expected in str(raised.value) and len(str(raised.value).splitlines()) == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.*"))


@pytest.mark.parametrize(("fmt", "suffix", "count"), [("dicom", ".dcm", 4), ("nifti", ".nii.gz", 1)])
def test_the_admin_downloads_a_jobs_synthetic_ct_as_a_zip(synthetic, client, admin_user, fmt, suffix, count):
    client.force_login(admin_user)
    job = GenerationJob.objects.get()
    response = client.get(reverse("admin:generation_generationjob_export", args=[job.pk, fmt]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sum(name.endswith(suffix) for name in archive.namelist()) == count
    action = client.post(
        reverse("admin:generation_generationjob_changelist"),
        {"action": f"export_{fmt}_action", "_selected_action": [job.pk]},
    )
    assert action.status_code == 200 and action["Content-Type"] == "application/zip"


def test_an_unknown_download_format_is_not_found(synthetic, client, admin_user):
    client.force_login(admin_user)
    job = GenerationJob.objects.get()
    assert (
        client.get(reverse("admin:generation_generationjob_export", args=[job.pk, "png"])).status_code == 404
    )
