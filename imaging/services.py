"""Writes to the image library. Each volume is stored in one transaction with its audit row; pixels written
for a volume whose transaction fails are deleted again, so nothing is left half-imported.

Web processes load this module (the admin's import pages queue jobs through it); the DICOM reading (pydicom) is
loaded by the functions that read files, in the workers and commands that run them."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import record_event
from imaging.constants import MR_MODALITIES
from imaging.layers import LayerBounds, default_axial_layers, layers_from_bounds, validate_layer_bounds
from imaging.models import Dataset, ImportJob, Slice, Volume
from imaging.nifti import file_sha256, load_nifti
from imaging.pacs.client import PacsConnection, PacsError, retrieve
from imaging.pixels import save_slice_pixels, slice_storage_name
from imaging.uploads import Staged, delete_uploads, save_uploads, stage_locally, upload_folder
from imaging.volumes import ImageError, ImportLimits, Rejection, VolumeData
from jobs.services import JobOutcome, JobRefused, Progress, finish, queue_job
from projects.models import Project
from projects.services import ensure_default_project
from storage import StorageFailed, delete_stored_files, folder_exists

if TYPE_CHECKING:
    from imaging.dicom.deidentify import Deidentifier
    from imaging.scan import SeriesSource

# Import kinds: real CT, MRI, and synthetic CT made by a model outside Blindread (a "model under test" too).
KINDS = {"ct": Dataset.Kind.REAL_CT, "mr": Dataset.Kind.MRI, "sct": Dataset.Kind.SYNTHETIC_CT}

ImportProgress = Callable[[str, int, int], None]


class ImportArgumentError(ValueError):
    """The import was asked for something it cannot do (bad kind, modality or dataset); nothing was read."""


class UploadNotStored(ValueError):
    """An upload storage refused (the disk is full); nothing of it is kept and no job is queued."""


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    ignored: list[Rejection] = field(default_factory=list)
    slices: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected


def deidentifier() -> Deidentifier:
    """The de-identification profile under the site's pseudonym key (settings.PSEUDONYM_KEY; never stored)."""
    from imaging.dicom.deidentify import Deidentifier

    return Deidentifier(key=settings.PSEUDONYM_KEY.encode("utf-8"))


def nifti_patient_pseudonym(name: str | None) -> str:
    """The pseudonym of the patient an importer names for NIfTI files ("" when none is named)."""
    return deidentifier().pseudonym(name) if name and name.strip() else ""


def import_limits() -> ImportLimits:
    return ImportLimits(
        max_matrix=settings.IMPORT_MAX_MATRIX,
        max_slices_per_series=settings.IMPORT_MAX_SLICES_PER_SERIES,
        max_nifti_voxels=settings.IMPORT_MAX_NIFTI_VOXELS,
    )


def check_import_arguments(
    *, dataset_name: str, kind: str, modality: str | None, contrast: bool | None
) -> None:
    if not dataset_name or not dataset_name.strip():
        raise ImportArgumentError("a dataset name is required")
    if kind not in KINDS:
        raise ImportArgumentError(f"--kind must be ct, sct or mr, not {kind!r}")
    if modality is not None and modality not in (*MR_MODALITIES, "ct"):
        raise ImportArgumentError(f"--modality must be one of {', '.join(MR_MODALITIES)}, not {modality!r}")
    if kind == "mr" and contrast is not None:
        raise ImportArgumentError("--contrast/--no-contrast apply to CT only")
    existing = Dataset.objects.filter(name=dataset_name).first()
    if existing is None:
        if kind != "mr" and contrast is None:
            raise ImportArgumentError(f"dataset {dataset_name!r} is new: say --contrast or --no-contrast")
        return
    if existing.kind != KINDS[kind]:
        raise ImportArgumentError(
            f"dataset {dataset_name!r} holds {existing.get_kind_display()}, not --kind {kind}"
        )
    if (
        contrast is not None
        and existing.contrast_enhanced is not None
        and existing.contrast_enhanced != contrast
    ):
        word = "contrast-enhanced" if existing.contrast_enhanced else "non-contrast"
        raise ImportArgumentError(f"dataset {dataset_name!r} is {word} CT; its contrast flag cannot change")


