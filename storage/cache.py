"""A local read-through cache of stored files that never change once written (survey payloads): a web node
reads each from the object store once, then from its own disk.

Entries are named by the sha256 of their content, so a cached file is never stale and every node may keep its
own copy; a file whose bytes do not match the checksum it was asked for is served but never cached. The cache
folder (settings.STORAGE_CACHE_DIR) may be emptied at any time: it fills again on the next reads."""

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from storage.backends import is_local

SHA256_HEX = 64


def read_immutable(name: str, *, sha256: str) -> bytes:
    """The bytes of the stored file `name`, whose content has the checksum `sha256` (hex), from this machine's
    cache when the storage is an object store. Raises OSError (FileNotFoundError, ObjectStoreUnavailable) as
    reading the storage does."""
    if is_local(default_storage) or len(sha256) != SHA256_HEX:
        return _read(name)
    entry = Path(settings.STORAGE_CACHE_DIR) / sha256[:2] / sha256
    try:
        return entry.read_bytes()
    except FileNotFoundError:
        pass
    data = _read(name)
    if hashlib.sha256(data).hexdigest() == sha256:
        _write_atomically(entry, data)
    return data


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _write_atomically(entry: Path, data: bytes) -> None:
    """Write the entry under a temporary name, then rename it: a reader (another thread or process of this node)
    sees the whole file or none."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".partial-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, entry)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        # A full cache disk costs speed, not the reply: the bytes are served from the store.
