"""Study archives: every survey of a selection, with what readers saw and answered and what was computed from it, in
one zip (`archives.format`), and that zip restored into another instance as closed surveys.

Export (:func:`build_archive`, run as a :class:`StudyExport` job). Per survey, under ``surveys/NN/``:
``survey.json`` (settings, status, dates, display policy, the last blinding audit), ``items.json`` (the truth table
with each item's source slice and the model's provenance: checkpoint name and sha256, source slice ids),
``items/<public id>.i16`` (each rendered payload, byte for byte as served) and ``items/<public id>.dcm`` (the same
pixels as a CT image with new UIDs, written by imaging.dicom's writer; no truth in it), ``assignments.json`` (readers
under their pseudonyms, their seeds and item orders), ``invitations.json`` (no tokens, no e-mail addresses),
``answers.json``, ``revisions.json`` and ``audit-events.json``. For the selection: ``answers.csv`` and
``data-dictionary.csv`` (as the report downloads), ``statistics/stats.json`` and ``statistics/report.pdf`` (the
stored report of the selection, computed first when missing or out of date) and ``archive-dictionary.json`` (what
every file and field holds). ``manifest.json`` holds the format version and a SHA-256 per file.

Import (:func:`import_archive`, run as a :class:`StudyImport` job) verifies the whole archive first, then in one
transaction creates, per survey: a one-slice CT volume per item holding the rendered pixels (in datasets named as
the originals, or with the archive's short sha256 added when that name is taken), the survey (closed), its items
(their public ids and payload files, byte for byte), readers (inactive users named ``archived-<pseudonym>``, so the
statistics name the same readers), assignments, invitations (new tokens; any still pending is revoked), answers and
revisions with their original times; the archive itself is kept in storage and each survey gets one
``survey.imported`` audit row naming it. Anything refused is one line and leaves no row and no file behind.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from archives.format import (
    FORMAT_VERSION_1,
    FORMAT_VERSION_2,
    Archive,
    ArchiveRejected,
    read_archive,
    sha256_of,
    write_archive,
)
from archives.models import StudyExport, StudyImport
from audit.models import AuditEvent
from audit.services import record_event
from generation.models import SyntheticSlice
from imaging.constants import DEFAULT_CT_WINDOW
from imaging.dicom import (
    AxialImage,
    Derivation,
    Patient,
    PixelEncoding,
    Series,
    Study,
    archived_item_uid,
    centred_position,
    dataset_bytes,
    slice_dataset,
)
from imaging.pixels import StorageFailed, delete_stored_files, store_file
from imaging.selectors import dataset_named, slices_of
from imaging.services import store_volume
from imaging.volumes import VolumeData
from jobs.errors import first_line
from jobs.services import JobOutcome, JobRefused, Progress, execute, queue_job
from reports import selectors as reports
from reports.content.exports import answers_csv, data_dictionary_csv
from reports.services import artefact, report_now
from studies.design import DesignError, StudyDesign
from studies.models import (
    VIEWER_STATE_FIELDS,
    Answer,
    AnswerRevision,
    Assignment,
    BlindingAudit,
    Invitation,
    Item,
    PracticeAnswer,
    PracticeItem,
    ReaderProfile,
    ReadingRound,
    RepeatAnswer,
    Survey,
    new_opaque_id,
)
from studies.policy import DisplayPolicy
from studies.rendering import decode_payload

ANSWER_CONTENT = (
    "choice",
    "reason",
    "seconds_on_slice",
    "window_width",
    "window_level",
    "zoom",
    "window_changed",
    "rating",
    "invert_used",
    "slices_visited",
    "seconds_per_slice",
)
PRACTICE_CONTENT = ("choice", "rating", "seconds_on_slice", *VIEWER_STATE_FIELDS)
# What an archive of an older version means for the fields it lacks: version 1 was written before the study
# design, version 2 before stacks' visited slices were archived (and practice answers recorded the viewer).
VERSION_2_ANSWER_DEFAULTS = {"slices_visited": [], "seconds_per_slice": []}
VERSION_1_ANSWER_DEFAULTS = {"rating": None, "invert_used": False, **VERSION_2_ANSWER_DEFAULTS}
VERSION_2_PRACTICE_DEFAULTS = dict.fromkeys(VIEWER_STATE_FIELDS)
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
HU_ENCODING = PixelEncoding(bits_stored=16, signed=True, rescale_intercept=0)


class ArchiveError(JobRefused):
    """An export or import that cannot be made; one line."""


# --- Export ---------------------------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _json(value) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _mm_per_pixel(policy: DisplayPolicy, item: Item) -> float:
    if policy.per_slice_field_of_view:
        volume = item.slice.volume
        side = max(volume.rows * volume.row_spacing_mm, volume.columns * volume.column_spacing_mm)
        return side / policy.matrix_size
    return float(policy.field_of_view_mm) / policy.matrix_size


def item_dicom(survey: Survey, item: Item, pixels: np.ndarray, *, z_mm: float) -> bytes:
    """An item's displayed pixels as one CT image (HU, signed 16 bit) with UIDs of its own. Nothing in it says
    whether the item is real or synthetic: only its public id names it."""
    spacing = _mm_per_pixel(survey.display_policy, item)
    series = Series(
        study=Study(
            uid=archived_item_uid(survey.name, "study"),
            patient=Patient(name=item.public_id, id=item.public_id),
            description="Reader study items",
        ),
        modality="CT",
        uid=archived_item_uid(survey.name, "series"),
        number=1,
        description="Reader study item as shown",
        frame_of_reference_uid=archived_item_uid(item.public_id, "frame"),
        image_type=("DERIVED", "SECONDARY", "AXIAL"),
        pixel_spacing_mm=(spacing, spacing),
        encoding=HU_ENCODING,
        software_versions="blindread",
        window=DEFAULT_CT_WINDOW,
        derivation=Derivation(description="CT slice rendered under the reader study's display policy"),
    )
    rows, columns = pixels.shape
    image = AxialImage(
        sop_instance_uid=archived_item_uid(item.public_id, "instance"),
        instance_number=1,
        position_mm=centred_position(rows, columns, series.pixel_spacing_mm, AXIAL, z_mm),
        orientation=AXIAL,
        slice_location_mm=z_mm,
        pixels=np.ascontiguousarray(pixels, dtype=np.int16),
    )
    return dataset_bytes(slice_dataset(series, image))


def _provenance(slice_ids: Sequence[int]) -> dict[int, dict]:
    records = SyntheticSlice.objects.filter(output_id__in=list(slice_ids)).select_related("checkpoint")
    return {
        record.output_id: {
            "checkpoint": record.checkpoint.name,
            "checkpoint_sha256": record.checkpoint.sha256,
            "architecture": record.checkpoint.architecture,
            "input_modalities": record.checkpoint.input_modalities,
            "source_slice_ids": record.source_slice_ids,
            "software_version": record.software_version,
        }
        for record in records
    }


def _survey_files(survey: Survey, folder: str, pseudonyms: dict[int, str]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    policy = survey.display_policy
    items = list(survey.items.select_related("slice__volume__dataset").order_by("id"))
    provenance = _provenance([item.slice_id for item in items])
    public = {item.pk: item.public_id for item in items}
    item_rows = [
        _item_row(survey, item, "items", files, folder, provenance.get(item.slice_id)) for item in items
    ]
    practice_items = list(survey.practice_items.select_related("slice__volume__dataset").order_by("id"))
    practice_provenance = _provenance([item.slice_id for item in practice_items])
    practice_public = {item.pk: item.public_id for item in practice_items}
    practice_rows = [
        _item_row(survey, item, "practice", files, folder, practice_provenance.get(item.slice_id))
        for item in practice_items
    ]
    files[f"{folder}/items.json"] = _json(item_rows)
    files[f"{folder}/practice-items.json"] = _json(practice_rows)

    audit = survey.blinding_audits.order_by("-created_at").first()
    files[f"{folder}/survey.json"] = _json(
        {
            "name": survey.name,
            "model_alias": survey.model_alias,
            "model_dataset": {
                "name": survey.model_dataset.name,
                "kind": survey.model_dataset.kind,
                "contrast_enhanced": survey.model_dataset.contrast_enhanced,
            },
            "real_dataset": {
                "name": survey.real_dataset.name,
                "kind": survey.real_dataset.kind,
                "contrast_enhanced": survey.real_dataset.contrast_enhanced,
            },
            "real_count": survey.real_count,
            "synthetic_count": survey.synthetic_count,
            "seed": survey.seed,
            "status": survey.status,
            "allow_going_back": survey.allow_going_back,
            "reader_title": survey.reader_title,
            "instructions": survey.instructions,
            "display_policy": policy.to_dict(),
            "design": survey.design.to_dict(),
            "created_at": _time(survey.created_at),
            "opened_at": _time(survey.opened_at),
            "closed_at": _time(survey.closed_at),
            "rendered_at": _time(survey.rendered_at),
            "last_audit_at": _time(survey.last_audit_at),
            "last_audit_passed": survey.last_audit_passed,
            "last_audit_report": survey.last_audit_report,
            "last_audit_fingerprint": survey.last_audit_fingerprint,
            "last_blinding_audit_job": audit.pk if audit else None,
        }
    )

    assignments = list(
        survey.assignments.filter(is_audit=False)
        .select_related("reader__reader_profile")
        .order_by("reader_id")
    )
    assignment_rows = []
    for assignment in assignments:
        profile = getattr(assignment.reader, "reader_profile", None)
        assignment_rows.append(
            {
                "reader": pseudonyms[assignment.reader_id],
                "reader_specialty": profile.specialty if profile else "",
                "reader_years_of_experience": profile.years_of_experience if profile else None,
                "seed": assignment.seed,
                "item_order": [public[pk] for pk in assignment.item_order],
                "practice_order": [practice_public[pk] for pk in assignment.practice_order or []],
                "created_at": _time(assignment.created_at),
                "last_activity_at": _time(assignment.last_activity_at),
                "completed_at": _time(assignment.completed_at),
                "last_reminded_at": _time(assignment.last_reminded_at),
                "reminder_count": assignment.reminder_count,
            }
        )
    files[f"{folder}/assignments.json"] = _json(assignment_rows)

    files[f"{folder}/invitations.json"] = _json(
        [
            {
                "created_at": _time(invitation.created_at),
                "expires_at": _time(invitation.expires_at),
                "used_at": _time(invitation.used_at),
                "used_by": pseudonyms.get(invitation.used_by_id) if invitation.used_by_id else None,
                "revoked_at": _time(invitation.revoked_at),
                "state": invitation.state,
            }
            for invitation in survey.invitations.order_by("created_at", "id")
        ]
    )

    answers = list(
        Answer.objects.filter(item__survey=survey, assignment__is_audit=False)
        .select_related("assignment")
        .order_by("id")
    )
    files[f"{folder}/answers.json"] = _json(
        [
            {
                "reader": pseudonyms[answer.assignment.reader_id],
                "item": public[answer.item_id],
                **{name: getattr(answer, name) for name in ANSWER_CONTENT},
                "client_key": str(answer.client_key),
                "revision_count": answer.revision_count,
                "created_at": _time(answer.created_at),
                "updated_at": _time(answer.updated_at),
            }
            for answer in answers
        ]
    )
    revisions = AnswerRevision.objects.filter(answer__in=answers).select_related("answer").order_by("id")
    files[f"{folder}/revisions.json"] = _json(
        [
            {
                "reader": pseudonyms[revision.assignment.reader_id],
                "item": public[revision.answer.item_id],
                "revision": revision.revision,
                **{name: getattr(revision, name) for name in ANSWER_CONTENT},
                "client_key": str(revision.client_key),
                "created_at": _time(revision.created_at),
            }
            for revision in revisions.select_related("assignment")
        ]
    )
    practice_answers = list(
        PracticeAnswer.objects.filter(assignment__in=assignments).select_related("assignment").order_by("id")
    )
    files[f"{folder}/practice-answers.json"] = _json(
        [
            {
                "reader": pseudonyms[answer.assignment.reader_id],
                "practice_item": practice_public[answer.practice_item_id],
                **{name: getattr(answer, name) for name in PRACTICE_CONTENT},
                "client_key": str(answer.client_key),
                "created_at": _time(answer.created_at),
            }
            for answer in practice_answers
        ]
    )
    rounds = list(
        ReadingRound.objects.filter(assignment__in=assignments).select_related("assignment").order_by("id")
    )
    files[f"{folder}/rounds.json"] = _json(
        [
            {
                "reader": pseudonyms[reading_round.assignment.reader_id],
                "number": reading_round.number,
                "item_order": [public[pk] for pk in reading_round.item_order],
                "opens_at": _time(reading_round.opens_at),
                "created_at": _time(reading_round.created_at),
                "completed_at": _time(reading_round.completed_at),
            }
            for reading_round in rounds
        ]
    )
    repeat_answers = list(
        RepeatAnswer.objects.filter(reading_round__in=rounds)
        .select_related("reading_round__assignment")
        .order_by("id")
    )
    files[f"{folder}/repeat-answers.json"] = _json(
        [
            {
                "reader": pseudonyms[answer.reading_round.assignment.reader_id],
                "round": answer.reading_round.number,
                "item": public[answer.item_id],
                **{name: getattr(answer, name) for name in ANSWER_CONTENT},
                "client_key": str(answer.client_key),
                "created_at": _time(answer.created_at),
            }
            for answer in repeat_answers
        ]
    )
    files[f"{folder}/audit-events.json"] = _json(
        _audit_events(
            survey,
            items,
            answers,
            assignments,
            extra={
                "studies.practiceitem": [item.pk for item in practice_items],
                "studies.practiceanswer": [answer.pk for answer in practice_answers],
                "studies.readinground": [reading_round.pk for reading_round in rounds],
                "studies.repeatanswer": [answer.pk for answer in repeat_answers],
            },
        )
    )
    return files


def centre_slice(payload: bytes, policy: DisplayPolicy, design: StudyDesign) -> np.ndarray:
    """The slice an item is answered for: the payload's only image, or the centre slice of a stack's."""
    if not design.stack_k:
        return decode_payload(payload, policy.matrix_size)
    return decode_payload(payload, policy.matrix_size, slices=design.stack_slices)[design.stack_k]


def _item_row(survey: Survey, item, kind: str, files: dict, folder: str, provenance: dict | None) -> dict:
    """The truth-table row of a test or practice item; its payload (checked against its sha256) and its DICOM go
    into `files` under ``kind/``."""
    with default_storage.open(item.payload, "rb") as handle:
        payload = handle.read()
    if sha256_of(payload) != item.payload_sha256:
        raise ArchiveError(
            f"item {item.public_id} of {survey.name!r}: its payload file does not match its sha256"
        )
    source = item.slice
    files[f"{folder}/{kind}/{item.public_id}.i16"] = payload
    files[f"{folder}/{kind}/{item.public_id}.dcm"] = item_dicom(
        survey, item, centre_slice(payload, survey.display_policy, survey.design), z_mm=source.z_mm
    )
    return {
        "public_id": item.public_id,
        "truth": item.truth,
        "axial_layer": item.axial_layer,
        "payload": f"{kind}/{item.public_id}.i16",
        "payload_sha256": item.payload_sha256,
        "dicom": f"{kind}/{item.public_id}.dcm",
        "mm_per_pixel": _mm_per_pixel(survey.display_policy, item),
        "source": {
            "dataset": source.volume.dataset.name,
            "volume_uid": str(source.volume.uid),
            "patient": source.volume.patient,
            "slice_id": source.pk,
            "slice_index": source.index,
            "z_mm": source.z_mm,
            "sop_instance_uid": source.sop_instance_uid,
        },
        "model_provenance": provenance,
    }


def _audit_events(survey, items, answers, assignments, *, extra: dict) -> list[dict]:
    targets = {
        **extra,
        "studies.survey": [survey.pk],
        "studies.item": [item.pk for item in items],
        "studies.answer": [answer.pk for answer in answers],
        "studies.assignment": [assignment.pk for assignment in assignments],
        "studies.invitation": list(survey.invitations.values_list("pk", flat=True)),
        "studies.blindingaudit": list(
            BlindingAudit.objects.filter(survey=survey).values_list("pk", flat=True)
        ),
    }
    events = []
    for object_type, ids in targets.items():
        rows = AuditEvent.objects.filter(object_type=object_type, object_id__in=[str(pk) for pk in ids])
        events.extend(rows)
    actors = reports.reader_pseudonyms(event.actor_id for event in events if event.actor_id)
    return [
        {
            "created_at": _time(event.created_at),
            "actor": actors.get(event.actor_id) if event.actor_id else None,
            "verb": event.verb,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "details": {key: value for key, value in event.details.items() if "token" not in key},
        }
        for event in sorted(events, key=lambda event: (event.created_at, event.pk))
    ]


ARCHIVE_DICTIONARY = {
    "manifest.json": "format (the archive format version), surveys (names, in order), created_at, files: "
    "sha256 and bytes of every other file",
    "answers.csv": "every current answer of the selection, one row each (columns: data-dictionary.csv)",
    "data-dictionary.csv": "the columns of answers.csv",
    "statistics/stats.json": "the statistics of the selection, as the report's JSON download",
    "statistics/report.pdf": "the report of the selection, as the report's PDF download",
    "surveys/NN/survey.json": "the survey: name, model_alias, model_dataset and real_dataset (name, kind, "
    "contrast_enhanced), real_count, synthetic_count, seed, status, allow_going_back, reader_title, instructions, "
    "display_policy (studies.policy.DisplayPolicy), design (studies.design.StudyDesign: rating scale, "
    "choice_from_rating, window presets, practice_items, repeat, repeat_items, washout_days; version 2), "
    "created_at, opened_at, closed_at, rendered_at, the last blinding audit (last_audit_*)",
    "surveys/NN/items.json": "the truth table: per item public_id, truth (real|synthetic), axial_layer (1..10), "
    "payload and payload_sha256, dicom, mm_per_pixel, source (dataset, volume_uid, patient pseudonym, slice_id, "
    "slice_index, z_mm, sop_instance_uid) and model_provenance (checkpoint, checkpoint_sha256, architecture, "
    "input_modalities, source_slice_ids, software_version; null for real CT and imported synthetic CT)",
    "surveys/NN/items/ID.i16": "the item's pixels exactly as served to readers: matrix x matrix little-endian "
    "int16 HU, row by row; for a stack survey its 2k+1 slices one after the other, the centre slice (the one "
    "answered for) in the middle",
    "surveys/NN/items/ID.dcm": "the same pixels as a CT Image (DERIVED\\SECONDARY, new UIDs, no truth); for a "
    "stack, its centre slice",
    "surveys/NN/practice-items.json": "the practice items (version 2), read first with feedback and never part of "
    "the test: the same fields as items.json, payload and dicom under practice/",
    "surveys/NN/practice/ID.i16": "a practice item's pixels exactly as served (as items/ID.i16)",
    "surveys/NN/practice/ID.dcm": "the same pixels as a CT Image (as items/ID.dcm)",
    "surveys/NN/assignments.json": "per reader: reader (pseudonym), reader_specialty, reader_years_of_experience, "
    "seed, item_order (public ids), practice_order (practice public ids; version 2), created_at, "
    "last_activity_at, completed_at, last_reminded_at, reminder_count",
    "surveys/NN/invitations.json": "per invitation: created_at, expires_at, used_at, used_by (pseudonym), "
    "revoked_at, state; never the token or the e-mail address",
    "surveys/NN/answers.json": "per current answer: reader, item, choice, reason, seconds_on_slice, window_width, "
    "window_level, zoom, window_changed, rating (on the survey's scale, null without one; version 2), "
    "invert_used (version 2), slices_visited (offsets from the centre slice of a stack, in the order visited; [] "
    "for a single slice) and seconds_per_slice (version 3), client_key, revision_count, created_at, updated_at",
    "surveys/NN/revisions.json": "every submission, in order: reader, item, revision (1..), the same answer "
    "fields, client_key, created_at",
    "surveys/NN/practice-answers.json": "per practice answer (version 2): reader, practice_item (public id), "
    "choice, rating, seconds_on_slice, client_key, created_at; window_width, window_level, zoom, "
    "window_changed, invert_used, slices_visited, seconds_per_slice (version 3; null when not recorded)",
    "surveys/NN/rounds.json": "per second reading (version 2): reader, number (2), item_order (public ids), "
    "opens_at (the first reading's end plus the wash-out), created_at, completed_at",
    "surveys/NN/repeat-answers.json": "per answer of a second reading (version 2): reader, round, item, the "
    "answer fields of answers.json, client_key, created_at",
    "surveys/NN/audit-events.json": "the audit rows of the survey, its items, answers, assignments, "
    "invitations, blinding audits, practice items and answers, rounds and repeat answers: created_at, actor "
    "(pseudonym), verb, object_type, object_id, details",
    "times": "ISO 8601 with time zone",
}


def build_archive(surveys: Sequence[Survey], *, progress: Progress | None = None) -> bytes:
    """The archive of `surveys` (in that order), as bytes."""
    if not surveys:
        raise ArchiveError("choose at least one survey to export")
    stored = reports.stored_report(surveys)
    job = stored.job if stored is not None and not stored.is_stale else report_now(surveys=surveys)
    reader_ids = Assignment.objects.filter(survey__in=list(surveys)).values_list("reader_id", flat=True)
    invited = Invitation.objects.filter(survey__in=list(surveys), used_by__isnull=False).values_list(
        "used_by_id", flat=True
    )
    pseudonyms = reports.reader_pseudonyms([*reader_ids, *invited])
    files = {
        "answers.csv": answers_csv(reports.answer_rows(surveys)),
        "data-dictionary.csv": data_dictionary_csv(),
        "archive-dictionary.json": _json(ARCHIVE_DICTIONARY),
        "statistics/stats.json": artefact(job, "stats_json"),
        "statistics/report.pdf": artefact(job, "pdf"),
    }
    if progress is not None:
        progress.start(len(surveys), "writing the surveys")
    for number, survey in enumerate(surveys, start=1):
        files.update(_survey_files(survey, f"surveys/{number:02d}", pseudonyms))
        if progress is not None:
            progress.set(number)
    return write_archive(
        files,
        metadata={
            "surveys": [survey.name for survey in surveys],
            "created_at": timezone.now().isoformat(),
            "report_job": job.pk,
        },
    )


def request_export(*, surveys: Sequence[Survey], actor=None, enqueue: bool = True) -> StudyExport:
    if not surveys:
        raise ArchiveError("choose at least one survey to export")
    return queue_job(
        StudyExport,
        actor=actor,
        enqueue=enqueue,
        details={"surveys": [survey.name for survey in surveys]},
        survey_ids=[survey.pk for survey in surveys],
    )


def run_study_export(job: StudyExport, progress: Progress) -> JobOutcome:
    surveys = reports.surveys_by_ids(job.survey_ids)
    if len(surveys) != len(job.survey_ids):
        raise ArchiveError("a survey of this export no longer exists")
    content = build_archive(surveys, progress=progress)
    try:
        name = store_file(f"archives/exports/{job.pk}/study-archive.zip", content)
    except StorageFailed as exc:
        raise ArchiveError(f"the archive could not be stored: {exc}") from None
    digest = sha256_of(content)
    try:
        StudyExport.objects.filter(pk=job.pk).update(archive=name, archive_sha256=digest)
    except BaseException:
        default_storage.delete(name)
        raise
    return JobOutcome(
        message=f"archive of {len(surveys)} survey(s), {len(content)} bytes",
        result={"surveys": [survey.name for survey in surveys], "bytes": len(content), "sha256": digest},
    )


def export_now(*, surveys: Sequence[Survey], actor=None) -> StudyExport:
    """Export `surveys` in this process; returns the finished job (ArchiveError when it failed)."""
    job = request_export(surveys=surveys, actor=actor, enqueue=False)
    execute(StudyExport.label(), job.pk)
    job.refresh_from_db()
    if job.status != "done":
        raise ArchiveError(job.error or "the export failed")
    return job


def archive_content(job: StudyExport) -> bytes:
    with default_storage.open(job.archive, "rb") as handle:
        return handle.read()


# --- Import ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SurveyParts:
    folder: str
    survey: dict
    items: list
    assignments: list
    invitations: list
    answers: list
    revisions: list
    events: int
    practice_items: list
    practice_answers: list
    rounds: list
    repeat_answers: list


def _when(value):
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise ArchiveRejected(f"not a time: {value!r}")
    return parsed


def _parts(archive: Archive) -> list[_SurveyParts]:
    names = archive.manifest.get("surveys")
    if not isinstance(names, list) or not names:
        raise ArchiveRejected("the manifest names no surveys")
    parts = []
    for number, name in enumerate(names, start=1):
        folder = f"surveys/{number:02d}"
        survey = archive.json(f"{folder}/survey.json")
        if not isinstance(survey, dict) or survey.get("name") != name:
            raise ArchiveRejected(f"{folder}/survey.json does not describe survey {name!r}")
        version_1 = archive.manifest["format"] == FORMAT_VERSION_1
        version_2 = archive.manifest["format"] == FORMAT_VERSION_2
        if version_1:  # written before the study design: no rating, practice or second reading
            survey = {**survey, "design": {}}

        def table(part: str, *, since_version_2: bool = False, folder=folder, version_1=version_1):
            return [] if since_version_2 and version_1 else archive.json(f"{folder}/{part}.json")

        def answer_rows(
            part: str,
            *,
            since_version_2=False,
            practice=False,
            version_1=version_1,
            version_2=version_2,
            table=table,
            folder=folder,
        ):
            rows = table(part, since_version_2=since_version_2)
            defaults = (
                (VERSION_2_PRACTICE_DEFAULTS if practice else VERSION_2_ANSWER_DEFAULTS)
                if version_2
                else VERSION_1_ANSWER_DEFAULTS
                if version_1
                else {}
            )
            if defaults:  # the fields added since, as an answer that did not record them has them
                try:
                    rows = [{**defaults, **row} for row in rows]
                except TypeError:
                    raise ArchiveRejected(f"{folder}/{part}.json is not a list of answers") from None
            return rows

        parts.append(
            _SurveyParts(
                folder=folder,
                survey=survey,
                items=table("items"),
                assignments=table("assignments"),
                invitations=table("invitations"),
                answers=answer_rows("answers"),
                revisions=answer_rows("revisions"),
                events=len(table("audit-events")),
                practice_items=table("practice-items", since_version_2=True),
                practice_answers=answer_rows("practice-answers", since_version_2=True, practice=True),
                rounds=table("rounds", since_version_2=True),
                repeat_answers=answer_rows("repeat-answers", since_version_2=True),
            )
        )
    return parts


def _check_answers_match_revisions(part: _SurveyParts) -> None:
    """Every answer says what its latest revision says (as the database demands), on any database."""
    revisions = {(r["reader"], r["item"], r["revision"]): r for r in part.revisions}
    for answer in part.answers:
        revision = revisions.get((answer["reader"], answer["item"], answer["revision_count"]))
        fields = (*ANSWER_CONTENT, "client_key")
        if revision is None or any(revision[name] != answer[name] for name in fields):
            raise ArchiveRejected(
                f"the archive's rows are inconsistent: in {part.folder}, the answer of {answer['reader']} to "
                f"{answer['item']} differs from its revision {answer['revision_count']}"
            )


def _check_target(parts: list[_SurveyParts]) -> None:
    names = [part.survey["name"] for part in parts]
    taken = list(Survey.objects.filter(name__in=names).values_list("name", flat=True))
    if taken:
        raise ArchiveRejected(f"survey {taken[0]!r} already exists here; import into an instance without it")
    public_ids = [item["public_id"] for part in parts for item in part.items]
    if Item.objects.filter(public_id__in=public_ids).exists():
        raise ArchiveRejected("an item of the archive already exists here (same public id)")
    practice_ids = [item["public_id"] for part in parts for item in part.practice_items]
    if PracticeItem.objects.filter(public_id__in=practice_ids).exists():
        raise ArchiveRejected("a practice item of the archive already exists here (same public id)")


def _dataset_name(description: dict, digest: str) -> str:
    name = description["name"]
    return name if dataset_named(name) is None else f"{name} [archive {digest[:8]}]"


def _reader(pseudonym: str, profile: dict | None):
    users = get_user_model()
    user, created = users.objects.get_or_create(
        username=f"{reports.ARCHIVED_READER_PREFIX}{pseudonym}", defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        if profile and (
            profile.get("reader_specialty") or profile.get("reader_years_of_experience") is not None
        ):
            ReaderProfile.objects.create(
                user=user,
                specialty=profile.get("reader_specialty") or "",
                years_of_experience=profile.get("reader_years_of_experience"),
            )
    return user


def _raw_insert(instance):
    """Insert a row as it was (its stored times kept, not stamped now), as loaddata does."""
    instance.save_base(raw=True)
    return instance


def _import_survey(archive: Archive, part: _SurveyParts, *, written: list[str], progress: Progress | None):
    data = part.survey
    policy = DisplayPolicy.from_dict(data["display_policy"])
    try:
        design = StudyDesign.from_dict(data["design"])
    except DesignError as exc:
        raise ArchiveRejected(f"{part.folder}/survey.json: {exc}") from None
    names = {
        "real": _dataset_name(data["real_dataset"], archive.sha256),
        "synthetic": _dataset_name(data["model_dataset"], archive.sha256),
    }
    datasets = {}

    def restore(entry: dict) -> tuple:
        """An item's pixels (a stack's centre slice) as a one-slice volume of its side's dataset: (entry, its
        slice, its payload, which is restored byte for byte, a stack's every slice)."""
        payload = archive.files[f"{part.folder}/{entry['payload']}"]
        if sha256_of(payload) != entry["payload_sha256"]:
            raise ArchiveRejected(f"item {entry['public_id']}: its payload does not match its sha256")
        truth = entry["truth"]
        if truth not in ("real", "synthetic"):
            raise ArchiveRejected(f"item {entry['public_id']}: unknown truth {truth!r}")
        description = data["real_dataset"] if truth == "real" else data["model_dataset"]
        volume = store_volume(
            dataset_name=names[truth],
            kind="ct" if truth == "real" else "sct",
            contrast=description.get("contrast_enhanced"),
            data=VolumeData(
                patient=entry["source"]["patient"],
                modality="ct",
                series_key=archived_item_uid(archive.sha256, entry["public_id"]),
                source_format="dicom",
                source_path=f"archive {archive.sha256}: {part.folder}/{entry['dicom']}",
                pixels=centre_slice(payload, policy, design).astype(np.int16)[np.newaxis],
                z_mm=np.array([float(entry["source"]["z_mm"])]),
                row_spacing_mm=float(entry["mm_per_pixel"]),
                column_spacing_mm=float(entry["mm_per_pixel"]),
                orientation=AXIAL,
            ),
        )
        stored = slices_of(volume)
        written.extend(s.pixels for s in stored)
        datasets[truth] = volume.dataset
        if progress is not None:
            progress.advance()
        return entry, stored[0], payload

    restored = [restore(entry) for entry in part.items]
    restored_practice = [restore(entry) for entry in part.practice_items]
    if set(datasets) != {"real", "synthetic"}:
        raise ArchiveRejected(f"survey {data['name']!r} has no items on both sides")
    created_at = _when(data["created_at"])
    survey = _raw_insert(
        Survey(
            name=data["name"],
            model_dataset=datasets["synthetic"],
            model_alias=data["model_alias"],
            real_dataset=datasets["real"],
            real_count=data["real_count"],
            synthetic_count=data["synthetic_count"],
            seed=data["seed"],
            status=Survey.Status.CLOSED,
            allow_going_back=data["allow_going_back"],
            reader_title=data["reader_title"],
            instructions=data["instructions"],
            display_policy=policy,
            design=design,
            created_at=created_at,
            opened_at=_when(data["opened_at"]) or created_at,
            closed_at=_when(data["closed_at"]) or timezone.now(),
            rendered_at=_when(data["rendered_at"]),
            last_audit_at=_when(data["last_audit_at"]),
            last_audit_passed=data["last_audit_passed"],
            last_audit_report=data["last_audit_report"],
            last_audit_fingerprint=data["last_audit_fingerprint"],
        )
    )

    def insert_items(model, restored_entries, prefix: str) -> dict:
        """The survey's test or practice items, each payload stored again byte for byte, by public id."""
        inserted = {}
        for entry, slice_, payload in restored_entries:
            name = store_file(f"survey-items/{survey.pk}/{prefix}{secrets.token_hex(16)}.i16", payload)
            written.append(name)
            inserted[entry["public_id"]] = _raw_insert(
                model(
                    survey=survey,
                    public_id=entry["public_id"],
                    slice=slice_,
                    truth=entry["truth"],
                    axial_layer=entry["axial_layer"],
                    payload=name,
                    payload_sha256=entry["payload_sha256"],
                )
            )
        return inserted

    items: dict[str, Item] = insert_items(Item, restored, "")
    practice_items: dict[str, PracticeItem] = insert_items(PracticeItem, restored_practice, "practice-")

    readers = {}
    assignments = {}
    for entry in part.assignments:
        reader = readers[entry["reader"]] = _reader(entry["reader"], entry)
        assignments[entry["reader"]] = _raw_insert(
            Assignment(
                key=new_opaque_id(),
                survey=survey,
                reader=reader,
                seed=entry["seed"],
                item_order=[items[public_id].pk for public_id in entry["item_order"]],
                practice_order=[
                    practice_items[public_id].pk for public_id in entry.get("practice_order", [])
                ],
                created_at=_when(entry["created_at"]),
                last_activity_at=_when(entry["last_activity_at"]),
                completed_at=_when(entry["completed_at"]),
                last_reminded_at=_when(entry["last_reminded_at"]),
                reminder_count=entry["reminder_count"],
            )
        )
    now = timezone.now()
    for entry in part.invitations:
        used_by = entry.get("used_by")
        revoked_at = _when(entry["revoked_at"])
        used_at = _when(entry["used_at"])
        _raw_insert(
            Invitation(
                survey=survey,
                created_at=_when(entry["created_at"]),
                expires_at=_when(entry["expires_at"]),
                used_at=used_at,
                used_by=readers.get(used_by) or (_reader(used_by, None) if used_by else None),
                # The survey is closed: an invitation still pending would let nobody in; say so.
                revoked_at=revoked_at or (None if used_at else now),
            )
        )
    answers = {}
    for entry in part.answers:
        assignment = assignments[entry["reader"]]
        answers[(entry["reader"], entry["item"])] = _raw_insert(
            Answer(
                assignment=assignment,
                item=items[entry["item"]],
                **{name: entry[name] for name in ANSWER_CONTENT},
                client_key=uuid.UUID(entry["client_key"]),
                revision_count=entry["revision_count"],
                created_at=_when(entry["created_at"]),
                updated_at=_when(entry["updated_at"]),
            )
        )
    for entry in part.revisions:
        answer = answers[(entry["reader"], entry["item"])]
        _raw_insert(
            AnswerRevision(
                answer=answer,
                assignment=answer.assignment,
                revision=entry["revision"],
                **{name: entry[name] for name in ANSWER_CONTENT},
                client_key=uuid.UUID(entry["client_key"]),
                created_at=_when(entry["created_at"]),
            )
        )
    for entry in part.practice_answers:
        _raw_insert(
            PracticeAnswer(
                assignment=assignments[entry["reader"]],
                practice_item=practice_items[entry["practice_item"]],
                **{name: entry[name] for name in PRACTICE_CONTENT},
                client_key=uuid.UUID(entry["client_key"]),
                created_at=_when(entry["created_at"]),
            )
        )
    rounds = {}
    for entry in part.rounds:
        rounds[(entry["reader"], entry["number"])] = _raw_insert(
            ReadingRound(
                assignment=assignments[entry["reader"]],
                number=entry["number"],
                item_order=[items[public_id].pk for public_id in entry["item_order"]],
                opens_at=_when(entry["opens_at"]),
                created_at=_when(entry["created_at"]),
                completed_at=_when(entry["completed_at"]),
            )
        )
    for entry in part.repeat_answers:
        _raw_insert(
            RepeatAnswer(
                reading_round=rounds[(entry["reader"], entry["round"])],
                item=items[entry["item"]],
                **{name: entry[name] for name in ANSWER_CONTENT},
                client_key=uuid.UUID(entry["client_key"]),
                created_at=_when(entry["created_at"]),
            )
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


def import_archive(content: bytes, *, actor=None, progress: Progress | None = None) -> list[Survey]:
    """Restore the surveys of an archive as closed surveys; all or nothing (ArchiveRejected: one line)."""
    archive = read_archive(content)
    parts = _parts(archive)
    try:
        for part in parts:
            _check_answers_match_revisions(part)
        _check_target(parts)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ArchiveRejected(
            f"the archive's tables are not as described ({type(exc).__name__}: {exc})"
        ) from None
    if progress is not None:
        progress.start(
            sum(len(part.items) + len(part.practice_items) for part in parts), "restoring the items"
        )
    written: list[str] = []
    try:
        with transaction.atomic():
            kept = store_file(f"archives/imported/{archive.sha256}.zip", content)
            written.append(kept)
            surveys = []
            for part in parts:
                try:
                    survey = _import_survey(archive, part, written=written, progress=progress)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    if isinstance(exc, ArchiveRejected):
                        raise
                    raise ArchiveRejected(
                        f"{part.folder} does not hold a valid survey ({type(exc).__name__}: {exc})"
                    ) from None
                record_event(
                    actor=actor,
                    verb="survey.imported",
                    target=survey,
                    details={
                        "archive_sha256": archive.sha256,
                        "archive": kept,
                        "format": archive.manifest["format"],
                        "archived_audit_events": part.events,
                    },
                )
                surveys.append(survey)
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
    return surveys


def request_import(*, archive_name: str, actor=None, enqueue: bool = True) -> StudyImport:
    return queue_job(
        StudyImport, actor=actor, enqueue=enqueue, details={"archive": archive_name}, archive=archive_name
    )


def run_study_import(job: StudyImport, progress: Progress) -> JobOutcome:
    with default_storage.open(job.archive, "rb") as handle:
        content = handle.read()
    try:
        surveys = import_archive(content, actor=job.created_by, progress=progress)
    except ArchiveRejected as exc:
        raise ArchiveError(str(exc)) from None
    StudyImport.objects.filter(pk=job.pk).update(
        archive_sha256=hashlib.sha256(content).hexdigest(), survey_ids=[survey.pk for survey in surveys]
    )
    return JobOutcome(
        message=f"imported {len(surveys)} closed survey(s): {', '.join(survey.name for survey in surveys)}",
        result={"surveys": [survey.name for survey in surveys]},
    )


def import_now(content: bytes, *, actor=None) -> StudyImport:
    """Import an archive in this process, as its job; returns the finished job (ArchiveError: one line, and
    nothing of the archive stored: the uploaded copy is deleted again)."""
    try:
        name = store_file(f"archives/uploads/{uuid.uuid4().hex}.zip", content)
    except StorageFailed as exc:
        raise ArchiveError(f"nothing imported: {exc}") from None
    try:
        job = request_import(archive_name=name, actor=actor, enqueue=False)
        execute(StudyImport.label(), job.pk)
        job.refresh_from_db()
    finally:
        default_storage.delete(name)
    if job.status != "done":
        raise ArchiveError(job.error or "the import failed")
    return job
