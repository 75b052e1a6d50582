"""Uploaded files for an import job: kept in storage until a worker imports them, zips unpacked safely."""

import shutil
import zipfile
from pathlib import Path, PurePosixPath

from django.core.files.storage import default_storage

from imaging.pixels import StorageFailed, store_file
from imaging.volumes import Rejection

MAX_UNPACKED_BYTES = 50 * 1024**3


def upload_folder(job_uid) -> str:
    return f"uploads/{job_uid}"


def _safe_relative(name: str) -> Path | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or any(part in ("..", "") for part in path.parts) or not path.parts:
        return None
    return Path(*path.parts)


def save_uploads(folder: str, files) -> list[str]:
    """Save Django UploadedFile objects under `folder` in storage, keeping only their base names. StorageFailed
    when one cannot be stored, with every file of the folder saved before it deleted."""
    names = []
    try:
        for index, upload in enumerate(files):
            base = Path(upload.name.replace("\\", "/")).name or f"file-{index}"
            names.append(store_file(f"{folder}/{index:05d}-{base}", upload))
    except StorageFailed:
        delete_uploads(folder)
        raise
    return names


def stage_locally(folder: str, workdir: Path) -> list[Rejection]:
    """Copy a job's uploads from storage into workdir, unpacking zips; return the files that could not be used."""
    rejected = []
    _, names = default_storage.listdir(folder)
    for name in sorted(names):
        original = name.split("-", 1)[1] if "-" in name else name
        target = workdir / name
        with default_storage.open(f"{folder}/{name}", "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, length=1 << 20)
        if original.lower().endswith(".zip"):
            rejected.extend(_unzip(target, workdir / f"{name}.d", original))
            target.unlink()
    return rejected


def _unzip(archive: Path, into: Path, label: str) -> list[Rejection]:
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                return [Rejection(label, f"unpacks to more than {MAX_UNPACKED_BYTES // 1024**3} GB")]
            rejected = []
            for member in members:
                relative = _safe_relative(member.filename)
                if relative is None:
                    rejected.append(Rejection(f"{label}:{member.filename}", "unsafe path inside the zip"))
                    continue
                destination = into / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with zipped.open(member) as source, open(destination, "wb") as sink:
                        shutil.copyfileobj(source, sink, length=1 << 20)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    destination.unlink(missing_ok=True)
                    rejected.append(Rejection(f"{label}:{member.filename}", f"corrupt zip entry ({exc})"))
            return rejected
    except (zipfile.BadZipFile, OSError) as exc:
        return [Rejection(label, f"not a readable zip file ({exc})")]


def delete_uploads(folder: str) -> None:
    if not default_storage.exists(folder):
        return
    _, names = default_storage.listdir(folder)
    for name in names:
        default_storage.delete(f"{folder}/{name}")
    default_storage.delete(folder)
