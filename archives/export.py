"""Writing a study archive: every survey of a selection, with what readers saw and answered and what was computed
from it, in one zip (`archives.format`), signed with this site's key when asked (`archives.signing`).

Per survey, under ``surveys/NN/``: the studies tables (studies.archive: ``survey.json``, ``assignments.json``,
``invitations.json``, ``answers.json``, ``revisions.json``, ``practice-answers.json``, ``rounds.json``,
``repeat-answers.json``), ``items.json`` and ``practice-items.json`` (the truth table: each item's studies fields,
its source slice from imaging.archive and the model's provenance from generation.archive), ``items/<public id>.i16``
(each rendered payload, byte for byte as served) and ``items/<public id>.dcm`` (the same pixels as a CT image with
new UIDs, written by imaging.dicom's writer; no truth in it), and ``audit-events.json`` (audit.archive). For the
selection: ``answers.csv`` and ``data-dictionary.csv`` (as the report downloads), ``statistics/stats.json`` and
``statistics/report.pdf`` (the stored report of the selection, computed first when missing or out of date) and
``archive-dictionary.json`` (archives.dictionary). ``manifest.json`` holds the format version and a SHA-256 per
file; ``manifest.sig`` its signature.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from django.core.files.storage import default_storage
from django.utils import timezone

from archives import reporting
from archives.dictionary import ARCHIVE_DICTIONARY
from archives.errors import ArchiveError
from archives.format import sha256_of, write_archive
from archives.signing import SigningKey
from audit.archive import archived_event, events_for_archive
from generation.archive import model_provenance
from imaging.archive import AXIAL, dataset_description, slice_sources
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
from jobs.services import Progress
from studies import archive as studies_archive
from studies.design import StudyDesign
from studies.models import Assignment, Invitation, Survey
from studies.policy import DisplayPolicy
from studies.rendering import decode_payload

HU_ENCODING = PixelEncoding(bits_stored=16, signed=True, rescale_intercept=0)


def _json(value) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def mm_per_pixel(policy: DisplayPolicy, field_of_view_mm: float) -> float:
    """The size of a displayed pixel: the policy's field of view, or the slice's own (`field_of_view_mm`)."""
    if policy.per_slice_field_of_view:
        return field_of_view_mm / policy.matrix_size
    return float(policy.field_of_view_mm) / policy.matrix_size


def centre_slice(payload: bytes, policy: DisplayPolicy, design: StudyDesign) -> np.ndarray:
    """The slice an item is answered for: the payload's only image, or the middle slice of a stack's or a slab's."""
    if not design.scrolls:
        return decode_payload(payload, policy.matrix_size)
    return decode_payload(payload, policy.matrix_size, slices=design.stack_slices)[design.centre_slice]


def item_dicom(survey: Survey, public_id: str, pixels: np.ndarray, *, z_mm: float, spacing: float) -> bytes:
    """An item's displayed pixels as one CT image (HU, signed 16 bit) with UIDs of its own. Nothing in it says
    whether the item is real or synthetic: only its public id names it."""
    series = Series(
        study=Study(
            uid=archived_item_uid(survey.name, "study"),
            patient=Patient(name=public_id, id=public_id),
            description="Reader study items",
        ),
        modality="CT",
        uid=archived_item_uid(survey.name, "series"),
        number=1,
        description="Reader study item as shown",
        frame_of_reference_uid=archived_item_uid(public_id, "frame"),
        image_type=("DERIVED", "SECONDARY", "AXIAL"),
        pixel_spacing_mm=(spacing, spacing),
        encoding=HU_ENCODING,
        software_versions="blindread",
        window=DEFAULT_CT_WINDOW,
        derivation=Derivation(description="CT slice rendered under the reader study's display policy"),
    )
    rows, columns = pixels.shape
    image = AxialImage(
        sop_instance_uid=archived_item_uid(public_id, "instance"),
        instance_number=1,
        position_mm=centred_position(rows, columns, series.pixel_spacing_mm, AXIAL, z_mm),
        orientation=AXIAL,
        slice_location_mm=z_mm,
        pixels=np.ascontiguousarray(pixels, dtype=np.int16),
    )
    return dataset_bytes(slice_dataset(series, image))


