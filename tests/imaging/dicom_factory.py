"""Small DICOM series written with pydicom for import tests."""

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid


def make_slice(
    *,
    modality="CT",
    series_uid,
    z,
    pixels,
    instance=1,
    spacing=(0.75, 0.75),
    orientation=(1, 0, 0, 0, 1, 0),
    slope=1.0,
    intercept=-1024.0,
    patient="P1",
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage if modality == "CT" else MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientID = patient
    ds.PatientName = f"TEST^{patient}"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series_uid
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [-100.0, -100.0, float(z)]
    ds.ImageOrientationPatient = list(orientation)
    ds.PixelSpacing = list(spacing)
    ds.SliceThickness = 3.0
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    if modality == "CT":
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def write_series(
    folder: Path,
    *,
    n=12,
    modality="CT",
    shape=(32, 32),
    z0=-50.0,
    dz=3.0,
    seed=0,
    patient="P1",
    reverse_files=False,
    **slice_options,
) -> tuple[list[Path], np.ndarray]:
    """Write n slices; returns the file paths (in z order) and the stored pixel stack."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    series_uid = generate_uid()
    dtype = np.uint16 if modality == "CT" else np.uint16
    stack = rng.integers(0, 3000 if modality == "CT" else 4000, size=(n, *shape)).astype(dtype)
    paths = []
    for i in range(n):
        ds = make_slice(
            modality=modality,
            series_uid=series_uid,
            z=z0 + i * dz,
            pixels=stack[i],
            instance=n - i if reverse_files else i + 1,
            patient=patient,
            **slice_options,
        )
        # File names deliberately unrelated to z order.
        path = folder / f"IMG{series_uid[-4:]}{(i * 7919) % 10007:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths, stack
