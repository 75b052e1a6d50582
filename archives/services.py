"""Study archives as jobs: the one door to export surveys to an archive and to import one (admin, commands).

Exporting is :class:`archives.models.StudyExport` (archives.export writes the zip, signed with this site's key when
asked); importing is :class:`archives.models.StudyImport` (archives.importing checks and restores it). Each
refusal is an ArchiveError of one line.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import default_storage

from archives import reporting
from archives.errors import ArchiveError
from archives.format import ArchiveRejected, sha256_of
from archives.models import StudyExport, StudyImport
from archives.signing import SigningKeyInvalid
from archives.site import site_signing_key
from jobs.errors import first_line
from jobs.services import JobOutcome, Progress, execute, queue_job
from storage import StorageFailed, store_file
from studies.models import Survey

MAX_REFUSAL_CHARS = 400

__all__ = [
    "ArchiveError",
    "archive_content",
    "export_now",
    "import_now",
    "request_export",
    "request_import",
    "run_study_export",
    "run_study_import",
]


def _signing_key(*, required: bool):
    """This site's key; ArchiveError when signing is asked for and no usable key is configured."""
    try:
        key = site_signing_key()
    except SigningKeyInvalid as exc:
        raise ArchiveError(f"the archive cannot be signed: {exc}") from None
    if key is None and required:
        raise ArchiveError(
            "the archive cannot be signed: this site has no signing key (ARCHIVE_SIGNING_KEY and "
            "ARCHIVE_SIGNING_KEY_ID; manage.py archive_signing_key makes one)"
        )
    return key


def request_export(
    *, surveys: Sequence[Survey], actor=None, sign: bool = False, enqueue: bool = True
) -> StudyExport:
    """Queue an export of `surveys`; with `sign`, refused at once when this site has no signing key."""
    if not surveys:
        raise ArchiveError("choose at least one survey to export")
    if sign:
        _signing_key(required=True)
    return queue_job(
        StudyExport,
        actor=actor,
        enqueue=enqueue,
        details={"surveys": [survey.name for survey in surveys], "sign": sign},
        survey_ids=[survey.pk for survey in surveys],
        sign=sign,
    )


def run_study_export(job: StudyExport, progress: Progress) -> JobOutcome:
    from archives.export import build_archive  # the pixels, DICOM and NumPy: loaded by the job, not the web

    surveys = reporting.surveys_by_ids(job.survey_ids)
    if len(surveys) != len(job.survey_ids):
        raise ArchiveError("a survey of this export no longer exists")
    key = _signing_key(required=True) if job.sign else None
    content = build_archive(surveys, progress=progress, signing_key=key)
    try:
        name = store_file(f"archives/exports/{job.pk}/study-archive.zip", content)
    except StorageFailed as exc:
        raise ArchiveError(f"the archive could not be stored: {exc}") from None
    digest = sha256_of(content)
    signed_by = key.key_id if key is not None else ""
    try:
        StudyExport.objects.filter(pk=job.pk).update(archive=name, archive_sha256=digest, signed_by=signed_by)
    except BaseException:
        default_storage.delete(name)
        raise
    signed = f", signed by key {signed_by!r}" if signed_by else ""
    return JobOutcome(
        message=f"archive of {len(surveys)} survey(s), {len(content)} bytes{signed}",
        result={
            "surveys": [survey.name for survey in surveys],
            "bytes": len(content),
            "sha256": digest,
            "signed_by": signed_by,
        },
    )


def export_now(*, surveys: Sequence[Survey], actor=None, sign: bool = False) -> StudyExport:
    """Export `surveys` in this process; returns the finished job (ArchiveError when it failed)."""
    job = request_export(surveys=surveys, actor=actor, sign=sign, enqueue=False)
    execute(StudyExport.label(), job.pk)
    job.refresh_from_db()
    if job.status != "done":
        raise ArchiveError(job.error or "the export failed")
    return job


def archive_content(job: StudyExport) -> bytes:
    with default_storage.open(job.archive, "rb") as handle:
        return handle.read()


def request_import(*, archive_name: str, actor=None, enqueue: bool = True, project=None) -> StudyImport:
    """Queue the import of a stored archive; its surveys and datasets join ``project`` (the default project when
    none is named)."""
    details = {"archive": archive_name, **({"project": project.name} if project is not None else {})}
    return queue_job(
        StudyImport, actor=actor, enqueue=enqueue, details=details, archive=archive_name, project=project
    )


def run_study_import(job: StudyImport, progress: Progress) -> JobOutcome:
    from archives.importing import import_archive  # loaded by the job, not the web

    with default_storage.open(job.archive, "rb") as handle:
        try:
            surveys, origin = import_archive(
                handle, actor=job.created_by, progress=progress, project=job.project
            )
        except ArchiveRejected as exc:
            # One line of bounded length, whatever value of the archive the refusal quotes.
            raise ArchiveError(first_line(exc, limit=MAX_REFUSAL_CHARS)) from None
    digest = surveys[0].archive_origin.archive_sha256
    StudyImport.objects.filter(pk=job.pk).update(
        archive_sha256=digest, survey_ids=[survey.pk for survey in surveys]
    )
    return JobOutcome(
        message=f"imported {len(surveys)} closed survey(s), {origin.describe()}: "
        + ", ".join(survey.name for survey in surveys),
        result={"surveys": [survey.name for survey in surveys], "origin": origin.describe()},
    )


def import_now(content: bytes | BinaryIO, *, actor=None, project=None) -> StudyImport:
    """Import an archive (bytes, or a binary file, copied in chunks) in this process, as its job; returns the
    finished job (ArchiveError: one line, and nothing of the archive stored: the uploaded copy is deleted again)."""
    try:
        name = store_file(
            f"archives/uploads/{uuid.uuid4().hex}.zip",
            content if isinstance(content, bytes) else File(content),
        )
    except StorageFailed as exc:
        raise ArchiveError(f"nothing imported: {exc}") from None
    try:
        job = request_import(archive_name=name, actor=actor, enqueue=False, project=project)
        execute(StudyImport.label(), job.pk)
        job.refresh_from_db()
    finally:
        default_storage.delete(name)
    if job.status != "done":
        raise ArchiveError(job.error or "the import failed")
    return job
