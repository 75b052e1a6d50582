"""The blinding audit of catch items (studies.catch): they are walked like every item (the throwaway reader's order
holds them) and must be indistinguishable from the test items in everything but their pixels: the same page
(beyond the item id and position), the same pixel and page headers, a payload of the same size, the same answer
response. Their pixels must carry the documented artefact, or their answer is not certain.

The real-against-synthetic pixel checks (studies.blinding.pixel_checks) compare test items only: a catch item is
synthetic by construction and its artefact is meant to be seen.
"""

import hashlib
import json

from django.core.files.storage import default_storage

from studies.blinding.checks import PAGE_HEADERS_OF_LENGTH, normalised_page
from studies.blinding.measurement import BlindingReport
from studies.blinding.walk import Walk
from studies.catch import has_artefact
from studies.models import Item, Survey, Truth
from studies.rendering import decode_payload


def _page(observation) -> str:
    return hashlib.sha256(normalised_page(observation).encode()).hexdigest()


def _headers(headers: dict, skip=frozenset()) -> str:
    return json.dumps({k: v for k, v in headers.items() if k not in skip}, sort_keys=True)


def _answer(observation) -> str:
    return json.dumps({k: v for k, v in observation.answer_body.items() if k != "next_url"}, sort_keys=True)


def check_catch(survey: Survey, items: list[Item], walk: Walk, report: BlindingReport) -> None:
    catch_items = [item for item in items if item.catch]
    expected = survey.design.catch_items
    if not expected and not catch_items:
        return
    report.checks.append("catch")
    if len(catch_items) != expected:
        report.leak("catch", f"the design has {expected} catch item(s); the survey holds {len(catch_items)}")
    if any(item.truth != Truth.SYNTHETIC for item in catch_items):
        report.leak("catch", "a catch item is not synthetic: its answer is not certain")
    stored = []
    for item in catch_items:
        try:
            with default_storage.open(item.payload, "rb") as handle:
                data = handle.read()
        except (OSError, ValueError):
            data = b""
        if len(data) != survey.payload_bytes or hashlib.sha256(data).hexdigest() != item.payload_sha256:
            stored.append(len(data))
    if stored:
        report.leak(
            "catch",
            f"{len(stored)} catch payload(s) are not pre-rendered at {survey.payload_bytes} bytes: {sorted(stored)}",
        )
    observed = [o for o in walk.observations if o.item.catch]
    tests = [o for o in walk.observations if not o.item.catch]
    if len(observed) != len(catch_items):
        report.leak(
            "catch", f"the reader's walk read {len(observed)} of the {len(catch_items)} catch item(s)"
        )
    if not observed or not tests:
        return
    checks = (
        ("pages", _page),
        ("pixel headers", lambda o: _headers(o.pixels_headers)),
        ("page headers", lambda o: _headers(o.page_headers, PAGE_HEADERS_OF_LENGTH)),
        ("answer responses", _answer),
    )
    for what, key in checks:
        usual = {key(o) for o in tests}
        differing = sum(key(o) not in usual for o in observed)
        if differing:
            report.leak("catch", f"{differing} catch item(s) differ from the test items in their {what}")
    sizes = {len(o.payload) for o in tests}
    wrong = [
        len(o.payload)
        for o in observed
        if len(o.payload) not in sizes or len(o.payload) != survey.payload_bytes
    ]
    if wrong:
        report.leak(
            "catch",
            f"catch payloads of {sorted(set(wrong))} bytes; every payload is {survey.payload_bytes} bytes",
        )
        return
    policy = survey.display_policy
    unmarked = 0
    for observation in observed:
        stack = decode_payload(observation.payload, policy.matrix_size, survey.design.stack_slices)
        unmarked += not has_artefact(stack, low=policy.hu_min, high=policy.hu_max)
    if unmarked:
        report.leak("catch", f"{unmarked} catch item(s) lack the artefact: their answer is not certain")
