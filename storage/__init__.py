"""Storing a file safely, for every app: a full disk (or any refusal of the storage backend) is one line and
leaves no partial file behind. Pixels, uploads, checkpoints, reports, survey payloads and archives all go
through :func:`store_file`."""

from storage.files import StorageFailed, delete_stored_files, store_file

__all__ = ["StorageFailed", "delete_stored_files", "store_file"]
