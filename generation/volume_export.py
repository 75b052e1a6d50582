"""CT volumes of the image library (real or synthetic) as DICOM series or NIfTI files (files on disk or one zip)."""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from generation.export import ExportedVolume, dicom_slices, nifti_bytes
from generation.models import SyntheticSlice
from imaging.constants import DatasetKind
from imaging.dicom import dataset_bytes
from imaging.pixels import load_slice_pixels
from imaging.selectors import slice_uids, slices_of

if TYPE_CHECKING:
    from imaging.models import Volume

FORMATS = ("dicom", "nifti")


class ExportError(ValueError):
    """An export that cannot be made; the message is one line saying why."""


def exported_volume(volume: Volume) -> ExportedVolume:
    """A CT volume's pixels, geometry and provenance, ready for `generation.export`."""
    if not volume.dataset.is_ct:
        raise ExportError(
            f"volume {volume.uid} belongs to {volume.dataset.name!r}, which holds "
            f"{volume.dataset.get_kind_display()}, not CT (real or synthetic)"
        )
    slices = slices_of(volume)
    if not slices:
        raise ExportError(f"volume {volume.uid} has no slices yet")
    records = {
        record.output_id: record
        for record in SyntheticSlice.objects.filter(output__in=slices).select_related("checkpoint")
    }
    source_ids = {i for record in records.values() for i in record.source_slice_ids}
    source_uids = slice_uids(source_ids)
    checkpoint = next(iter(records.values())).checkpoint if records else None
    synthetic = volume.dataset.kind == DatasetKind.SYNTHETIC_CT
    if checkpoint is not None:
        derivation = (
            f"Synthetic CT generated from MRI ({', '.join(checkpoint.input_modalities)}) by CycleGAN checkpoint "
            f"{checkpoint.name} (sha256 {checkpoint.sha256}), HU range {checkpoint.hu_min}..{checkpoint.hu_max}"
        )
        description = f"Synthetic CT ({checkpoint.name})"
        software = next(iter(records.values())).software_version
    else:
        kind = "Synthetic CT" if synthetic else "CT"
        derivation = f"{kind} imported into dataset {volume.dataset.name} ({volume.source_path})"
        description = f"{kind} ({volume.dataset.name})"
        software = "blindread"
    # Only UIDs minted here for generated slices are kept; an imported file's UID names that file's content.
    generated = volume.source_format == "generated"
    return ExportedVolume(
        hu=np.stack([load_slice_pixels(s.pixels).astype(np.int16) for s in slices]),
        z_mm=np.array([s.z_mm for s in slices]),
        row_spacing_mm=volume.row_spacing_mm,
        column_spacing_mm=volume.column_spacing_mm,
        orientation=tuple(volume.orientation),
        patient=volume.patient,
        volume_uid=str(volume.uid),
        study_description="Synthetic CT" if synthetic else "CT",
        description=description,
        derivation=derivation,
        software=software,
        contrast_enhanced=volume.dataset.contrast_enhanced,
        synthetic=synthetic,
        sop_instance_uids=[s.sop_instance_uid for s in slices]
        if generated and all(s.sop_instance_uid for s in slices)
        else [],
        source_sop_instance_uids=[
            [source_uids[i] for i in records[s.pk].source_slice_ids if source_uids.get(i)]
            if s.pk in records
            else []
            for s in slices
        ],
    )


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "volume"


def volume_folder_name(volume: Volume) -> str:
    return f"{_safe(volume.patient)}_{str(volume.uid)[:8]}"


def export_volume(volume: Volume, *, fmt: str, outdir: str | Path) -> tuple[list[Path], list[str]]:
    """Write the volume under `outdir`; returns the files written and warnings (one line each)."""
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    data = exported_volume(volume)
    warnings = []
    outdir = Path(outdir)
    if fmt == "dicom":
        folder = outdir / volume_folder_name(volume)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, ds in enumerate(dicom_slices(data)):
            path = folder / f"CT{index + 1:04d}.dcm"
            path.write_bytes(dataset_bytes(ds))
            paths.append(path)
        return paths, warnings
    if not data.spacing_is_regular():
        warnings.append(
            f"volume {volume.uid}: slices are not evenly spaced (some MRI slices had no partner); the NIfTI "
            f"places them every {data.slice_spacing_mm:.2f} mm"
        )
    path = outdir / f"{volume_folder_name(volume)}.nii.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(nifti_bytes(data))
    return [path], warnings


def export_zip(volumes: list[Volume], *, fmt: str):
    """A temporary file holding a zip of the volumes in `fmt` (for a download); caller closes it."""
    if not volumes:
        raise ExportError("no synthetic volumes to export")
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    with (
        tempfile.TemporaryDirectory(prefix="blindread-export-") as workdir,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for volume in volumes:
            paths, _ = export_volume(volume, fmt=fmt, outdir=workdir)
            for path in paths:
                archive.write(path, arcname=str(path.relative_to(workdir)))
    handle.seek(0)
    return handle
