"""The storage backend is chosen by settings in one place: the local folder unless BLINDREAD_S3_BUCKET is set."""

from django.core.files.storage import FileSystemStorage, default_storage

from storage.backends import LOCAL_BACKEND, OBJECT_STORE_BACKEND, is_local, storage_from_environment
from storage.object_store import ObjectStorage


def test_without_a_bucket_files_live_in_the_local_folder():
    assert storage_from_environment({}) == {"BACKEND": LOCAL_BACKEND}
    assert storage_from_environment(
        {"BLINDREAD_S3_ENDPOINT": "http://store:8333", "BLINDREAD_S3_BUCKET": " "}
    ) == {"BACKEND": LOCAL_BACKEND}


def test_the_blindread_s3_settings_name_the_object_store():
    chosen = storage_from_environment(
        {
            "BLINDREAD_S3_ENDPOINT": "http://store:8333",
            "BLINDREAD_S3_BUCKET": "blindread",
            "BLINDREAD_S3_ACCESS_KEY": "key",
            "BLINDREAD_S3_SECRET_KEY": "secret",
            "BLINDREAD_S3_REGION": "eu-south-1",
            "BLINDREAD_S3_PREFIX": "/hospital-a/",
        }
    )
    assert chosen["BACKEND"] == OBJECT_STORE_BACKEND
    options = chosen["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "blindread",
        "http://store:8333",
        "eu-south-1",
    )
    assert (options["access_key"], options["secret_key"], options["location"]) == (
        "key",
        "secret",
        "hospital-a",
    )
    assert options["file_overwrite"] is False
    assert options["addressing_style"] == "path"


def test_aws_itself_needs_no_endpoint_and_may_use_its_own_credentials():
    options = storage_from_environment({"BLINDREAD_S3_BUCKET": "blindread"})["OPTIONS"]
    assert options["endpoint_url"] is None and options["addressing_style"] is None
    assert options["access_key"] is None and options["secret_key"] is None
    assert options["region_name"] == "us-east-1"


def test_default_storage_is_the_backend_settings_chose(storage_backend):
    local = storage_backend.kind == "local"
    assert isinstance(default_storage, FileSystemStorage if local else ObjectStorage)
    assert is_local(default_storage) == local
