"""Restoring a study archive into this instance as closed surveys; all or nothing.

In order, and nothing is stored before the last check passes:

1. the container (archives.format.open_archive): the manifest first, every member's declared size, the total, the
   compression ratio, then every member streamed through its checksum, within this site's limits (settings
   ARCHIVE_MAX_*);
2. the signature (archives.signing): verified with a trusted key when the archive is signed; an unsigned or
   untrusted archive is refused when ARCHIVE_REQUIRE_SIGNATURE is set, and a signature that does not verify always;
3. the tables of every survey (studies.archive): lists of objects, each answer as its latest revision says, no
   survey or item that exists here already.

Then one transaction: the archive is kept in storage; per survey, each item's pixels (a stack's centre slice)
become a one-slice CT volume (imaging.archive) in a dataset named as the original, or with the archive's short
sha256 added when that name is taken; the survey and its rows are restored by studies' service with their audit row
(studies.archive.do_restore_survey), and its origin is recorded (:class:`archives.models.SurveyOrigin`). Every value
is checked against its field (types, lengths, ranges, choices) before it is written, and the database's own
constraints are checked before the import returns. Any refusal is an ArchiveRejected of one line; the rows are
rolled back and every file written is deleted again.
"""

from __future__ import annotations

from typing import BinaryIO

from django.core.files import File
from django.db import DataError, IntegrityError, transaction

from archives import reporting
from archives.export import centre_slice
from archives.format import MANIFEST, Archive, ArchiveRejected, open_archive
from archives.models import SurveyOrigin
from archives.signing import Origin, SigningKeyInvalid, check_signature
from archives.site import archive_limits, signature_required, site_trusted_keys
from audit.archive import ArchiveValueError
from imaging.archive import free_dataset_name, restore_item_slice
from imaging.dicom import archived_item_uid
from jobs.errors import first_line
from jobs.services import Progress
from storage import StorageFailed, delete_stored_files, store_file
from studies import archive as studies_archive
from studies.models import Survey

# What a malformed row raises on its way in (a key missing, a value of the wrong type or too large); each becomes
# one line naming the survey folder.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError)


def _survey_names(archive: Archive) -> list[str]:
    names = archive.manifest.get("surveys")
    if not isinstance(names, list) or not names:
        raise ArchiveRejected("the manifest names no surveys")
    if len(names) > 999 or not all(isinstance(name, str) and 0 < len(name) <= 128 for name in names):
        raise ArchiveRejected(f"{MANIFEST}: surveys is not a list of up to 999 survey names")
    return names


def read_surveys(archive: Archive) -> list[studies_archive.SurveyRows]:
    """Every survey's rows, checked: consistent in themselves and new to this instance."""
    all_rows = []
    try:
        for number, name in enumerate(_survey_names(archive), start=1):
            folder = f"surveys/{number:02d}"
            rows = studies_archive.survey_rows(
                lambda table, folder=folder: archive.json(f"{folder}/{table}"),
                folder=folder,
                name=name,
                version=archive.version,
            )
            events = archive.json(f"{folder}/audit-events.json")
            if not isinstance(events, list):
                raise ArchiveValueError(f"{folder}/audit-events.json is not a list")
            studies_archive.check_answers_match_revisions(rows)
            all_rows.append((rows, len(events)))
        studies_archive.check_restorable([rows for rows, _ in all_rows])
    except ArchiveValueError as exc:
        raise ArchiveRejected(str(exc)) from None
    except MALFORMED as exc:
        if isinstance(exc, ArchiveRejected):
            raise
        raise ArchiveRejected(
            f"{studies_archive.NOT_AS_DESCRIBED} ({type(exc).__name__}: {first_line(exc)})"
        ) from None
    return all_rows