def import_images(
    *,
    path: str | os.PathLike,
    dataset_name: str,
    kind: str,
    modality: str | None = None,
    contrast: bool | None = None,
    actor=None,
    progress: ImportProgress | None = None,
    source_label: str = "",
    nifti_pseudonym: str = "",
    project: Project | None = None,
) -> ImportReport:
    """Import every series found under `path` into the dataset; each series whole or not at all, de-identified
    before anything is stored (imaging.dicom.deidentify).

    A volume records `source_label` (the job, or the command's run) and its running number in this import, never
    a file or folder name. A NIfTI volume's patient is `nifti_pseudonym` (the pseudonym of a name the importer
    gave, :func:`nifti_patient_pseudonym`) or the pseudonym of the folder layout's patient; without either, each
    file is a patient of its own (the pseudonym of its content's hash), never named after the file. A dataset the
    import creates belongs to ``project`` (the default project when none is named)."""
    check_import_arguments(dataset_name=dataset_name, kind=kind, modality=modality, contrast=contrast)
    root = Path(path)
    if not root.exists():
        raise ImportArgumentError(f"{root} does not exist")
    from imaging.scan import scan_path

    source_label = source_label or f"import_images {timezone.now():%Y-%m-%d %H:%M:%S} UTC"
    deid, limits = deidentifier(), import_limits()
    scan = scan_path(root, kind=kind, modality=modality, deidentifier=deid, limits=limits, progress=progress)
    report = ImportReport(rejected=list(scan.rejected), ignored=scan.ignored)
    total_files = sum(len(s.headers) or 1 for s in scan.series)
    done = 0
    for number, source in enumerate(scan.series, start=1):
        if progress:
            progress("importing", done, total_files)
        done += len(source.headers) or 1
        outcome = _import_series(
            source,
            dataset_name=dataset_name,
            kind=kind,
            contrast=contrast,
            actor=actor,
            source_path=f"{source_label}, series {number}",
            patient=source.patient or nifti_pseudonym,
            deid=deid,
            limits=limits,
            project=project,
        )
        if isinstance(outcome, Volume):
            report.imported.append(source.label)
            report.slices += outcome.slice_count
        elif outcome == "duplicate":
            report.duplicates.append(source.label)
        else:
            report.rejected.extend(outcome)
    if progress:
        progress("importing", total_files, total_files)
    if project is not None:  # a dataset that was there before: the project uses it from now on too
        existing = Dataset.objects.filter(name=dataset_name).first()
        if existing is not None:
            share_dataset(dataset=existing, project=project, actor=actor)
    return report


def _import_series(
    source: SeriesSource, *, dataset_name, kind, contrast, actor, source_path, patient, deid, limits, project
) -> Volume | str | list[Rejection]:
    from imaging.dicom import SeriesRejected, load_series

    series_key = source.series_key
    if source.nifti_path:
        try:
            series_key = f"nifti:{file_sha256(source.nifti_path)}"
        except OSError as exc:
            return [Rejection(source.nifti_path, f"cannot read the file ({exc})")]
    if Volume.objects.filter(series_key=series_key, modality=source.modality).exists():
        return "duplicate"
    try:
        if source.nifti_path:
            data = load_nifti(
                source.nifti_path,
                kind=kind,
                modality=source.modality,
                patient=patient or deid.pseudonym(series_key),
                source_path=source_path,
                limits=limits,
            )
        else:
            data = load_series(
                source.headers,
                kind=kind,
                modality=source.modality,
                patient=patient,
                spacing_tolerance=settings.IMPORT_SPACING_TOLERANCE,
                source_path=source_path,
                limits=limits,
            )
    except SeriesRejected as exc:
        others = len(source.headers) - len(exc.rejections)
        note = f"; the other {others} file(s) of this series were not imported" if others else ""
        return [Rejection(r.path, r.reason + note) for r in exc.rejections]
    except ImageError as exc:
        return [Rejection(source.nifti_path or os.path.dirname(source.headers[0].path), str(exc))]
    try:
        return store_volume(
            dataset_name=dataset_name, kind=kind, contrast=contrast, data=data, actor=actor, project=project
        )
    except IntegrityError:
        # A concurrent import stored the same series first.
        return "duplicate"


@dataclass(frozen=True)
class VolumeHeader:
    """What a new volume is, apart from its slices."""

    patient: str
    modality: str
    series_key: str
    source_format: str
    source_path: str
    rows: int
    columns: int
    row_spacing_mm: float
    column_spacing_mm: float
    slice_spacing_mm: float | None
    orientation: tuple[float, ...]
    slice_count: int


