"""The study archive's container: one zip holding named files, `manifest.json` (the format version and the SHA-256
and size of every file) and, when signed, `manifest.sig` (archives.signing). Pure Python.

Writing: :func:`write_archive` zips named contents with their manifest.

Reading: :func:`open_archive` checks an archive before anything of it is used, in this order, and refuses with an
:class:`ArchiveRejected` whose message is one line:

1. a complete zip (its central directory), at most `max_files` members, every name a safe relative path, none twice;
2. the manifest, read first and alone (at most `max_json_bytes`, nested at most `max_json_depth` deep): a known
   format version, every file listed with a SHA-256 and its size;
3. what the zip declares of every member, before a byte of it is inflated: listed in the manifest at the size the
   manifest gives, at most `max_member_bytes` each and `max_total_bytes` together, compressed at most
   `max_compression_ratio` to one;
4. every member streamed through SHA-256 in chunks (never whole in memory), stopping at its declared size.

Members are then read on demand (:meth:`Archive.read`, :meth:`Archive.json`), checked again as they are read. JSON
is refused when it is deeper than the cap (no RecursionError), holds a number that is not finite (NaN, 1e999) or an
integer too long to read, or more containers than `max_json_containers`, so that what it becomes in memory stays
bounded too.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

# Version 2 adds the study design: ratings and the invert flag on answers and revisions, the survey's design,
# practice items and answers, reading rounds and repeat answers. Version 1 archives (none of these) still import:
# their answers have no rating, no inversion and the survey the default design. Version 3 adds the slices a reader
# visited in a stack and the seconds on each to answers, revisions and repeat answers, and the viewer state (window,
# zoom, invert, slices visited) to practice answers; version 2 archives import with those not recorded. Version 4
# adds the survey's Italian reader title and instructions; older archives import with none (the English is shown).
# Version 5 adds the time-limited exposure to answers, revisions and repeat answers (requested, measured, refused)
# and slab reading's views used and seconds per view to every kind of answer; older archives import with none
# recorded ([] for the views).
FORMAT_PREFIX = "blindread-archive/"
FORMAT_VERSION = f"{FORMAT_PREFIX}5"
FORMAT_VERSION_4 = f"{FORMAT_PREFIX}4"
FORMAT_VERSION_3 = f"{FORMAT_PREFIX}3"
FORMAT_VERSION_2 = f"{FORMAT_PREFIX}2"
FORMAT_VERSION_1 = f"{FORMAT_PREFIX}1"
KNOWN_VERSIONS = (FORMAT_VERSION_1, FORMAT_VERSION_2, FORMAT_VERSION_3, FORMAT_VERSION_4, FORMAT_VERSION)
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
CHUNK_BYTES = 1 << 20
MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What an archive may hold at most; anything beyond is refused before it is read (settings ARCHIVE_MAX_*)."""

    max_files: int = 200_000
    max_member_bytes: int = 512 * MiB
    max_total_bytes: int = 4 * 1024 * MiB
    # Members smaller than `ratio_floor_bytes` are not held to the ratio: small JSON compresses well and bombs are big.
    max_compression_ratio: float = 200.0
    ratio_floor_bytes: int = 1 * MiB
    max_json_bytes: int = 32 * MiB
    max_json_total_bytes: int = 128 * MiB
    max_json_depth: int = 32
    max_json_containers: int = 1_000_000


class ArchiveRejected(ValueError):
    """An archive that is not imported; the message says why in one line."""


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def version_number(version: str) -> int:
    """3 for 'blindread-archive/3'."""
    return int(version.removeprefix(FORMAT_PREFIX))


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
        raise ArchiveRejected(f"unsafe path in archive: {name[:200]!r}")


