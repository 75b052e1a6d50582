"""The blinding audit's checks on what a reader receives besides the pixels: the survey's balance, layers, ids and
pre-rendered payloads; the item pages (beyond the item id and position), their configuration, URLs, rating widget,
headers and cookies; what the site's error handler answers; answer responses; identifiers anywhere in what the walk
read; practice items and their feedback; a second reading. Each check names itself in the report and records a
leak (studies.blinding.measurement.BlindingReport) when a difference could tell real from synthetic.
"""

import hashlib
import json
import re
from collections import Counter

import numpy as np
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.urls import get_resolver, reverse
from django.utils import translation

from imaging.selectors import slices_of_items, with_their_slices
from studies.blinding.measurement import (
    AUC_LIMIT,
    BlindingReport,
    describe,
    separation_auc,
    split_by_truth,
)
from studies.blinding.walk import CONFIG_PATTERN, Observation, Walk, response_headers
from studies.feedback import practice_strings
from studies.models import OPAQUE_ID_LENGTH, Item, Survey, Truth
from studies.rendering import decode_payload
from studies.selectors import StackMissing, rendered_item

# Identifiers shorter than this are too common to search for in pages (patient "1", alias "A").
MIN_IDENTIFIER_CHARS = 4
# Config keys whose value belongs to the item or the reader's place; every other key must be the same everywhere.
# The exposure follows the reader's earlier answers: studies.blinding.exposure_checks checks it against its rule.
PER_ITEM_CONFIG_KEYS = {"itemId", "position", "pixelsUrl", "answerUrl", "previousUrl", "answer", "exposure"}
PAGE_HEADERS_OF_LENGTH = {"content-length"}
PROGRESS_PATTERN = re.compile(r'(data-testid="progress"[^>]*>)[^<]*(<)')
CSRF_PATTERN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
OPAQUE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
RATING_WIDGET_PATTERN = re.compile(r'<fieldset class="rating".*?</fieldset>', re.DOTALL)
# What generation writes as a synthetic dataset's source: the checkpoint's name and the MRI dataset's name.
PROVENANCE_PATTERNS = (
    re.compile(r"checkpoint (?P<name>.+?) \(sha256"),
    re.compile(r"from MRI dataset (?P<name>.+?)\s*$"),
)
# A number or share of the items on one side, e.g. "10 real", "half are synthetic", "50% sintetiche".
TRUTH_WORDS = r"(real|synthetic|fake|generated|reale|reali|sintetic[aheoi]+|generat[aeio]|fals[aeio])"
TRUTH_COUNT_PATTERN = re.compile(
    r"(\b\d+\s*(%|percent|per\s?cento)?|\bhalf\b|\bmet[àa]\b)(\s+[^\W\d_]+){0,3}?\s+" + TRUTH_WORDS + r"\b",
    re.IGNORECASE,
)
# A rating scale's description ("5 = certainly synthetic", "4 probably synthetic") or a question ("20 slices: say
# whether real") is not a count.
SCALE_WORDS = re.compile(
    r"\b(certain|certainly|probably|likely|sure|whether|if|or|certamente|probabilmente|sicur[aeio]|se|o|oppure)\b",
    re.I,
)
ASSET_PATTERN = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+)"')