@dataclass(frozen=True)
class NewSlice:
    """One slice to append to a volume; its pixels already written by :func:`write_slice_pixels`."""

    index: int
    z_mm: float
    axial_layer: int | None
    pixels: str
    sop_instance_uid: str = ""


def ensure_dataset(
    *,
    name: str,
    kind: str,
    contrast: bool | None,
    source: str = "",
    actor=None,
    details: dict | None = None,
    project: Project | None = None,
) -> Dataset:
    """The dataset of that name, created (with its audit row) on first use and used by ``project`` (the default
    project when none is named); ImportArgumentError if it holds another kind of images."""
    with transaction.atomic():
        dataset, created = Dataset.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "contrast_enhanced": None if kind == Dataset.Kind.MRI else contrast,
                "source": source,
            },
        )
        if dataset.kind != kind:
            raise ImportArgumentError(
                f"dataset {name!r} holds {dataset.get_kind_display()}, not {Dataset.Kind(kind).label}"
            )
        if created:
            record_event(
                actor=actor,
                verb="dataset.created",
                target=dataset,
                details={"kind": dataset.kind, **(details or {})},
            )
            share_dataset(dataset=dataset, project=project or ensure_default_project(), actor=actor)
    return dataset


@transaction.atomic
def share_dataset(*, dataset: Dataset, project: Project, actor=None) -> None:
    """Let ``project`` use ``dataset`` (a dataset may serve several projects); audited once per project."""
    if dataset.projects.filter(pk=project.pk).exists():
        return
    dataset.projects.add(project)
    record_event(actor=actor, verb="dataset.shared", target=dataset, details={"project": project.name})


def create_volume(
    *,
    dataset: Dataset,
    header: VolumeHeader,
    actor=None,
    verb: str = "volume.imported",
    details: dict | None = None,
) -> Volume:
    """A new, still empty volume of the dataset, with its audit row (`verb`)."""
    with transaction.atomic():
        volume = Volume.objects.create(
            dataset=dataset,
            patient=header.patient,
            modality=header.modality,
            series_key=header.series_key,
            source_format=header.source_format,
            source_path=header.source_path,
            rows=header.rows,
            columns=header.columns,
            row_spacing_mm=header.row_spacing_mm,
            column_spacing_mm=header.column_spacing_mm,
            slice_spacing_mm=header.slice_spacing_mm,
            orientation=list(header.orientation),
            slice_count=header.slice_count,
        )
        record_event(
            actor=actor,
            verb=verb,
            target=volume,
            details={"dataset": dataset.name, "series_key": volume.series_key, **(details or {})},
        )
    return volume


def write_slice_pixels(volume: Volume, index: int, plane: np.ndarray) -> str:
    """Write one slice's pixels to storage (any thread) and return the storage name.

    Callers write only slices that have no row yet, so a file already at that name is what a run killed before
    its commit left behind, and it is replaced."""
    name = slice_storage_name(volume.uid, index)
    if default_storage.exists(name):
        default_storage.delete(name)
    return save_slice_pixels(name, plane)


def add_slices(
    *, volume: Volume, slices: list[NewSlice], actor=None, details: dict | None = None
) -> list[Slice]:
    """Append slices (pixels already written) to a volume in one transaction with their audit row.

    If it fails, the pixel files of these slices are deleted unless a row refers to them, so storage keeps no
    orphans. Callers may run it inside a transaction of their own that adds rows referring to the slices."""
    try:
        with transaction.atomic():
            rows = Slice.objects.bulk_create(
                [
                    Slice(
                        volume=volume,
                        index=new.index,
                        z_mm=float(new.z_mm),
                        axial_layer=new.axial_layer,
                        pixels=new.pixels,
                        sop_instance_uid=new.sop_instance_uid,
                    )
                    for new in slices
                ]
            )
            record_event(
                actor=actor,
                verb="volume.slices_added",
                target=volume,
                details={
                    "count": len(rows),
                    "indices": [slices[0].index, slices[-1].index] if slices else [],
                    **(details or {}),
                },
            )
    except BaseException:
        discard_pixels([new.pixels for new in slices])
        raise
    return rows


def discard_pixels(names: list[str]) -> None:
    """Delete pixel files that no slice row refers to (what a failed write left behind)."""
    taken = set(Slice.objects.filter(pixels__in=names).values_list("pixels", flat=True))
    delete_stored_files([name for name in names if name and name not in taken])


