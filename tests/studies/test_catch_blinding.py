"""The blinding audit of catch items (studies.blinding.catch_checks): a phantom survey with catch items passes,
its catch items walked like every item; catch items that differ from the test items in anything but their pixels
(a payload of another size, a marked page) or that lack their artefact fail."""

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studies.catch import draw_artefact, has_artefact
from studies.design import StudyDesign
from studies.models import Item
from studies.rendering import decode_payload, encode_payload
from tests.studies import test_blinding_audit as audit_tests

# The audit tests' phantom survey and audit command, shared.
phantom_dirs = audit_tests.phantom_dirs
phantom_survey = audit_tests.phantom_survey
audit_command = audit_tests.audit_command

CATCH = StudyDesign(catch_items=3, qc_min_catch_percent=80)


def rewrite_catch_payloads(survey, change):
    for item in Item.objects.filter(survey=survey, catch=True):
        with default_storage.open(item.payload, "rb") as handle:
            data = handle.read()
        payload = change(data)
        default_storage.delete(item.payload)
        default_storage.save(item.payload, ContentFile(payload))
        Item.objects.filter(pk=item.pk).update(payload_sha256=hashlib.sha256(payload).hexdigest())


def marker_on_catch_pages(get_response):
    """Leaky: an HTML comment on the item page of a catch item."""

    def middleware(request):
        response = get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and b"reader-config" in response.content:
            catch = Item.objects.filter(catch=True).values_list("public_id", flat=True)
            if any(public_id.encode() in response.content for public_id in catch):
                response.content = response.content.replace(b"</main>", b"<!-- c --></main>")
        return response

    return middleware


def test_a_survey_with_catch_items_passes_and_its_catch_items_are_checked(phantom_survey):
    survey = phantom_survey(design=CATCH)
    catch = list(Item.objects.filter(survey=survey, catch=True))
    assert len(catch) == 3 and {item.truth for item in catch} == {"synthetic"}
    policy = survey.display_policy
    for item in catch:
        with default_storage.open(item.payload, "rb") as handle:
            data = handle.read()
        assert len(data) == survey.payload_bytes
        assert has_artefact(
            decode_payload(data, policy.matrix_size, 1), low=policy.hu_min, high=policy.hu_max
        )
    output, error = audit_command(survey)
    assert error is None, output
    assert "PASS catch" in output and "PASS balance" in output and "PASS background" in output


def test_a_catch_payload_of_another_size_fails(phantom_survey):
    survey = phantom_survey(design=CATCH)
    rewrite_catch_payloads(survey, lambda data: data[:-2])
    output, error = audit_command(survey)
    assert error is not None
    assert (
        "LEAK [catch] 3 catch payload(s) are not pre-rendered at 32768 bytes: [32766, 32766, 32766]" in output
    )


def test_a_marked_catch_page_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.test_catch_blinding.marker_on_catch_pages"]
    survey = phantom_survey(design=CATCH)
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [catch] 3 catch item(s) differ from the test items in their pages" in output


def test_catch_items_without_their_artefact_fail(phantom_survey):
    survey = phantom_survey(design=CATCH)
    matrix = survey.display_policy.matrix_size
    real = Item.objects.filter(survey=survey, catch=False, truth="real").first()
    with default_storage.open(real.payload, "rb") as handle:
        plain = handle.read()
    rewrite_catch_payloads(survey, lambda data: plain)
    output, error = audit_command(survey)
    assert error is not None
    assert "3 catch item(s) lack the artefact" in output
    # the artefact drawn on those plain pixels is what a catch item shows
    pixels = decode_payload(plain, matrix, 1)
    marked = draw_artefact(pixels, low=-1024, high=3071)
    assert encode_payload(marked) != plain and has_artefact(marked, low=-1024, high=3071)