def check_structure(survey: Survey, items: list[Item], report: BlindingReport) -> None:
    report.checks.append("balance")
    truths = Counter(item.truth for item in items)
    if truths[Truth.REAL] != survey.real_count or truths[Truth.SYNTHETIC] != survey.synthetic_count:
        report.leak(
            "balance",
            f"{truths[Truth.REAL]} real and {truths[Truth.SYNTHETIC]} synthetic items, expected "
            f"{survey.real_count} and {survey.synthetic_count}",
        )
    report.checks.append("layers")
    real_layers = Counter(item.axial_layer for item in items if item.truth == Truth.REAL)
    synthetic_layers = Counter(item.axial_layer for item in items if item.truth == Truth.SYNTHETIC)
    if real_layers != synthetic_layers:
        report.leak(
            "layers",
            f"axial layers differ: real {dict(sorted(real_layers.items()))}, "
            f"synthetic {dict(sorted(synthetic_layers.items()))}",
        )
    report.checks.append("ids")
    ids = [item.public_id for item in items]
    pks = {str(item.pk) for item in items}
    bad = [
        public_id
        for public_id in ids
        if len(public_id) != OPAQUE_ID_LENGTH
        or not OPAQUE_ID_PATTERN.match(public_id)
        or public_id.isdigit()
        or public_id in pks
    ]
    if bad or len(set(ids)) != len(ids):
        report.leak(
            "ids", f"{len(bad)} item id(s) are not {OPAQUE_ID_LENGTH}-character opaque ids, or ids repeat"
        )
    lengths = [(item.truth, len(item.public_id)) for item in items]
    if separation_auc(*split_by_truth(lengths)) > AUC_LIMIT:
        report.leak("ids", f"item id lengths differ: {describe(lengths)}")
    report.checks.append("pre-rendered")
    missing = []
    for item in items:
        try:
            with default_storage.open(item.payload, "rb") as handle:
                data = handle.read()
        except (OSError, ValueError):
            missing.append((item.truth, "missing"))
            continue
        if len(data) != survey.payload_bytes:
            missing.append((item.truth, f"{len(data)} bytes"))
        elif hashlib.sha256(data).hexdigest() != item.payload_sha256:
            missing.append((item.truth, "changed since rendering"))
    if missing:
        report.leak(
            "pre-rendered",
            f"{len(missing)} item payload(s) are not pre-rendered at {survey.payload_bytes} bytes: "
            f"{describe(missing)}",
        )


def reader_texts(survey: Survey) -> dict[str, str]:
    """What the admin wrote for readers, by field: the title and the instructions, in English and Italian."""
    return {
        "reader title": survey.reader_title,
        "instructions": survey.instructions,
        "Italian reader title": survey.reader_title_it,
        "Italian instructions": survey.instructions_it,
    }


def check_reader_text(survey: Survey, items: list[Item], report: BlindingReport) -> None:
    """The survey's title and instructions, in every language (the walk reads one), name neither the model, its
    checkpoint nor a dataset, nor say how many items are real or synthetic."""
    report.checks.append("reader-text")
    forbidden = forbidden_identifiers(survey, items)
    for where, text in reader_texts(survey).items():
        lowered = (text or "").lower()
        for value, what in forbidden.items():
            if value in lowered:
                report.leak("reader-text", f"the {where} contains {what} ({value!r})")
                return
        counts = [
            m.group(0) for m in TRUTH_COUNT_PATTERN.finditer(text or "") if not SCALE_WORDS.search(m.group(0))
        ]
        if counts:
            report.leak("reader-text", f"the {where} says how many items are of one kind ({counts[0]!r})")
            return


def check_page_assets(walk: Walk, report: BlindingReport) -> None:
    """Every slice page (test, practice, second reading) loads the same scripts and style sheets, all local static
    files: the viewer, its HU readout and its feedback are one code for every item."""
    report.checks.append("page-assets")
    pages = [*walk.practice, *walk.observations, *walk.repeat]
    assets = [(o.truth, tuple(sorted(ASSET_PATTERN.findall(o.page_html)))) for o in pages]
    if len({found for _, found in assets}) > 1:
        report.leak("page-assets", f"slice pages load different scripts or styles: {describe(assets)}")
        return
    static_url = settings.STATIC_URL or "/static/"
    for url in assets[0][1] if assets else ():
        if not url.startswith(static_url) or finders.find(url[len(static_url) :]) is None:
            report.leak("page-assets", f"slice pages load {url!r}, not a local static file")
            return


def normalised_page(observation: Observation) -> str:
    html = CONFIG_PATTERN.sub(
        '<script id="reader-config" type="application/json">{}</script>', observation.page_html
    )
    html = PROGRESS_PATTERN.sub(r"\1#\2", html)
    return CSRF_PATTERN.sub(r"\1#\2", html)


