"""The PHI scan: look for identifying strings (a patient's name, ID, birth date...) and identifying DICOM
attributes in the database, the storage tree and, given files or folders, an export.

- Database: every table, each row read as text (PostgreSQL: the row cast to text; elsewhere every column), case
  insensitive.
- Files (storage and exports): each file's name and bytes, the members of a zip unpacked (in blocks, capped),
  the compressed streams of a PDF inflated, and a DICOM file's attributes: a value left in any attribute the
  de-identification profile removes or empties, any person name besides the patient's, and any private
  attribute, is a finding.

Every finding is one line; none means none of the values was found anywhere that was searched."""

import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from django.core.files.storage import default_storage
from django.db import connection

from imaging.dicom.deidentify import CLEAN, EMPTY, REMOVE
from storage import folder_exists

MAX_MEMBER_BYTES = 256 * 1024**2  # of one zip member read for the scan
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


@dataclass
class PhiReport:
    findings: list[str] = field(default_factory=list)
    tables: int = 0
    stored_files: int = 0
    export_files: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings


def scan(
    values: Iterable[str], *, exports: Iterable[str | Path] = (), database=True, storage=True
) -> PhiReport:
    needles = sorted({v.strip() for v in values if v and v.strip()}, key=str.lower)
    report = PhiReport()
    if database:
        _scan_database(needles, report)
    if storage:
        for name in _stored_names(""):
            report.stored_files += 1
            with default_storage.open(name, "rb") as handle:
                report.findings.extend(
                    f"storage {name}: {hit}" for hit in _scan_blob(name, handle.read(), needles)
                )
    for export in exports:
        root = Path(export)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            report.export_files += 1
            report.findings.extend(
                f"file {path}: {hit}" for hit in _scan_blob(str(path), path.read_bytes(), needles)
            )
    return report


# --- Database ---------------------------------------------------------------------------------------------------


def _scan_database(needles: list[str], report: PhiReport) -> None:
    with connection.cursor() as cursor:
        tables = sorted(connection.introspection.table_names(cursor))
        for table in tables:
            report.tables += 1
            quoted = connection.ops.quote_name(table)
            for needle in needles:
                pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                if connection.vendor == "postgresql":
                    cursor.execute(f"SELECT count(*) FROM {quoted} AS t WHERE t::text ILIKE %s", [pattern])
                else:
                    columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
                    if not columns:
                        continue
                    where = " OR ".join(
                        f"CAST({connection.ops.quote_name(c)} AS TEXT) LIKE %s ESCAPE '\\'" for c in columns
                    )
                    cursor.execute(f"SELECT count(*) FROM {quoted} WHERE {where}", [pattern] * len(columns))
                count = cursor.fetchone()[0]
                if count:
                    report.findings.append(f"database {table}: {needle!r} in {count} row(s)")


# --- Files ------------------------------------------------------------------------------------------------------


def _stored_names(folder: str) -> Iterator[str]:
    if folder and not folder_exists(folder):
        return
    folders, files = default_storage.listdir(folder)
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for sub in sorted(folders):
        yield from _stored_names(f"{folder}/{sub}" if folder else sub)


def _contains(data: bytes, needle: str) -> bool:
    lowered = data.lower()
    encodings = {needle.lower().encode("utf-8"), needle.lower().encode("utf-16-le")}
    return any(encoded in lowered for encoded in encodings)


def _scan_blob(name: str, data: bytes, needles: list[str], *, depth: int = 0) -> list[str]:
    hits = [f"{needle!r} in the name" for needle in needles if needle.lower() in name.lower()]
    hits += [f"{needle!r} in the content" for needle in needles if _contains(data, needle)]
    if data[128:132] == b"DICM":
        hits += _dicom_findings(data)
    if data.startswith(b"%PDF"):
        for match in PDF_STREAM.finditer(data):
            try:
                inflated = zlib.decompressobj().decompress(match.group(1), MAX_MEMBER_BYTES)
            except zlib.error:
                continue
            hits += [f"{needle!r} in a PDF stream" for needle in needles if _contains(inflated, needle)]
    if data.startswith(b"PK") and depth < 2:
        hits += _zip_findings(data, needles, depth)
    return sorted(set(hits))


def _zip_findings(data: bytes, needles: list[str], depth: int) -> list[str]:
    hits = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if member.is_dir():
                    continue
                with archive.open(member) as handle:
                    content = handle.read(MAX_MEMBER_BYTES)
                hits += [
                    f"{member.filename}: {hit}"
                    for hit in _scan_blob(member.filename, content, needles, depth=depth + 1)
                ]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        pass  # not a zip after all
    return hits


def _dicom_findings(data: bytes) -> list[str]:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception:  # a file that only looks like DICOM: its bytes were searched already
        return []
    hits = []
    for element in ds.iterall():
        keyword = element.keyword
        empty = element.value in (None, "", b"") or (element.VR == "SQ" and len(element.value) == 0)
        if element.tag.is_private:
            hits.append(f"private DICOM attribute {element.tag}")
        elif empty:
            continue
        elif (keyword in REMOVE or keyword in EMPTY) and keyword not in CLEAN:
            hits.append(f"identifying DICOM attribute {keyword} holds a value")
        elif element.VR == "PN" and keyword != "PatientName":
            hits.append(f"DICOM person name {keyword} holds a value")
    return hits
