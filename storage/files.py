"""The one writer of files into Django's storage (MEDIA_ROOT or an object store)."""

import logging

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from jobs.errors import JobFailed, first_line

logger = logging.getLogger(__name__)


class StorageFailed(JobFailed):
    """Storage refused a write (the disk is full, a permission, a network share or the object store gone); the
    message is one line."""


class ObjectStoreUnavailable(OSError):
    """The object store did not answer, or refused a request; the message is one line."""


def store_file(name: str, content: bytes | File) -> str:
    """Save `content` (bytes, or a file such as an upload, copied in chunks) under `name` (callers pass names of
    their own, unique in practice) and return the stored name.

    When storage raises, the partial file a failed write may leave at `name` is removed and StorageFailed says
    what failed in one line, so a caller's clean-up of what it wrote before leaves nothing behind. (An object
    store writes an object whole or not at all.)"""
    existed = True  # until the storage says otherwise: never delete a file this call did not write
    try:
        existed = default_storage.exists(name)
        return default_storage.save(name, content if isinstance(content, File) else ContentFile(content))
    except OSError as exc:
        if not existed:
            try:
                if default_storage.exists(name):
                    default_storage.delete(name)
            except OSError as cleanup:
                logger.warning("could not remove the partial file %s: %s", name, first_line(cleanup))
        raise StorageFailed(f"cannot store {name}: {first_line(exc)}") from None


def delete_stored_files(names: list[str]) -> None:
    """Delete stored files by name (a name already gone is fine). A file the storage cannot delete now (the object
    store gone) is logged and left: a clean-up after a failure must not hide the failure itself."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError as exc:
            logger.warning("could not delete the stored file %s: %s", name, first_line(exc))


def folder_exists(folder: str) -> bool:
    """Whether a folder of the storage holds anything. (An object store has no folders of its own: a folder is
    there while a file is under it, so asking `exists` of a folder is wrong there.)"""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return False
    return bool(folders or files)