def check_pages(survey: Survey, walk: Walk, report: BlindingReport) -> None:
    observations = walk.observations
    report.checks.append("html")
    pages = [(o.truth, hashlib.sha256(normalised_page(o).encode()).hexdigest()[:12]) for o in observations]
    if len({page for _, page in pages}) > 1:
        report.leak("html", f"item pages differ beyond the item id and position: {describe(pages)}")
    for observation in observations:
        if observation.item.public_id in normalised_page(observation).replace(
            observation.config["itemId"], ""
        ):
            report.leak("html", "the item id appears outside the page's configuration")
            break
    report.checks.append("config")
    keys = [(o.truth, tuple(sorted(o.config))) for o in observations]
    if len({k for _, k in keys}) > 1:
        report.leak("config", f"the page configuration has different keys: {describe(keys)}")
    shared = set.intersection(*(set(o.config) for o in observations)) - PER_ITEM_CONFIG_KEYS
    for key in sorted(shared):
        values = [(o.truth, json.dumps(o.config[key], sort_keys=True)) for o in observations]
        if len({v for _, v in values}) > 1:
            report.leak("config", f"configuration value {key!r} differs: {describe(values)}")
    presets = [
        {"key": str(number), "name": p.name, "width": p.width, "level": p.level}
        for number, p in enumerate(survey.design.window_presets, start=1)
    ]
    if any(o.config.get("presets") != presets for o in observations):
        report.leak("config", "the window presets on the pages are not the survey's")
    if observations[0].config.get("matrix") != survey.display_policy.matrix_size:
        report.leak("config", f"pages declare a matrix of {observations[0].config.get('matrix')}")
    report.checks.append("urls")
    for observation in observations:
        expected = {
            "pixelsUrl": reverse("studies:pixels", args=[walk.key, observation.item.public_id]),
            "answerUrl": reverse("studies:answer", args=[walk.key, observation.item.public_id]),
        }
        for key, url in expected.items():
            if observation.config.get(key) != url:
                report.leak("urls", f"{key} of a {observation.truth} item is {observation.config.get(key)!r}")
                return


def check_rating_widget(survey: Survey, observations: list[Observation], report: BlindingReport) -> None:
    """The confidence rating starts unset and looks the same on every item: a default (a pressed point, a slider
    marked as set, a different starting value) that depended on the truth would be an answer key."""
    design = survey.design
    report.checks.append("rating-widget")
    widgets = []
    for observation in observations:
        match = RATING_WIDGET_PATTERN.search(observation.page_html)
        widgets.append((observation.truth, match.group(0) if match else ""))
    if not design.has_rating:
        if any(widget for _, widget in widgets):
            report.leak("rating-widget", "item pages show a rating widget although the survey asks for none")
        return
    missing = [(truth, "no widget") for truth, widget in widgets if not widget]
    if missing:
        report.leak("rating-widget", f"item pages without the rating widget: {describe(missing)}")
        return
    digests = [(truth, hashlib.sha256(widget.encode()).hexdigest()[:12]) for truth, widget in widgets]
    if len({digest for _, digest in digests}) > 1:
        report.leak("rating-widget", f"the rating widget differs between items: {describe(digests)}")
    preset = [
        (truth, "preselected")
        for truth, widget in widgets
        if 'aria-pressed="true"' in widget or 'data-set="true"' in widget
    ]
    if preset:
        report.leak("rating-widget", f"the rating starts with a value: {describe(preset)}")
    scales = {json.dumps(o.config.get("rating"), sort_keys=True) for o in observations}
    low, high = design.rating_range
    expected = {
        "scale": design.rating,
        "min": low,
        "max": high,
        "asksChoice": design.asks_choice,
        "confirmContradictions": design.checks_contradictions,
    }
    if scales != {json.dumps(expected, sort_keys=True)}:
        report.leak(
            "rating-widget", f"the page configuration's rating is not the survey's scale: {sorted(scales)}"
        )


# What an object store (S3, SeaweedFS, MinIO, Ceph) or a proxy in front of one adds to a file's response: an
# object's identity or a request's, never to reach a reader even when equal for every item.
STORAGE_HEADER_PREFIXES = ("x-amz-", "seaweed-", "x-minio-", "x-rgw-")
STORAGE_HEADERS = {"x-request-id", "x-trans-id", "x-openstack-request-id"}