def store_volume(
    *,
    dataset_name: str,
    kind: str,
    contrast: bool | None,
    data: VolumeData,
    actor=None,
    project: Project | None = None,
) -> Volume:
    """Store one decoded series: dataset (created on first use, for ``project``: the default project when none is
    named), volume, slices, pixels and the audit rows, in one transaction; pixels written for it are deleted again
    if anything fails."""
    written: list[str] = []
    try:
        with transaction.atomic():
            dataset = ensure_dataset(
                name=dataset_name, kind=KINDS[kind], contrast=contrast, actor=actor, project=project
            )
            volume = create_volume(
                dataset=dataset,
                header=VolumeHeader(
                    patient=data.patient,
                    modality=data.modality,
                    series_key=data.series_key,
                    source_format=data.source_format,
                    source_path=data.source_path,
                    rows=data.pixels.shape[1],
                    columns=data.pixels.shape[2],
                    row_spacing_mm=data.row_spacing_mm,
                    column_spacing_mm=data.column_spacing_mm,
                    slice_spacing_mm=data.slice_spacing_mm,
                    orientation=tuple(data.orientation),
                    slice_count=data.pixels.shape[0],
                ),
                actor=actor,
                details={"slices": int(data.pixels.shape[0])},
            )
            layers = default_axial_layers(data.z_mm)
            uids = data.sop_instance_uids or [""] * len(layers)
            new = []
            for index, plane in enumerate(data.pixels):
                name = write_slice_pixels(volume, index, plane)
                written.append(name)
                new.append(NewSlice(index, float(data.z_mm[index]), int(layers[index]), name, uids[index]))
            add_slices(volume=volume, slices=new, actor=actor)
    except BaseException:
        delete_stored_files(written)
        raise
    return volume


def set_axial_layers(*, bounds_by_volume: dict[Volume, list[LayerBounds]], actor=None) -> dict[str, int]:
    """Replace the axial layers of the given volumes from explicit z bounds, all volumes in one transaction.

    Slices outside every bound lose their layer (they drop out of layer-wise analyses). Returns counts.
    """
    for volume, bounds in bounds_by_volume.items():
        try:
            validate_layer_bounds(bounds)
        except ValueError as exc:
            raise ImportArgumentError(f"volume {volume.uid}: {exc}") from None
    counts = {"volumes": 0, "slices_layered": 0, "slices_unlayered": 0}
    with transaction.atomic():
        for volume, bounds in bounds_by_volume.items():
            slices = list(volume.slices.select_for_update().order_by("index"))
            layers = layers_from_bounds([s.z_mm for s in slices], bounds)
            for slice_, layer in zip(slices, layers, strict=True):
                slice_.axial_layer = int(layer) or None
            Slice.objects.bulk_update(slices, ["axial_layer"])
            counts["volumes"] += 1
            counts["slices_layered"] += int((layers > 0).sum())
            counts["slices_unlayered"] += int((layers == 0).sum())
            record_event(
                actor=actor,
                verb="volume.layers_set",
                target=volume,
                details={"bounds": [[b.layer, b.z_min_mm, b.z_max_mm] for b in bounds]},
            )
    return counts


def create_import_job(
    *,
    files,
    dataset_name: str,
    kind: str,
    modality: str | None,
    contrast: bool | None,
    actor,
    nifti_patient: str | None = None,
    project: Project | None = None,
) -> ImportJob:
    """Save an admin upload and queue its import for ``project`` (the default project when none is named), which
    uses the dataset once imported; the job starts once its row is committed. `nifti_patient` names the patient of
    NIfTI files (the job keeps only its pseudonym)."""
    check_import_arguments(dataset_name=dataset_name, kind=kind, modality=modality, contrast=contrast)
    if not files:
        raise ImportArgumentError("choose at least one file (a zip, DICOM files or NIfTI volumes)")
    folder = upload_folder(uuid.uuid4())
    try:
        saved = save_uploads(folder, files)
    except StorageFailed as exc:
        raise UploadNotStored(f"upload not stored: {exc}") from None
    try:
        return queue_job(
            ImportJob,
            actor=actor,
            details={"files": len(saved)},
            dataset_name=dataset_name,
            kind=kind,
            modality=modality or "",
            contrast_enhanced=contrast,
            nifti_pseudonym=nifti_patient_pseudonym(nifti_patient),
            upload_dir=folder,
            total=len(saved),
            project=project or ensure_default_project(actor=actor),
        )
    except BaseException:
        delete_uploads(folder)
        raise


