"""The object store backend: django-storages' S3 storage whose failures reach callers as
:class:`ObjectStoreUnavailable`, an OSError, as a full or missing disk does with the local folder, so code that
handles a storage failure handles both. Chosen by settings (storage.backends), never imported by callers."""

import contextlib

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from storages.backends.s3 import S3Storage

from jobs.errors import first_line
from storage.files import ObjectStoreUnavailable


@contextlib.contextmanager
def _as_os_error(what: str, name: str):
    try:
        yield
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            raise FileNotFoundError(f"{name} is not in the object store") from None
        raise ObjectStoreUnavailable(f"object store refused to {what} {name}: {first_line(exc)}") from None
    except BotoCoreError as exc:
        raise ObjectStoreUnavailable(f"object store unreachable ({what} {name}): {first_line(exc)}") from None


class ObjectStorage(S3Storage):
    """django-storages' S3 storage with the failures of the local folder: an OSError in one line.

    A request gives up after a few seconds and three tries, so a job whose store went away fails instead of
    hanging; an object is written by one PUT (or a multipart upload that is aborted on failure), so a failed
    write never leaves half a file."""

    def __init__(self, **settings):
        settings.setdefault(
            "client_config",
            Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}),
        )
        super().__init__(**settings)

    def _open(self, name, mode="rb"):
        with _as_os_error("read", name):
            handle = super()._open(name, mode)
            if "r" in mode:
                handle.file  # noqa: B018  (fetched now: an unreachable store fails here, as a local read would)
            return handle

    def _save(self, name, content):
        with _as_os_error("write", name):
            return super()._save(name, content)

    def delete(self, name):
        with _as_os_error("delete", name):
            return super().delete(name)

    def exists(self, name):
        with _as_os_error("look up", name):
            return super().exists(name)

    def listdir(self, name):
        with _as_os_error("list", name):
            return super().listdir(name)

    def size(self, name):
        with _as_os_error("measure", name):
            return super().size(name)