def check_headers(observations: list[Observation], report: BlindingReport) -> None:
    report.checks.append("headers")
    for label, attribute, skip in (
        ("pixel responses", "pixels_headers", set()),
        ("item pages", "page_headers", PAGE_HEADERS_OF_LENGTH),
    ):
        names = sorted(set().union(*(getattr(o, attribute) for o in observations)) - skip)
        for name in names:
            values = [(o.truth, getattr(o, attribute).get(name)) for o in observations]
            if len({v for _, v in values}) > 1:
                report.leak("headers", f"{label}: header {name!r} differs: {describe(values)}")
    cookies = [(o.truth, o.page_cookies) for o in observations]
    if len({c for _, c in cookies}) > 1:
        report.leak("headers", f"item pages set different cookies: {describe(cookies)}")
    statuses = [(o.truth, o.pixels_status) for o in observations]
    if any(status != 200 for _, status in statuses):
        report.leak("headers", f"pixel responses are not all 200: {describe(statuses)}")
    first = observations[0].pixels_headers
    if first.get("content-type") != "application/octet-stream":
        report.leak(
            "headers", f"pixel Content-Type is {first.get('content-type')!r}, not application/octet-stream"
        )
    if "no-store" not in (first.get("cache-control") or ""):
        report.leak("headers", f"pixel Cache-Control is {first.get('cache-control')!r}, without no-store")
    storage_headers = {
        name
        for o in observations
        for name in o.pixels_headers
        if name.startswith(STORAGE_HEADER_PREFIXES) or name in STORAGE_HEADERS
    }
    for forbidden in ("etag", "last-modified", "content-disposition", *sorted(storage_headers)):
        carrying = [
            (o.truth, o.pixels_headers.get(forbidden)) for o in observations if forbidden in o.pixels_headers
        ]
        if carrying:
            report.leak("headers", f"pixel responses carry {forbidden!r}: {describe(carrying)}")


def check_error_pages(observations: list[Observation], report: BlindingReport) -> None:
    """What the site's handler500 answers for each item's page, pixels and answer, when the database cannot be
    reached and when a failure's own message names the item's truth: the same reply for every item."""
    report.checks.append("error-pages")
    handler = get_resolver().resolve_error_handler(500)
    from django.test import RequestFactory  # Django's test package (Jinja2 and more): only while auditing

    factory = RequestFactory()
    requests = {
        "item page": lambda o: factory.get(o.page_url, secure=True),
        "pixel request": lambda o: factory.get(o.config["pixelsUrl"], secure=True),
        "answer": lambda o: factory.post(
            o.config["answerUrl"], "{}", content_type="application/json", secure=True
        ),
    }
    failures = {
        "the database unreachable": lambda truth: OperationalError(f"connection failed while a {truth} item"),
        "a failure": lambda truth: RuntimeError(f"failed while a {truth} item was served"),
    }
    for failure, make_error in failures.items():
        for label, make_request in requests.items():
            replies = []
            for o in observations:
                try:
                    response = error_reply(handler, make_error(o.truth), make_request(o))
                except Exception as error:
                    report.leak("error-pages", f"the error handler raised {type(error).__name__}: {error}")
                    return
                reply = (
                    response.status_code,
                    tuple(sorted(response_headers(response).items())),
                    response.content,
                )
                replies.append((o.truth, hashlib.sha256(repr(reply).encode()).hexdigest()[:12]))
            if len({reply for _, reply in replies}) > 1:
                report.leak(
                    "error-pages",
                    f"the reply to {label} with {failure} differs between items (sha256 of status, headers and body): "
                    f"{describe(replies)}",
                )


def error_reply(handler, error: Exception, request):
    """The handler's reply, called as Django calls handler500: while `error` is being handled."""
    try:
        raise error
    except type(error):
        return handler(request)


def check_answer_feedback(observations: list[Observation], report: BlindingReport) -> None:
    report.checks.append("no-feedback")
    bodies = [
        (o.truth, json.dumps({k: v for k, v in o.answer_body.items() if k != "next_url"}, sort_keys=True))
        for o in observations
        if o.answer_status
    ]
    if len({body for _, body in bodies}) > 1:
        report.leak("no-feedback", f"answer responses differ between items: {describe(bodies)}")