def _restore_survey(
    archive: Archive,
    rows: studies_archive.SurveyRows,
    *,
    events: int,
    origin: Origin,
    kept: str,
    written: list[str],
    actor,
    progress: Progress | None,
    project=None,
) -> Survey:
    policy, design = studies_archive.survey_settings(rows)
    payload_bytes = policy.payload_bytes * design.stack_slices
    descriptions = {"real": rows.survey["real_dataset"], "synthetic": rows.survey["model_dataset"]}
    names = {
        truth: free_dataset_name(str(description["name"])[:128], suffix=f"archive {archive.sha256[:8]}")
        for truth, description in descriptions.items()
    }

    def payload(kind: str, row: dict) -> bytes:
        """An item's payload, checked for the size its survey's display makes and for its sha256."""
        name = f"{rows.folder}/{row['payload']}"
        content = archive.read(name, at_most=payload_bytes)
        if len(content) != payload_bytes:
            raise ArchiveValueError(
                f"item {row['public_id']}: its payload holds {len(content)} bytes, not the {payload_bytes} its "
                "survey's display makes"
            )
        if archive.listed[name]["sha256"] != row["payload_sha256"]:
            raise ArchiveValueError(f"item {row['public_id']}: its payload does not match its sha256")
        return content

    datasets = {}
    slices = {}
    for kind, table in (("items", studies_archive.ITEMS), ("practice", studies_archive.PRACTICE_ITEMS)):
        for row in rows[table]:
            truth = row["truth"]
            if truth not in descriptions:
                raise ArchiveValueError(
                    f"item {str(row['public_id'])[:40]}: unknown truth {str(truth)[:40]!r}"
                )
            contrast = descriptions[truth].get("contrast_enhanced")
            if not (contrast is None or isinstance(contrast, bool)):
                raise ArchiveValueError(
                    f"{rows.folder}/survey.json: contrast_enhanced is not true, false or null"
                )
            restored = restore_item_slice(
                dataset_name=names[truth],
                synthetic=truth == "synthetic",
                contrast=contrast,
                patient=str(row["source"]["patient"])[:64],
                series_key=archived_item_uid(archive.sha256, row["public_id"]),
                source_path=f"archive {archive.sha256}: {rows.folder}/{row['dicom']}"[:1024],
                pixels=centre_slice(payload(kind, row), policy, design),
                z_mm=float(row["source"]["z_mm"]),
                mm_per_pixel=float(row["mm_per_pixel"]),
                actor=actor,
                project=project,
            )
            written.append(restored.pixels)
            slices[row["public_id"]] = restored
            datasets[truth] = restored.volume.dataset
            if progress is not None:
                progress.advance()
    if set(datasets) != {"real", "synthetic"}:
        raise ArchiveValueError(f"survey {rows.name!r} has no items on both sides")
    survey = studies_archive.do_restore_survey(
        rows,
        datasets=datasets,
        slices=slices,
        payload=payload,
        reader_username=lambda pseudonym: f"{reporting.ARCHIVED_READER_PREFIX}{pseudonym}",
        written=written,
        actor=actor,
        project=project,
        details={
            "archive_sha256": archive.sha256,
            "archive": kept,
            "format": archive.manifest["format"],
            "archived_audit_events": events,
            "origin": origin.describe(),
        },
    )
    created = archive.manifest.get("created_at")
    SurveyOrigin.objects.create(
        survey=survey,
        archive_sha256=archive.sha256,
        archive=kept,
        format=archive.manifest["format"],
        signature=origin.state,
        key_id=origin.key_id,
        exported_at=created[:64] if isinstance(created, str) else "",
    )
    return survey


def _check_deferred_constraints() -> None:
    """Run the checks PostgreSQL defers to commit (foreign keys, an answer's revision) now, inside the import, so
    that a refusal is the import's one line even when the import runs inside a larger transaction."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def restore_archive(
    archive: Archive,
    *,
    content: bytes | BinaryIO,
    actor=None,
    progress: Progress | None = None,
    project=None,
) -> tuple[list[Survey], Origin]:
    """Restore an opened archive (`content`: its zip, kept in storage); see the module's docstring."""
    try:
        trusted = site_trusted_keys()
    except SigningKeyInvalid as exc:
        raise ArchiveRejected(f"this site's archive keys cannot be used: {exc}") from None
    origin = check_signature(
        archive.manifest_bytes, archive.signature, trusted=trusted, required=signature_required()
    )
    all_rows = read_surveys(archive)
    if progress is not None:
        progress.start(
            sum(
                len(rows[studies_archive.ITEMS]) + len(rows[studies_archive.PRACTICE_ITEMS])
                for rows, _ in all_rows
            ),
            "restoring the items",
        )
    written: list[str] = []
    try:
        with transaction.atomic():
            kept = store_file(
                f"archives/imported/{archive.sha256}.zip",
                content if isinstance(content, bytes) else File(content),
            )
            written.append(kept)
            surveys = []
            for rows, events in all_rows:
                try:
                    surveys.append(
                        _restore_survey(
                            archive,
                            rows,
                            events=events,
                            origin=origin,
                            kept=kept,
                            written=written,
                            actor=actor,
                            progress=progress,
                            project=project,
                        )
                    )
                except ArchiveValueError as exc:
                    raise ArchiveRejected(str(exc)) from None
                except MALFORMED as exc:
                    if isinstance(exc, ArchiveRejected):
                        raise
                    raise ArchiveRejected(
                        f"{rows.folder} does not hold a valid survey ({type(exc).__name__}: {first_line(exc)})"
                    ) from None
            _check_deferred_constraints()
    except (IntegrityError, DataError) as exc:
        # Checksums match but the rows contradict each other (a crafted archive): the database refused them.
        delete_stored_files(written)
        raise ArchiveRejected(f"the archive's rows are inconsistent: {first_line(exc)}") from None
    except StorageFailed as exc:
        # The disk is full (or storage fails otherwise): what was written is deleted, no row is kept.
        delete_stored_files(written)
        raise ArchiveRejected(f"nothing imported: {exc}") from None
    except BaseException:
        delete_stored_files(written)
        raise
    return surveys, origin


def import_archive(
    content: bytes | BinaryIO, *, actor=None, progress: Progress | None = None, project=None
) -> tuple[list[Survey], Origin]:
    """Check and restore an archive (bytes, or a seekable binary file) as closed surveys of ``project`` (the
    default project when none is named); all or nothing (ArchiveRejected: one line). Returns the surveys and where
    the archive came from."""
    with open_archive(content, archive_limits()) as archive:
        return restore_archive(archive, content=content, actor=actor, progress=progress, project=project)
