"""The study archive's container: one zip holding named files and `manifest.json` (the format version and a
SHA-256 per file). Pure Python: writing a zip from named contents, and reading one back only when every check
passes (a complete zip, safe relative names, a known version, every file listed with a matching checksum and
nothing unlisted). Each refusal is an :class:`ArchiveRejected` whose message is one line.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

# Version 2 adds the study design: ratings and the invert flag on answers and revisions, the survey's design,
# practice items and answers, reading rounds and repeat answers. Version 1 archives (none of these) still import:
# their answers have no rating, no inversion and the survey the default design. Version 3 adds the slices a reader
# visited in a stack and the seconds on each to answers, revisions and repeat answers, and the viewer state (window,
# zoom, invert, slices visited) to practice answers; version 2 archives import with those not recorded.
FORMAT_VERSION = "blindread-archive/3"
FORMAT_VERSION_2 = "blindread-archive/2"
FORMAT_VERSION_1 = "blindread-archive/1"
KNOWN_VERSIONS = (FORMAT_VERSION_1, FORMAT_VERSION_2, FORMAT_VERSION)
MANIFEST = "manifest.json"
# What an archive may hold at most once unpacked (a zip bomb stops here).
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_FILES = 200_000
SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class ArchiveRejected(ValueError):
    """An archive that is not imported; the message says why in one line."""


@dataclass(frozen=True)
class Archive:
    """A verified archive: its manifest and every file's content by name."""

    manifest: dict
    files: dict[str, bytes]
    sha256: str  # of the zip itself

    def json(self, name: str):
        try:
            return json.loads(self.files[name])
        except KeyError:
            raise ArchiveRejected(f"the archive has no {name}") from None
        except ValueError as exc:
            raise ArchiveRejected(f"{name} is not valid JSON: {exc}") from None


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def check_name(name: str) -> None:
    """A member name must be a plain relative path: no absolute path, no '..', no backslash, no odd characters."""
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or ".." in name.split("/")
        or posixpath.normpath(name) != name
        or not SAFE_NAME.match(name)
    ):
        raise ArchiveRejected(f"unsafe path in archive: {name!r}")


def write_archive(files: Mapping[str, bytes], *, metadata: Mapping[str, object]) -> bytes:
    """A zip of `files` with a manifest: the format version, `metadata`, and the SHA-256 and size of each file."""
    for name in files:
        check_name(name)
        if name == MANIFEST:
            raise ValueError(f"{MANIFEST} is written by write_archive")
    manifest = {
        "format": FORMAT_VERSION,
        **metadata,
        "files": {
            name: {"sha256": sha256_of(content), "bytes": len(content)}
            for name, content in sorted(files.items())
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    return buffer.getvalue()


def read_archive(content: bytes) -> Archive:
    """Open and verify an archive; ArchiveRejected (one line) unless every check passes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise ArchiveRejected("not a complete zip file (truncated or not a zip)") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > MAX_FILES:
            raise ArchiveRejected(f"the archive holds {len(members)} files; at most {MAX_FILES} are read")
        if sum(info.file_size for info in members) > MAX_TOTAL_BYTES:
            raise ArchiveRejected(f"the archive unpacks to more than {MAX_TOTAL_BYTES} bytes")
        names = [info.filename for info in members]
        for name in names:
            check_name(name)
        if len(set(names)) != len(names):
            raise ArchiveRejected("the archive holds the same path twice")
        if MANIFEST not in names:
            raise ArchiveRejected(f"the archive has no {MANIFEST}")
        try:
            files = {name: archive.read(name) for name in names}
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ArchiveRejected(f"the zip is damaged: {exc}") from None
    try:
        manifest = json.loads(files.pop(MANIFEST))
    except ValueError as exc:
        raise ArchiveRejected(f"{MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ArchiveRejected(f"{MANIFEST} does not list the archive's files")
    version = manifest.get("format")
    if version not in KNOWN_VERSIONS:
        raise ArchiveRejected(
            f"unknown archive format {version!r}; this version reads {', '.join(KNOWN_VERSIONS)}"
        )
    listed = manifest["files"]
    for name in sorted(set(files) - set(listed)):
        raise ArchiveRejected(f"{name} is in the archive but not in its manifest")
    for name in sorted(set(listed) - set(files)):
        raise ArchiveRejected(f"{name} is in the manifest but missing from the archive")
    for name in sorted(listed):
        entry = listed[name]
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if sha256_of(files[name]) != expected:
            raise ArchiveRejected(f"checksum mismatch for {name}: the archive was changed or damaged")
    return Archive(manifest=manifest, files=files, sha256=sha256_of(content))
