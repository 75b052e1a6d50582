"""store_file and delete_stored_files on both backends (the local folder and a real S3-compatible object store):
the same calls, the same results, one line when the store is gone and nothing half-written."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from benchmarks.object_store import SeaweedServer
from storage import StorageFailed, delete_stored_files, folder_exists, store_file
from storage.backends import object_store_settings


def read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def test_a_stored_file_reads_back_whole_and_is_gone_once_deleted(storage_backend):
    name = store_file("survey-items/1/a.i16", b"\x01\x02" * 1000)
    assert name == "survey-items/1/a.i16"
    assert read(name) == b"\x01\x02" * 1000
    assert default_storage.size(name) == 2000
    assert default_storage.exists(name)
    assert default_storage.listdir("survey-items/1") == ([], ["a.i16"])
    assert storage_backend.names() == ["survey-items/1/a.i16"]
    delete_stored_files([name])
    assert not default_storage.exists(name)
    assert storage_backend.names() == []


def test_a_taken_name_gets_another_and_the_first_file_is_never_overwritten(storage_backend):
    first = store_file("reports/7/report.pdf", b"first")
    second = store_file("reports/7/report.pdf", b"second")
    assert first != second and second.startswith("reports/7/report")
    assert (read(first), read(second)) == (b"first", b"second")
    assert sorted(storage_backend.names()) == sorted([first, second])


def test_an_upload_larger_than_memory_is_copied_whole(storage_backend):
    content = bytes(range(256)) * 40_000  # 10 MB: more than one chunk, a multipart upload on the object store
    name = store_file("uploads/3/00000.dcm", SimpleUploadedFile("scan.dcm", content))
    assert read(name) == content


def test_a_missing_file_is_file_not_found_on_every_backend(storage_backend):
    with pytest.raises(FileNotFoundError):
        read("survey-items/404/missing.i16")
    assert not default_storage.exists("survey-items/404/missing.i16")
    delete_stored_files(["survey-items/404/missing.i16"])  # already gone is fine


@pytest.fixture
def own_object_store(tmp_path, settings, media_root):
    """An object store of this test's own, to stop and start again."""
    server = SeaweedServer(tmp_path / "seaweedfs").start()
    settings.STORAGES = {**settings.STORAGES, "default": object_store_settings(server.environment("study"))}
    yield server
    server.stop()


def test_an_object_store_gone_is_one_line_and_leaves_nothing_and_storing_works_once_it_is_back(
    own_object_store,
):
    kept = store_file("pixels/1/0001.npy", b"kept")
    own_object_store.stop()
    with pytest.raises(StorageFailed) as failure:
        store_file("pixels/1/0002.npy", b"x" * 100_000)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("cannot store pixels/1/0002.npy: object store unreachable")
    delete_stored_files([kept])  # a clean-up while the store is gone logs, and does not hide the failure
    with pytest.raises(OSError, match="object store unreachable"):
        read(kept)
    own_object_store.start()
    assert own_object_store.keys("study") == ["study/pixels/1/0001.npy"]
    assert read(kept) == b"kept"
    assert store_file("pixels/1/0002.npy", b"x" * 100_000) == "pixels/1/0002.npy"
    assert own_object_store.keys("study") == ["study/pixels/1/0001.npy", "study/pixels/1/0002.npy"]


def test_a_folder_exists_while_it_holds_a_file_on_every_backend(storage_backend):
    assert not folder_exists("uploads/job-1")
    name = store_file("uploads/job-1/00000.zip", b"zip")
    assert folder_exists("uploads/job-1") and folder_exists("uploads")
    delete_stored_files([name])
    assert not folder_exists("uploads/job-1/00000.zip/nothing")
    assert storage_backend.names() == []