def _item_rows(survey: Survey, items, table, kind: str, folder: str, files: dict) -> list[dict]:
    """The truth-table rows of a survey's test or practice items; each payload (checked against its sha256) and
    its DICOM go into `files` under ``kind/``."""
    sources = slice_sources(item.slice_id for item in items)
    provenance = model_provenance(item.slice_id for item in items)
    rows = []
    for item in items:
        with default_storage.open(item.payload, "rb") as handle:
            payload = handle.read()
        if sha256_of(payload) != item.payload_sha256:
            raise ArchiveError(
                f"item {item.public_id} of {survey.name!r}: its payload file does not match its sha256"
            )
        source = sources[item.slice_id]
        spacing = mm_per_pixel(survey.display_policy, source.field_of_view_mm)
        files[f"{folder}/{kind}/{item.public_id}.i16"] = payload
        files[f"{folder}/{kind}/{item.public_id}.dcm"] = item_dicom(
            survey,
            item.public_id,
            centre_slice(payload, survey.display_policy, survey.design),
            z_mm=source.description["z_mm"],
            spacing=spacing,
        )
        rows.append(
            {
                **table.dump(item),
                "payload": f"{kind}/{item.public_id}.i16",
                "dicom": f"{kind}/{item.public_id}.dcm",
                "mm_per_pixel": spacing,
                "source": source.description,
                "model_provenance": provenance.get(item.slice_id),
            }
        )
    return rows


def survey_files(survey: Survey, folder: str, pseudonyms: dict[int, str]) -> dict[str, bytes]:
    """Every file of one survey's folder."""
    exported = studies_archive.survey_tables(
        survey,
        pseudonyms=pseudonyms,
        datasets={
            "model": dataset_description(survey.model_dataset),
            "real": dataset_description(survey.real_dataset),
        },
    )
    files: dict[str, bytes] = {}
    tables = {
        **exported.tables,
        studies_archive.ITEMS.table: _item_rows(
            survey, exported.items, studies_archive.ITEMS, "items", folder, files
        ),
        studies_archive.PRACTICE_ITEMS.table: _item_rows(
            survey, exported.practice_items, studies_archive.PRACTICE_ITEMS, "practice", folder, files
        ),
    }
    for table, rows in tables.items():
        files[f"{folder}/{table}"] = _json(rows)
    events = events_for_archive(exported.audit_targets)
    actors = reporting.reader_pseudonyms(event.actor_id for event in events if event.actor_id)
    files[f"{folder}/audit-events.json"] = _json(
        [
            archived_event(event, actor=actors.get(event.actor_id) if event.actor_id else None)
            for event in events
        ]
    )
    return files


def build_archive(
    surveys: Sequence[Survey], *, progress: Progress | None = None, signing_key: SigningKey | None = None
) -> bytes:
    """The archive of `surveys` (in that order), as bytes; signed with `signing_key` when one is given."""
    if not surveys:
        raise ArchiveError("choose at least one survey to export")
    job = reporting.current_report(surveys)
    reader_ids = Assignment.objects.filter(survey__in=list(surveys)).values_list("reader_id", flat=True)
    invited = Invitation.objects.filter(survey__in=list(surveys), used_by__isnull=False).values_list(
        "used_by_id", flat=True
    )
    pseudonyms = reporting.reader_pseudonyms([*reader_ids, *invited])
    files = {
        "answers.csv": reporting.answers_csv(reporting.answer_rows(surveys)),
        "data-dictionary.csv": reporting.data_dictionary_csv(),
        "archive-dictionary.json": _json(ARCHIVE_DICTIONARY),
        "statistics/stats.json": reporting.artefact(job, "stats_json"),
        "statistics/report.pdf": reporting.artefact(job, "pdf"),
    }
    if progress is not None:
        progress.start(len(surveys), "writing the surveys")
    for number, survey in enumerate(surveys, start=1):
        files.update(survey_files(survey, f"surveys/{number:02d}", pseudonyms))
        if progress is not None:
            progress.set(number)
    return write_archive(
        files,
        metadata={
            "surveys": [survey.name for survey in surveys],
            "created_at": timezone.now().isoformat(),
            "report_job": job.pk,
        },
        sign=signing_key.sign if signing_key is not None else None,
    )