def forbidden_identifiers(survey: Survey, items: list[Item]) -> dict[str, str]:
    """Strings that would tell a reader where an item came from, with what each one is."""
    found: dict[str, str] = {}

    def add(value, what):
        value = str(value or "").strip()
        if len(value) >= MIN_IDENTIFIER_CHARS:
            found.setdefault(value.lower(), what)

    for dataset in (survey.model_dataset, survey.real_dataset):
        add(dataset.name, "a dataset name")
        add(dataset.source, "a dataset source")
    add(survey.name, "the survey's name")
    add(survey.model_alias, "the model's alias")
    for pattern in PROVENANCE_PATTERNS:
        match = pattern.search(survey.model_dataset.source or "")
        if match:
            add(match.group("name"), "a name from the model's provenance (checkpoint or MRI dataset)")
    add("real_ct", "a dataset kind")
    add("synthetic_ct", "a dataset kind")
    slices = slices_of_items(item.slice_id for item in items)
    for slice_ in slices:
        add(slice_.pixels, "a slice's storage name")
        add(slice_.sop_instance_uid, "a SOP instance UID")
        add(slice_.volume.uid, "a volume uid")
        add(slice_.volume.series_key, "a series key")
        add(slice_.volume.source_path, "a source path")
        add(slice_.volume.patient, "a patient pseudonym")
    for item in [*items, *survey.practice_items.all()]:
        add(item.payload, "an item's storage name")
        add(item.payload_sha256, "an item's checksum")
    return found


def check_identifiers(survey: Survey, items: list[Item], walk: Walk, report: BlindingReport) -> None:
    report.checks.append("identifiers")
    forbidden = forbidden_identifiers(survey, items)
    texts = dict(walk.other_pages)
    for observation in walk.practice:
        texts[f"practice page {observation.position}"] = observation.page_html
        texts[f"practice pixel headers {observation.position}"] = json.dumps(observation.pixels_headers)
    for observation in walk.repeat:
        texts[f"second-reading page {observation.position}"] = observation.page_html
        texts[f"second-reading answer {observation.position}"] = json.dumps(observation.answer_body)
    for observation in walk.observations:
        texts[f"item page {observation.position}"] = observation.page_html
        texts[f"answer response {observation.position}"] = json.dumps(observation.answer_body)
        texts[f"pixel headers {observation.position}"] = json.dumps(observation.pixels_headers)
    for where, text in texts.items():
        lowered = text.lower()
        for value, what in forbidden.items():
            if value in lowered:
                report.leak("identifiers", f"the {where} contains {what} ({value!r})")
                return
        if re.search(r'"(truth|is_real|is_synthetic|dataset|model)"\s*:', lowered):
            report.leak("identifiers", f"the {where} carries a truth, dataset or model field")
            return


def feedback_texts() -> list[str]:
    """The practice feedback as readers see it, in every language of the site."""
    texts = []
    for language, _ in settings.LANGUAGES:
        with translation.override(language):
            texts += [text for name, text in practice_strings().items() if name.startswith("feedback")]
    return sorted(set(texts))


