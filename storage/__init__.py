"""Storing a file safely, for every app: a full disk, an object store gone (or any refusal of the storage
backend) is one line and leaves no partial file behind. Pixels, uploads, checkpoints, reports, survey payloads and
archives all go through :func:`store_file`; where they live (a local folder or an S3-compatible object store) is
chosen by settings through :mod:`storage.backends`. Files that never change (survey payloads) are read through a
local cache (:func:`read_immutable`)."""

from storage.cache import read_immutable
from storage.files import (
    ObjectStoreUnavailable,
    StorageFailed,
    delete_stored_files,
    folder_exists,
    store_file,
)

__all__ = [
    "ObjectStoreUnavailable",
    "StorageFailed",
    "delete_stored_files",
    "folder_exists",
    "read_immutable",
    "store_file",
]