def write_archive(
    files: Mapping[str, bytes],
    *,
    metadata: Mapping[str, object],
    sign: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """A zip of `files` with a manifest: the format version, `metadata`, and the SHA-256 and size of each file.
    With `sign`, the manifest's exact bytes are passed to it and what it returns is stored as `manifest.sig`."""
    for name in files:
        check_name(name)
        if name in (MANIFEST, SIGNATURE):
            raise ValueError(f"{name} is written by write_archive")
    manifest = {
        "format": FORMAT_VERSION,
        **metadata,
        "files": {
            name: {"sha256": sha256_of(content), "bytes": len(content)}
            for name, content in sorted(files.items())
        },
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, manifest_bytes)
        if sign is not None:
            archive.writestr(SIGNATURE, sign(manifest_bytes))
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    return buffer.getvalue()


# --- JSON with bounds ------------------------------------------------------------------------------------------


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is not finite")
    return value


def _no_constant(text: str):
    raise ValueError(f"{text} is not a number")


def _depth(value) -> int:
    """How deeply `value` nests (a scalar is 0), walked without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in current.values())
        elif isinstance(current, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in current)
    return deepest


def parse_json(content: bytes, *, name: str, limits: Limits):
    """`content` as JSON within the limits; ArchiveRejected (one line) otherwise."""
    # An upper bound (brackets inside strings count too), counted before parsing so that a file of a million tiny
    # objects is refused before it becomes them.
    containers = content.count(b"{") + content.count(b"[")
    if containers > limits.max_json_containers:
        raise ArchiveRejected(
            f"{name} holds more than {limits.max_json_containers} objects and lists; refused unread"
        )
    try:
        value = json.loads(content, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise ArchiveRejected(f"{name} is nested deeper than {limits.max_json_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        message = " ".join(str(exc).split())[:200]
        raise ArchiveRejected(f"{name} is not valid JSON: {message}") from None
    if _depth(value) > limits.max_json_depth:
        raise ArchiveRejected(f"{name} is nested deeper than {limits.max_json_depth} levels")
    return value


# --- Reading ---------------------------------------------------------------------------------------------------


class _Members(Mapping):
    """The archive's files (not the manifest or signature) by name, each read and checked when it is looked up."""

    def __init__(self, archive: Archive):
        self._archive = archive

    def __getitem__(self, name: str) -> bytes:
        if name not in self._archive.listed:
            raise KeyError(name)
        return self._archive.read(name)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._archive.listed))

    def __len__(self) -> int:
        return len(self._archive.listed)


class Archive:
    """A checked archive: its manifest (and its exact bytes, which a signature covers), the signature file if any,
    and its files, read on demand within the limits. Close it (or use it as a context manager) when done."""

    def __init__(
        self, zip_file: zipfile.ZipFile, *, manifest: dict, manifest_bytes: bytes, signature, sha256, limits
    ):
        self._zip = zip_file
        self.manifest = manifest
        self.manifest_bytes = manifest_bytes
        self.signature: dict | None = signature
        self.sha256: str = sha256  # of the zip itself
        self.limits: Limits = limits
        self.listed: dict[str, dict] = manifest["files"]
        self.version: int = version_number(manifest["format"])
        self._json_bytes_read = 0

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def files(self) -> Mapping[str, bytes]:
        return _Members(self)

    def size(self, name: str) -> int:
        """The size the manifest (and the zip) give for `name`; ArchiveRejected when it is not in the archive."""
        if name not in self.listed:
            raise ArchiveRejected(f"the archive has no {name}")
        return self._zip.getinfo(name).file_size

    def read(self, name: str, *, at_most: int | None = None) -> bytes:
        """The content of `name`, checked against its SHA-256; refused unread when it is larger than `at_most`."""
        size = self.size(name)
        if at_most is not None and size > at_most:
            raise ArchiveRejected(f"{name} holds {size} bytes; at most {at_most} are read")
        chunks = []
        digest = _stream(self._zip, name, size, chunks.append)
        if digest != self.listed[name]["sha256"]:
            raise ArchiveRejected(f"checksum mismatch for {name}: the archive was changed or damaged")
        return b"".join(chunks)

    def json(self, name: str):
        """`name` parsed as JSON within the limits (each file, and all JSON read from this archive together)."""
        size = self.size(name)
        if self._json_bytes_read + size > self.limits.max_json_total_bytes:
            raise ArchiveRejected(
                f"the archive's JSON files hold more than {self.limits.max_json_total_bytes} bytes together"
            )
        content = self.read(name, at_most=self.limits.max_json_bytes)
        self._json_bytes_read += size
        return parse_json(content, name=name, limits=self.limits)


