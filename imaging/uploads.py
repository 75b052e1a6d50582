"""Uploaded files for an import job: kept in storage until a worker imports them, zips unpacked safely.

No uploaded file's name is kept: a file is stored as its number in the upload (with its kind's suffix), and what a
job records about a file it rejected says "file 3" or "file 1, entry 17" (the entry's place in the zip)."""

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.storage import default_storage

from imaging.volumes import Rejection
from storage import StorageFailed, folder_exists, store_file

# The suffixes kept on a stored upload: what the importer tells files apart by.
KEPT_SUFFIXES = (".nii.gz", ".nii", ".zip", ".dcm")


def upload_folder(job_uid) -> str:
    return f"uploads/{job_uid}"


def _safe_relative(name: str) -> Path | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or any(part in ("..", "") for part in path.parts) or not path.parts:
        return None
    return Path(*path.parts)


def _kept_suffix(name: str) -> str:
    lowered = name.lower()
    return next((suffix for suffix in KEPT_SUFFIXES if lowered.endswith(suffix)), "")


def save_uploads(folder: str, files) -> list[str]:
    """Save Django UploadedFile objects under `folder` in storage, each named by its number in the upload and the
    suffix of its kind only. StorageFailed when one cannot be stored, with every file of the folder saved before
    it deleted."""
    names = []
    try:
        for index, upload in enumerate(files):
            names.append(store_file(f"{folder}/{index:05d}{_kept_suffix(upload.name or '')}", upload))
    except StorageFailed:
        delete_uploads(folder)
        raise
    return names


def unpack_limit(packed_bytes: int) -> int:
    """The most a zip of `packed_bytes` may unpack to: IMPORT_UNPACK_RATIO times its size, and never more than
    IMPORT_UNPACK_MAX_BYTES."""
    return min(settings.IMPORT_UNPACK_MAX_BYTES, settings.IMPORT_UNPACK_RATIO * max(packed_bytes, 1))


@dataclass
class Staged:
    """An upload copied to a worker's local folder: what could not be used, and the label of every file."""

    rejected: list[Rejection] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # local path -> "file 3" / "file 1, entry 17"

    def label(self, path: str) -> str:
        """The label of a local path; a folder (a series) is named by the first file under it."""
        if path in self.labels:
            return self.labels[path]
        prefix = path.rstrip("/") + "/"
        inside = sorted(p for p in self.labels if p.startswith(prefix))
        return f"the series of {self.labels[inside[0]]}" if inside else "the upload"


def stage_locally(folder: str, workdir: Path) -> Staged:
    """Copy a job's uploads from storage into workdir, unpacking zips."""
    staged = Staged()
    _, names = default_storage.listdir(folder)
    for number, name in enumerate(sorted(names), start=1):
        label = f"file {number}"
        target = workdir / name
        with default_storage.open(f"{folder}/{name}", "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, length=1 << 20)
        if name.lower().endswith(".zip"):
            _unzip(target, workdir / f"{name}.d", label, staged)
            target.unlink()
        else:
            staged.labels[str(target)] = label
    return staged


def _unzip(archive: Path, into: Path, label: str, staged: Staged) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [(n, m) for n, m in enumerate(zipped.infolist(), start=1) if not m.is_dir()]
            limit = unpack_limit(archive.stat().st_size)
            claimed = sum(m.file_size for _, m in members)
            if claimed > limit:
                staged.rejected.append(Rejection(label, _over_limit(limit)))
                return
            written = 0
            for number, member in members:
                where = f"{label}, entry {number}"
                relative = _safe_relative(member.filename)
                if relative is None:
                    staged.rejected.append(Rejection(where, "unsafe path inside the zip"))
                    continue
                destination = into / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                try:
                    # The sizes a zip claims can lie: the bytes actually unpacked are counted against the limit.
                    written += _copy_capped(zipped, member, destination, limit - written)
                except _TooBig:
                    # Nothing of a zip over the limit is imported: what was unpacked of it goes.
                    shutil.rmtree(into, ignore_errors=True)
                    for path in [p for p in staged.labels if p.startswith(f"{into}/")]:
                        del staged.labels[path]
                    staged.rejected.append(Rejection(label, _over_limit(limit)))
                    return
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    destination.unlink(missing_ok=True)
                    staged.rejected.append(Rejection(where, f"corrupt zip entry ({exc})"))
                    continue
                staged.labels[str(destination)] = where
    except (zipfile.BadZipFile, OSError) as exc:
        staged.rejected.append(Rejection(label, f"not a readable zip file ({exc})"))


class _TooBig(Exception):
    pass


def _copy_capped(zipped: zipfile.ZipFile, member: zipfile.ZipInfo, destination: Path, allowed: int) -> int:
    copied = 0
    with zipped.open(member) as source, open(destination, "wb") as sink:
        while block := source.read(1 << 20):
            copied += len(block)
            if copied > allowed:
                raise _TooBig
            sink.write(block)
    return copied


def _over_limit(limit: int) -> str:
    return (
        f"unpacks to more than {limit / 1024**2:.0f} MB (IMPORT_UNPACK_RATIO times the zip's size, at most "
        f"IMPORT_UNPACK_MAX_BYTES); nothing of it was imported"
    )


def delete_uploads(folder: str) -> None:
    if not folder or not folder_exists(folder):
        return
    _, names = default_storage.listdir(folder)
    for name in names:
        default_storage.delete(f"{folder}/{name}")
    default_storage.delete(folder)
