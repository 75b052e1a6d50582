"""Blinding on object storage: the audit passes on the object store as on the local folder, every item's pixel
response carries the same headers whatever the backend (none of the store's own), and a pixel response that
carried the store's headers fails the audit."""

import pytest

from imaging.selectors import with_their_slices
from studies.blinding.walk import walk_as_reader
from tests.studies.test_blinding_audit import audit_command, phantom_dirs, phantom_survey  # noqa: F401

PLATFORM_HEADERS = [
    "cache-control",
    "content-language",
    "content-length",
    "content-security-policy",
    "content-type",
    "cross-origin-opener-policy",
    "referrer-policy",
    "vary",
    "x-content-type-options",
    "x-frame-options",
]
STORAGE_HEADERS = ("etag", "last-modified", "x-amz-request-id", "x-amz-id-2", "server", "accept-ranges")


def pixel_headers(survey) -> set[str]:
    items = list(with_their_slices(survey.items.order_by("id")))
    walk = walk_as_reader(survey, items, None)
    assert not walk.errors and len(walk.observations) == len(items)
    return {repr(sorted(o.pixels_headers.items())) for o in walk.observations}


def test_the_audit_passes_on_every_backend_with_one_set_of_pixel_headers_and_none_of_the_stores(
    storage_backend,
    phantom_survey,  # noqa: F811
):
    survey = phantom_survey()
    assert any(name.startswith("survey-items/") for name in storage_backend.names())
    output, error = audit_command(survey)
    assert error is None, output
    assert "PASS headers" in output and "PASS pre-rendered" in output
    headers = pixel_headers(survey)
    assert len(headers) == 1
    names = dict(eval(next(iter(headers))))  # noqa: S307  (the repr of our own list of pairs)
    assert names["content-type"] == "application/octet-stream"
    assert names["cache-control"] == "no-store"
    assert not set(names) & set(STORAGE_HEADERS), names
    # The same headers on both backends: what the platform sets, nothing the storage adds.
    assert sorted(names) == PLATFORM_HEADERS


@pytest.fixture
def on_object_store(settings, object_store):
    """Files of this test in their own folder of the object store (set before anything is imported)."""
    from storage.backends import object_store_settings

    settings.STORAGES = {
        **settings.STORAGES,
        "default": object_store_settings(object_store.environment("leaky")),
    }


def test_pixel_responses_carrying_the_object_stores_headers_fail_the_audit(
    on_object_store,
    settings,
    phantom_survey,  # noqa: F811
):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.object_store_headers_on_pixels"]
    survey = phantom_survey()
    output, error = audit_command(survey)
    assert error is not None and "headers" in error
    assert "header 'etag' differs" in output
    assert "pixel responses carry 'x-amz-request-id'" in output
    assert "pixel responses carry 'last-modified'" in output