def _stream(zip_file: zipfile.ZipFile, name: str, size: int, sink: Callable[[bytes], object] | None) -> str:
    """Inflate `name` in chunks, never past its declared size, into `sink`; the SHA-256 of what it holds."""
    digest = hashlib.sha256()
    read = 0
    try:
        with zip_file.open(name) as member:
            while chunk := member.read(CHUNK_BYTES):
                read += len(chunk)
                if read > size:
                    raise ArchiveRejected(f"{name} holds more than the {size} bytes its entry declares")
                digest.update(chunk)
                if sink is not None:
                    sink(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
        if isinstance(exc, ArchiveRejected):
            raise
        message = " ".join(str(exc).split())[:200]
        raise ArchiveRejected(f"the zip is damaged at {name}: {message}") from None
    if read != size:
        raise ArchiveRejected(f"{name} holds {read} bytes, not the {size} its entry declares")
    return digest.hexdigest()


def _sha256_of_stream(source: BinaryIO) -> str:
    digest = hashlib.sha256()
    source.seek(0)
    while chunk := source.read(CHUNK_BYTES):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


def _check_manifest(manifest, limits: Limits) -> None:
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ArchiveRejected(f"{MANIFEST} does not list the archive's files")
    version = manifest.get("format")
    if version not in KNOWN_VERSIONS:
        shown = version if isinstance(version, str) else type(version).__name__
        raise ArchiveRejected(
            f"unknown archive format {str(shown)[:80]!r}; this version reads {', '.join(KNOWN_VERSIONS)}"
        )
    for name, entry in manifest["files"].items():
        check_name(name)
        if name in (MANIFEST, SIGNATURE):
            raise ArchiveRejected(f"{MANIFEST} lists {name}")
        if not isinstance(entry, dict) or not SHA256_PATTERN.match(str(entry.get("sha256"))):
            raise ArchiveRejected(f"{MANIFEST} gives no SHA-256 for {name}")
        size = entry.get("bytes")
        if size is not None and (type(size) is not int or not 0 <= size <= limits.max_total_bytes):
            raise ArchiveRejected(f"{MANIFEST} gives an impossible size for {name}")


def _check_members(zip_file: zipfile.ZipFile, manifest: dict, limits: Limits) -> None:
    """What the zip declares of each member against the manifest and the limits, before anything is inflated."""
    listed = manifest["files"]
    members = {info.filename: info for info in zip_file.infolist() if not info.is_dir()}
    for name in sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE}):
        raise ArchiveRejected(f"{name} is in the archive but not in its manifest")
    for name in sorted(set(listed) - set(members)):
        raise ArchiveRejected(f"{name} is in the manifest but missing from the archive")
    total = 0
    for name in sorted(listed):
        info = members[name]
        declared = listed[name].get("bytes")
        if declared is not None and declared != info.file_size:
            raise ArchiveRejected(
                f"{name} is {info.file_size} bytes in the zip but {declared} in the manifest"
            )
        if info.file_size > limits.max_member_bytes:
            raise ArchiveRejected(
                f"{name} unpacks to {info.file_size} bytes; at most {limits.max_member_bytes} are read per file"
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ArchiveRejected(f"the archive unpacks to more than {limits.max_total_bytes} bytes")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_compression_ratio:
            raise ArchiveRejected(
                f"{name} is compressed {ratio:.0f} to 1; at most {limits.max_compression_ratio:.0f} to 1 is read"
            )


def open_archive(source: bytes | BinaryIO, limits: Limits | None = None) -> Archive:
    """Open and check an archive (bytes, or a seekable binary file, which must stay open while the archive is
    used); ArchiveRejected (one line) unless every check passes."""
    limits = limits or Limits()
    if isinstance(source, bytes | bytearray):
        sha256 = sha256_of(bytes(source))
        source = io.BytesIO(source)
    else:
        sha256 = _sha256_of_stream(source)
    try:
        zip_file = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise ArchiveRejected("not a complete zip file (truncated or not a zip)") from None
    try:
        infos = zip_file.infolist()
        members = [info for info in infos if not info.is_dir()]
        if len(infos) > limits.max_files:
            raise ArchiveRejected(
                f"the archive holds {len(infos)} files; at most {limits.max_files} are read"
            )
        names = [info.filename for info in members]
        for name in names:
            check_name(name)
        if len(set(names)) != len(names):
            raise ArchiveRejected("the archive holds the same path twice")
        if MANIFEST not in names:
            raise ArchiveRejected(f"the archive has no {MANIFEST}")
        manifest_size = zip_file.getinfo(MANIFEST).file_size
        if manifest_size > limits.max_json_bytes:
            raise ArchiveRejected(
                f"{MANIFEST} holds {manifest_size} bytes; at most {limits.max_json_bytes} are read"
            )
        chunks: list[bytes] = []
        _stream(zip_file, MANIFEST, manifest_size, chunks.append)
        manifest_bytes = b"".join(chunks)
        manifest = parse_json(manifest_bytes, name=MANIFEST, limits=limits)
        _check_manifest(manifest, limits)
        signature = None
        if SIGNATURE in names:
            size = zip_file.getinfo(SIGNATURE).file_size
            if size > 64 * 1024:
                raise ArchiveRejected(f"{SIGNATURE} holds {size} bytes; a signature is a few hundred")
            chunks = []
            _stream(zip_file, SIGNATURE, size, chunks.append)
            signature = parse_json(b"".join(chunks), name=SIGNATURE, limits=limits)
            if not isinstance(signature, dict):
                raise ArchiveRejected(f"{SIGNATURE} is not a signature")
        _check_members(zip_file, manifest, limits)
        for name in sorted(manifest["files"]):
            if (
                _stream(zip_file, name, zip_file.getinfo(name).file_size, None)
                != manifest["files"][name]["sha256"]
            ):
                raise ArchiveRejected(f"checksum mismatch for {name}: the archive was changed or damaged")
    except BaseException:
        zip_file.close()
        raise
    return Archive(
        zip_file,
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        signature=signature,
        sha256=sha256,
        limits=limits,
    )


def read_archive(content: bytes, limits: Limits | None = None) -> Archive:
    """Open and check an archive held in memory (see open_archive)."""
    return open_archive(content, limits)
