"""Hostile files, a few KB each, that claim huge images: each is refused with one line before anything is allocated
for it, in well under 500 MB of memory (measured with /usr/bin/time -v around the real command), a worker that
meets them goes on to the next job, and the upload that brought them leaves storage."""

import gzip
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from imaging.models import ImportJob, Volume
from jobs.models import JobStatus
from tests.imaging.dicom_factory import write_series
from tests.waiting import finished_job

ROOT = Path(__file__).resolve().parents[2]
PEAK_LIMIT_KB = 500 * 1024

pytestmark = pytest.mark.django_db(transaction=True)


def write_huge_claiming_series(folder: Path, files: int = 3) -> list[Path]:
    """A CT series whose headers claim 65535 x 65535 pixels and whose pixel data are 128 bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    series = generate_uid()
    paths = []
    for index in range(files):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID = (
            "CT",
            "H",
            generate_uid(),
            series,
        )
        ds.ImagePositionPatient = [0.0, 0.0, float(index)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [1.0, 1.0]
        ds.Rows = ds.Columns = 65535
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = bytes(128)
        path = folder / f"huge{index}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_huge_claiming_nifti(path: Path) -> int:
    """A .nii.gz of a few dozen bytes whose header claims 1024 x 1024 x 768 int16 voxels; returns its size."""
    header = nib.Nifti1Header()
    header.set_data_shape((1024, 1024, 768))
    header.set_data_dtype(np.int16)
    header["vox_offset"] = 352
    raw = header.binaryblock + b"\x00" * 4
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    return path.stat().st_size


def run_import_measured(path: Path, *arguments: str, **environment: str) -> tuple[int, str, int]:
    """Run the real import command in a process of its own under /usr/bin/time -v: exit status, its output
    (stdout and stderr) and its peak resident memory in KB."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        f"/{database['NAME']}",
        **environment,
    }
    result = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "manage.py", "import_images", str(path), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    output = result.stdout + result.stderr.split("\tCommand being timed")[0]
    return result.returncode, output, peak


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the command's own process reads the test database"
)
def test_a_series_claiming_65535_square_slices_is_refused_in_one_line_per_file(tmp_path):
    write_huge_claiming_series(tmp_path / "huge")
    for environment in ({}, {"IMPORT_MAX_MATRIX": "65535"}):  # the cap, then the bytes present
        code, output, peak = run_import_measured(
            tmp_path / "huge", "--dataset", "Hostile", "--kind", "ct", "--no-contrast", **environment
        )
        assert code == 2, output
        assert "Traceback" not in output and "MemoryError" not in output
        rejected = [line for line in output.splitlines() if line.startswith("rejected")]
        assert len(rejected) == 3, output
        reason = "over the cap of 4096x4096" if not environment else "pixel data holds 128 bytes"
        assert all(reason in line for line in rejected), rejected
        assert peak < PEAK_LIMIT_KB, f"peak {peak} KB"
    assert Volume.objects.count() == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the command's own process reads the test database"
)
def test_a_tiny_nifti_claiming_a_huge_volume_is_refused_before_its_data_are_read(tmp_path):
    path = tmp_path / "bomb.nii.gz"
    assert write_huge_claiming_nifti(path) < 200
    for environment, reason in (
        ({}, "the header claims 1024x1024x768 voxels, over the cap"),
        ({"IMPORT_MAX_NIFTI_VOXELS": str(10**9)}, "the file holds 352"),
    ):
        code, output, peak = run_import_measured(
            path, "--dataset", "Hostile", "--kind", "ct", "--no-contrast", **environment
        )
        assert code == 2 and reason in output, output
        assert "Traceback" not in output
        assert peak < PEAK_LIMIT_KB, f"peak {peak} KB"
    assert Volume.objects.count() == 0


def upload(client, name: str, content: bytes):
    return client.post(
        "/api/v1/import-jobs/",
        {
            "dataset": "Uploaded",
            "kind": "ct",
            "contrast": "false",
            "files": [SimpleUploadedFile(name, content)],
        },
    )


def zipped(paths: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in paths:
            archive.write(path, path.name)
    return buffer.getvalue()


def test_through_the_api_a_worker_refuses_the_series_runs_the_next_job_and_removes_the_upload(
    tmp_path, client, admin_user, celery_worker, media_root, settings
):
    # With the matrix cap lifted, the worker meets the allocation itself (25 GB for three such slices): the series
    # is refused with one line whether the allocation fails (MemoryError) or the pixel data are found short.
    settings.IMPORT_MAX_MATRIX = 65535
    client.force_login(admin_user)
    response = upload(client, "hostile.zip", zipped(write_huge_claiming_series(tmp_path / "huge")))
    assert response.status_code == 201, response.content
    hostile = finished_job(ImportJob.objects.get(pk=response.json()["id"]), timeout_s=120)
    assert hostile.status == JobStatus.DONE and hostile.volumes_imported == 0
    # One line for the series (the allocation refused) or one per file (the pixel data short).
    reasons = [error["reason"] for error in hostile.errors]
    assert len(reasons) in (1, 3) and all("\n" not in reason for reason in reasons)
    assert all("not enough memory" in r or "pixel data holds 128 bytes" in r for r in reasons), reasons
    paths, _ = write_series(tmp_path / "good", n=4)
    response = upload(client, "good.zip", zipped(paths))
    good = finished_job(ImportJob.objects.get(pk=response.json()["id"]), timeout_s=120)
    assert good.status == JobStatus.DONE and good.volumes_imported == 1, good.errors
    assert not (media_root / "uploads").exists() or not any((media_root / "uploads").rglob("*.*"))


def test_a_zip_that_unpacks_to_more_than_its_allowed_ratio_is_refused_whole(
    tmp_path, client, admin_user, jobs_inline
):
    buffer = io.BytesIO()
    paths, _ = write_series(tmp_path / "good", n=3)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, path.name)
        archive.writestr("zeros.bin", bytes(64 * 1024**2))  # 64 MB of zeros packs into ~64 KB
    client.force_login(admin_user)
    with jobs_inline():
        response = upload(client, "bomb.zip", buffer.getvalue())
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.DONE and job.volumes_imported == 0
    assert job.errors == [
        {
            "path": "file 1",
            "reason": job.errors[0]["reason"],
        }
    ]
    assert (
        "unpacks to more than" in job.errors[0]["reason"] and "IMPORT_UNPACK_RATIO" in job.errors[0]["reason"]
    )


def test_a_request_over_the_upload_limit_gets_a_one_line_413(client, admin_user, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    client.force_login(admin_user)
    response = upload(client, "big.zip", bytes(4096))
    assert response.status_code == 413
    text = response.content.decode()
    assert text.count("\n") == 1 and "request too large" in text and "UPLOAD_MAX_BYTES" in text
    assert ImportJob.objects.count() == 0
