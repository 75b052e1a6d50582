"""The one writer of files into Django's storage (MEDIA_ROOT or an object store)."""

import logging

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from jobs.errors import JobFailed, first_line

logger = logging.getLogger(__name__)


class StorageFailed(JobFailed):
    """Storage refused a write (the disk is full, a permission, a network share gone); the message is one line."""


def store_file(name: str, content: bytes | File) -> str:
    """Save `content` (bytes, or a file such as an upload, copied in chunks) under `name` (callers pass names of
    their own, unique in practice) and return the stored name.

    When storage raises, the partial file a failed write may leave at `name` is removed and StorageFailed says
    what failed in one line, so a caller's clean-up of what it wrote before leaves nothing behind."""
    existed = default_storage.exists(name)
    try:
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
    """Delete stored files by name (a name already gone is fine)."""
    for name in names:
        default_storage.delete(name)
