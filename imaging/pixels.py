"""Slice pixels in storage: one small .npy file per slice, so serving one slice reads one file."""

import io
import logging
import threading

import numpy as np
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from jobs.errors import JobFailed, first_line

logger = logging.getLogger(__name__)


class StorageFailed(JobFailed):
    """Storage refused a write (the disk is full, a permission, a network share gone); the message is one line."""


def store_file(name: str, content: bytes | File) -> str:
    """Save `content` (bytes, or a file such as an upload, copied in chunks) under `name` (callers pass names of
    their own, unique in practice) and return the stored name. When storage raises, the partial file a failed write may leave at `name` is removed and StorageFailed
    says what failed in one line, so a caller's clean-up of what it wrote before leaves nothing behind."""
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


def slice_storage_name(volume_uid, index: int) -> str:
    return f"slices/{volume_uid}/{index:04d}.npy"


def save_slice_pixels(name: str, pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(pixels), allow_pickle=False)
    return store_file(name, buffer.getvalue())


# np.load parses the .npy header with ast.literal_eval, and CPython 3.11 can raise a spurious
# "SystemError: AST constructor recursion depth mismatch" when two threads do that at once (CPython gh-106905).
# Reading the file stays outside the lock; only the in-memory parse is serialised.
_NPY_PARSE_LOCK = threading.Lock()


def load_slice_pixels(name: str) -> np.ndarray:
    with default_storage.open(name, "rb") as handle:
        data = handle.read()
    with _NPY_PARSE_LOCK:
        return np.load(io.BytesIO(data), allow_pickle=False)


def delete_stored_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
