"""The local read-through cache of files that never change (survey payloads): on an object store each is read
from the store once, then from this node's disk, checked by its sha256; on the local folder nothing is cached."""

import hashlib
from pathlib import Path

from django.core.files.storage import default_storage

from storage import read_immutable, store_file
from tests.storage.test_files import own_object_store  # noqa: F401  (fixture)


def cached_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.STORAGE_CACHE_DIR).rglob("*") if p.is_file())


def test_a_payload_reads_the_same_on_every_backend_and_is_cached_only_from_the_object_store(
    storage_backend, settings
):
    payload = bytes(range(256)) * 64
    name = store_file("survey-items/1/payload.i16", payload)
    digest = hashlib.sha256(payload).hexdigest()
    assert read_immutable(name, sha256=digest) == payload
    assert read_immutable(name, sha256=digest) == payload
    cached = cached_files(settings)
    if storage_backend.kind == "local":
        assert cached == []
    else:
        assert [path.name for path in cached] == [digest]
        assert cached[0].read_bytes() == payload


def test_a_cached_payload_is_served_while_the_object_store_is_gone(own_object_store, settings, tmp_path):  # noqa: F811
    settings.STORAGE_CACHE_DIR = str(tmp_path / "cache")
    payload = b"\x10\x00" * 4096
    name = store_file("survey-items/2/payload.i16", payload)
    digest = hashlib.sha256(payload).hexdigest()
    assert read_immutable(name, sha256=digest) == payload
    own_object_store.stop()
    assert read_immutable(name, sha256=digest) == payload


def test_bytes_that_do_not_match_their_checksum_are_served_but_never_cached(storage_backend, settings):
    name = store_file("survey-items/3/payload.i16", b"changed after rendering")
    assert read_immutable(name, sha256="0" * 64) == b"changed after rendering"
    assert cached_files(settings) == []
    default_storage.delete(name)
