"""Where stored files live, chosen in one place: a local folder (MEDIA_ROOT, the laptop default) or an
S3-compatible object store (django-storages over boto3, storage.object_store) when BLINDREAD_S3_BUCKET is set.

settings.py builds STORAGES["default"] with :func:`storage_from_environment`; everything else reads and writes
through Django's ``default_storage`` (writes through :func:`storage.store_file`), never a path on a disk, so a web
node or a worker on another machine sees the same files."""

from django.core.files.storage import FileSystemStorage

LOCAL_BACKEND = "django.core.files.storage.FileSystemStorage"
OBJECT_STORE_BACKEND = "storage.object_store.ObjectStorage"


def storage_from_environment(environ) -> dict:
    """STORAGES["default"] from the environment (os.environ): see :func:`object_store_settings`."""
    if not environ.get("BLINDREAD_S3_BUCKET", "").strip():
        return {"BACKEND": LOCAL_BACKEND}
    return object_store_settings(environ)


def object_store_settings(environ) -> dict:
    """The STORAGES entry of the object store named by the BLINDREAD_S3_* variables.

    BLINDREAD_S3_BUCKET selects the object store; BLINDREAD_S3_ENDPOINT (an S3-compatible server's URL; empty:
    AWS itself), BLINDREAD_S3_ACCESS_KEY and BLINDREAD_S3_SECRET_KEY (empty: boto3's own credential chain, such as
    an instance role), BLINDREAD_S3_REGION and BLINDREAD_S3_PREFIX (a folder inside the bucket) complete it."""
    return object_store(
        bucket=environ["BLINDREAD_S3_BUCKET"].strip(),
        endpoint=environ.get("BLINDREAD_S3_ENDPOINT", "").strip(),
        access_key=environ.get("BLINDREAD_S3_ACCESS_KEY", "").strip(),
        secret_key=environ.get("BLINDREAD_S3_SECRET_KEY", "").strip(),
        region=environ.get("BLINDREAD_S3_REGION", "").strip() or "us-east-1",
        prefix=environ.get("BLINDREAD_S3_PREFIX", "").strip().strip("/"),
    )


def object_store(
    *,
    bucket: str,
    endpoint: str = "",
    access_key: str = "",
    secret_key: str = "",
    region: str,
    prefix: str = "",
) -> dict:
    """The STORAGES entry of an S3-compatible object store."""
    return {
        "BACKEND": OBJECT_STORE_BACKEND,
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "region_name": region,
            "location": prefix,
            # Path-style addressing: S3-compatible servers (SeaweedFS, MinIO, Ceph) seldom have bucket host names.
            "addressing_style": "path" if endpoint else None,
            "signature_version": "s3v4",
            # As the local folder does: a name already taken gets a suffix, nothing is ever overwritten.
            "file_overwrite": False,
            "default_acl": None,
            # Downloads larger than this go to a temporary file rather than memory.
            "max_memory_size": 16 * 1024 * 1024,
        },
    }


def is_local(storage) -> bool:
    """Whether `storage` is the local folder (its files need no cache on this machine)."""
    return isinstance(storage, FileSystemStorage)