def run_import_job(job: ImportJob, progress: Progress) -> JobOutcome | None:
    """Import a queued upload (the job's runner). Safe to run again: imported series are skipped.

    The upload leaves storage, and the PACS series' UIDs leave the job, whatever the outcome (imported, refused,
    failed): what stays is de-identified."""
    try:
        return _run_import_job(job, progress)
    finally:
        delete_uploads(job.upload_dir)
        if job.pacs_series:
            ImportJob.objects.filter(pk=job.pk).update(pacs_series=[])


def pacs_connection() -> PacsConnection:
    return PacsConnection(
        url=settings.PACS_DICOMWEB_URL,
        username=settings.PACS_USERNAME,
        password=settings.PACS_PASSWORD,
        timeout_s=settings.PACS_TIMEOUT_S,
    )


def _stage_from_pacs(job: ImportJob, workdir: Path, progress: Progress) -> Staged:
    """Retrieve the job's series into the worker's private folder; the labels say "PACS series N", never a UID."""
    progress.set(0, len(job.pacs_series), "retrieving from PACS")
    try:
        retrieve(
            pacs_connection(),
            [tuple(pair) for pair in job.pacs_series],
            workdir,
            progress=lambda done, total: progress.set(done, total, "retrieving from PACS"),
        )
    except PacsError as exc:
        raise JobRefused(str(exc)) from None
    staged = Staged()
    for folder in sorted(workdir.iterdir()):
        number = int(folder.name.rsplit("-", 1)[1])
        for path in sorted(folder.iterdir()):
            staged.labels[str(path)] = f"PACS series {number}, instance {int(path.stem)}"
    return staged


def _run_import_job(job: ImportJob, progress: Progress) -> JobOutcome | None:
    if job.upload_dir and not folder_exists(job.upload_dir):
        raise JobRefused("the upload is no longer in storage (removed after a failed run): upload it again")
    if not job.upload_dir and not job.pacs_series:
        raise JobRefused(
            "the series to retrieve from PACS are no longer known (the job ran before): search again"
        )
    progress.phase("unpacking")
    staged = Staged()
    with tempfile.TemporaryDirectory(prefix="blindread-import-") as workdir:
        try:
            if job.pacs_series:
                staged = _stage_from_pacs(job, Path(workdir), progress)
            else:
                staged = stage_locally(job.upload_dir, Path(workdir))
            report = import_images(
                path=workdir,
                dataset_name=job.dataset_name,
                kind=job.kind,
                modality=job.modality or None,
                contrast=job.contrast_enhanced,
                actor=job.created_by,
                progress=lambda phase, done, total: progress.set(done, total, phase),
                source_label=f"{'PACS ' if job.pacs_series else ''}import job {job.pk}",
                nifti_pseudonym=job.nifti_pseudonym,
                project=job.project,
            )
        except ImportArgumentError as exc:
            _store_rejections(job, staged.rejected, None)
            raise JobRefused(str(exc)) from None
        rejected = staged.rejected + [Rejection(staged.label(r.path), r.reason) for r in report.rejected]
        ignored = [{"path": staged.label(i.path), "reason": i.reason} for i in report.ignored]
    finish_import_job(job, report, rejected, ignored)
    return None


def finish_import_job(
    job: ImportJob, report: ImportReport, rejected: list[Rejection], ignored: list[dict]
) -> None:
    """Store what an import job did (its rejected files by label, never by name) and finish it."""
    summary = (
        f"{len(report.imported)} series imported ({report.slices} slices), "
        f"{len(report.duplicates)} already there, {len(rejected)} file(s) rejected, {len(ignored)} ignored"
    )
    with transaction.atomic():
        _store_rejections(job, rejected, report)
        finish(
            job,
            message=summary,
            result={
                "imported": len(report.imported),
                "already_there": len(report.duplicates),
                "slices": report.slices,
                "rejected": len(rejected),
                "ignored": ignored,
            },
        )


def _store_rejections(job: ImportJob, rejected: list[Rejection], report: ImportReport | None) -> None:
    fields = {"errors": [{"path": r.path, "reason": r.reason} for r in rejected]}
    if report is not None:
        fields["volumes_imported"] = len(report.imported)
        fields["volumes_skipped"] = len(report.duplicates)
    ImportJob.objects.filter(pk=job.pk).update(**fields)