def check_practice(survey: Survey, items: list[Item], walk: Walk, report: BlindingReport) -> None:
    """Practice items go through the test items' pipeline and are never test slices; their feedback stays on
    practice pages: no test item's page or answer carries it."""
    policy = survey.display_policy
    practice_items = list(with_their_slices(survey.practice_items.all()))
    report.checks.append("practice")
    expected = survey.design.practice_items
    if len(practice_items) != expected or len(walk.practice) != expected:
        report.leak(
            "practice",
            f"the design has {expected} practice item(s); the survey holds {len(practice_items)} and the reader "
            f"read {len(walk.practice)}",
        )
    shared = {p.slice_id for p in practice_items} & {item.slice_id for item in items}
    if shared:
        report.leak("practice", f"{len(shared)} practice slice(s) are also test items")
    test_headers = {json.dumps(o.pixels_headers, sort_keys=True) for o in walk.observations}
    for observation in walk.practice:
        if len(observation.payload) != survey.payload_bytes:
            report.leak(
                "practice",
                f"a practice payload has {len(observation.payload)} bytes, not {survey.payload_bytes}",
            )
            break
        if json.dumps(observation.pixels_headers, sort_keys=True) not in test_headers:
            report.leak("practice", "practice pixel responses carry other headers than test items'")
            break
        try:
            expected_pixels, _ = rendered_item(observation.item.slice, policy, survey.design)
        except StackMissing:
            expected_pixels = None
        decoded = decode_payload(observation.payload, policy.matrix_size, survey.design.stack_slices)
        if expected_pixels is None or not np.array_equal(decoded, expected_pixels):
            report.leak(
                "practice", "a practice payload is not what the survey's display policy makes of its slice"
            )
            break
    report.checks.append("practice-feedback")
    pages = [(o.truth, hashlib.sha256(normalised_page(o).encode()).hexdigest()[:12]) for o in walk.practice]
    if len({page for _, page in pages}) > 1:
        report.leak(
            "practice-feedback", f"practice pages differ beyond the item id and position: {describe(pages)}"
        )
    bodies = [
        (o.truth, json.dumps({k: v for k, v in o.answer_body.items() if k not in ("next_url", "feedback")}))
        for o in walk.practice
    ]
    if len({body for _, body in bodies}) > 1:
        report.leak(
            "practice-feedback", f"practice answer responses differ beyond the feedback: {describe(bodies)}"
        )
    wrong = [o for o in walk.practice if o.answer_body.get("feedback") != o.truth]
    if wrong:
        report.leak(
            "practice-feedback", f"{len(wrong)} practice answer(s) give feedback that is not the item's truth"
        )
    report.checks.append("practice-separation")
    feedback = [text.lower() for text in feedback_texts()]
    for observation in walk.observations:
        page = observation.page_html.lower()
        body = observation.answer_body
        if 'data-testid="practice-feedback"' in page or any(text in page for text in feedback):
            report.leak(
                "practice-separation",
                f"the page of a {observation.truth} test item (position {observation.position}) shows practice "
                "feedback",
            )
            return
        if "feedback" in body or any(text in json.dumps(body).lower() for text in feedback):
            report.leak(
                "practice-separation",
                f"the answer response of a {observation.truth} test item (position {observation.position}) "
                "carries feedback",
            )
            return


def check_repeat(survey: Survey, items: list[Item], walk: Walk, report: BlindingReport) -> None:
    """A second reading shows the same items through the same pages: identical beyond the id and the position,
    the same payload bytes as in the first reading, the same headers, answers that say nothing."""
    design = survey.design
    if not design.has_repeat:
        return
    report.checks.append("repeat-round")
    expected = design.repeated_count(len(items))
    if len(walk.repeat) != expected:
        report.leak(
            "repeat-round", f"the second reading has {len(walk.repeat)} item(s), the design {expected}"
        )
        return
    first = {o.item.pk: o for o in walk.observations}
    pages = [(o.truth, hashlib.sha256(normalised_page(o).encode()).hexdigest()[:12]) for o in walk.repeat]
    if len({page for _, page in pages}) > 1:
        report.leak(
            "repeat-round", f"second-reading pages differ beyond the item id and position: {describe(pages)}"
        )
    bodies = [
        (o.truth, json.dumps({k: v for k, v in o.answer_body.items() if k != "next_url"}, sort_keys=True))
        for o in walk.repeat
    ]
    if len({body for _, body in bodies}) > 1:
        report.leak("repeat-round", f"second-reading answer responses differ: {describe(bodies)}")
    test_headers = {json.dumps(o.pixels_headers, sort_keys=True) for o in walk.observations}
    for observation in walk.repeat:
        earlier = first.get(observation.item.pk)
        if earlier is None or observation.payload != earlier.payload:
            report.leak(
                "repeat-round", f"a {observation.truth} item's second-reading payload differs from its first"
            )
            return
        if json.dumps(observation.pixels_headers, sort_keys=True) not in test_headers:
            report.leak(
                "repeat-round", "second-reading pixel responses carry other headers than the first reading's"
            )
            return
