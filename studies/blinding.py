"""The blinding audit: read every item of a survey exactly as a reader would, and fail on any measurable
difference between real and synthetic items.

The audit signs in a throwaway reader with a fresh assignment through Django's test client, walks the survey
page by page (item page, pixel payload, answer), and compares what came back. The throwaway assignment reads any
survey as if it were open without the survey's row being touched, and everything the walk writes is rolled back at
the end, so it can run on a draft, an open or a closed survey and holds no lock on the survey while it runs.
See docs/blinding.md for the rules and how each is checked.
"""

import hashlib
import json
import re
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.test import Client, RequestFactory
from django.urls import get_resolver, reverse
from django.utils import translation

from imaging.selectors import slices_of_items, with_their_slices
from studies.design import RATING_MIDPOINTS, StudyDesign
from studies.feedback import practice_strings
from studies.models import OPAQUE_ID_LENGTH, Assignment, Item, Survey, Truth
from studies.policy import DisplayPolicy
from studies.rendering import BODY_THRESHOLD_HU, body_extent, body_mask, circle_mask, decode_payload
from studies.sampling import make_item_order
from studies.selectors import StackMissing, rendered_stack

# A feature whose values separate real from synthetic items better than this (area under the ROC curve of the
# best threshold, either direction) counts as a leak.
AUC_LIMIT = 0.6
BORDER_PIXELS = 2
# What rounding and resampling give between items that are shown alike; a larger gap can be a cue.
SCALE_TOLERANCE = 0.01  # relative
BODY_TOLERANCE_PIXELS = 2.0
CENTRE_TOLERANCE_PIXELS = 2.0
PADDING_TOLERANCE = 0.02
STACK_SCALE_TOLERANCE = 0.03  # relative body size of the neighbours against the centre slice
# Identifiers shorter than this are too common to search for in pages (patient "1", alias "A").
MIN_IDENTIFIER_CHARS = 4
# Config keys whose value belongs to the item or the reader's place; every other key must be the same everywhere.
PER_ITEM_CONFIG_KEYS = {"itemId", "position", "pixelsUrl", "answerUrl", "previousUrl", "answer"}
IGNORED_HEADERS = {"date"}
PAGE_HEADERS_OF_LENGTH = {"content-length"}
CONFIG_PATTERN = re.compile(r'<script id="reader-config" type="application/json">(.*?)</script>', re.DOTALL)
PROGRESS_PATTERN = re.compile(r'(data-testid="progress"[^>]*>)[^<]*(<)')
CSRF_PATTERN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
OPAQUE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
RATING_WIDGET_PATTERN = re.compile(r'<fieldset class="rating".*?</fieldset>', re.DOTALL)


@dataclass(frozen=True)
class Finding:
    check: str
    message: str

    def __str__(self):
        return f"[{self.check}] {self.message}"


@dataclass
class BlindingReport:
    survey: str
    items: int
    checks: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # What the audit measured that a reader of the report should see, passed or not: (check, text).
    measurements: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings

    def leak(self, check: str, message: str) -> None:
        self.findings.append(Finding(check, message))

    def measure(self, check: str, message: str) -> None:
        self.measurements.append((check, message))

    def text(self) -> str:
        lines = [f"Blinding audit of {self.survey!r}: {self.items} items"]
        failed = {f.check for f in self.findings}
        for check in self.checks:
            if check not in failed:
                lines.append(f"PASS {check}")
        lines += [f"MEASURED [{check}] {message}" for check, message in self.measurements]
        lines += [f"LEAK {finding}" for finding in self.findings]
        lines.append("PASSED" if self.passed else f"FAILED: {len(self.findings)} leak(s)")
        return "\n".join(lines)


def separation_auc(first, second) -> float:
    """How well one threshold on a value separates two groups: max(AUC, 1 - AUC), 0.5 = not at all."""
    a = np.asarray(list(first), dtype=np.float64)
    b = np.asarray(list(second), dtype=np.float64)
    if a.size == 0 or b.size == 0:
        return 0.5
    greater = (a[:, None] > b[None, :]).sum()
    ties = (a[:, None] == b[None, :]).sum()
    auc = (greater + 0.5 * ties) / (a.size * b.size)
    return float(max(auc, 1.0 - auc))


@dataclass
class _Observation:
    item: Item
    position: int
    page_url: str = ""
    page_status: int = 0
    page_html: str = ""
    page_headers: dict = field(default_factory=dict)
    page_cookies: tuple = ()
    config: dict = field(default_factory=dict)
    pixels_status: int = 0
    pixels_headers: dict = field(default_factory=dict)
    payload: bytes = b""
    answer_status: int = 0
    answer_body: dict = field(default_factory=dict)

    @property
    def truth(self) -> str:
        return self.item.truth


class _Walk:
    """What one reader's walk through the survey returned."""

    def __init__(self):
        self.observations: list[_Observation] = []
        self.practice: list[_Observation] = []
        self.repeat: list[_Observation] = []
        self.other_pages: dict[str, str] = {}
        self.errors: list[str] = []
        self.key = ""


def audit_survey_blinding(survey: Survey, *, progress=None) -> BlindingReport:
    """Audit the survey; `progress(done)` is called with the number of items read so far."""
    survey = Survey.objects.select_related("model_dataset", "real_dataset").get(pk=survey.pk)
    items = list(with_their_slices(survey.items.order_by("id")))
    report = BlindingReport(survey=survey.name, items=len(items))
    _check_structure(survey, items, report)
    walk = _walk_as_reader(survey, items, progress)
    report.checks.append("reader-walk")
    for error in walk.errors:
        report.leak("reader-walk", error)
    observations = walk.observations
    if observations:
        _check_pages(survey, walk, report)
        _check_rating_widget(survey, observations, report)
        _check_headers(observations, report)
        _check_error_pages(observations, report)
        _check_payloads(survey, observations, report)
        _check_answer_feedback(observations, report)
        _check_identifiers(survey, items, walk, report)
        _check_practice(survey, items, walk, report)
        _check_repeat(survey, items, walk, report)
    return report


# ---------------------------------------------------------------------------------------------------------
# Checks that need no request


def _split(values_by_item: list[tuple[str, object]]) -> tuple[list, list]:
    real = [v for truth, v in values_by_item if truth == Truth.REAL]
    synthetic = [v for truth, v in values_by_item if truth == Truth.SYNTHETIC]
    return real, synthetic


def _describe(values_by_item: list[tuple[str, object]]) -> str:
    """'a' on 10 real items, 'b' on 10 synthetic items — how a differing value splits by truth."""
    counts = Counter((repr(value), truth) for truth, value in values_by_item)
    parts = [f"{value} on {n} {truth} item(s)" for (value, truth), n in sorted(counts.items())]
    return "; ".join(parts[:6]) + ("; ..." if len(parts) > 6 else "")


def _check_structure(survey: Survey, items: list[Item], report: BlindingReport) -> None:
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
    if separation_auc(*_split(lengths)) > AUC_LIMIT:
        report.leak("ids", f"item id lengths differ: {_describe(lengths)}")
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
            f"{_describe(missing)}",
        )


# ---------------------------------------------------------------------------------------------------------
# The walk


def _audit_host() -> str:
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            return "testserver"
        if host:
            return host.lstrip(".")
    return "localhost"


def _walk_as_reader(survey: Survey, items: list[Item], progress) -> _Walk:
    walk = _Walk()
    # Nothing here changes the survey's row (the audit's assignment reads any survey as if it were open), so no
    # lock is held on it while the walk runs; everything the walk writes is rolled back.
    with transaction.atomic():
        try:
            reader = get_user_model().objects.create_user(
                username=f"blinding-audit-{secrets.token_hex(8)}", password=None
            )
            seed = secrets.randbits(62)
            assignment = Assignment.objects.create(
                survey=survey,
                reader=reader,
                seed=seed,
                item_order=make_item_order([i.pk for i in items], seed),
                practice_order=make_item_order(
                    list(survey.practice_items.values_list("pk", flat=True)), seed
                ),
                is_audit=True,
            )
            walk.key = assignment.key
            client = Client(HTTP_HOST=_audit_host(), raise_request_exception=False)
            client.force_login(reader)
            # The walk's requests activate their own language; the caller's (an admin page) is restored after.
            with translation.override(translation.get_language()):
                _walk(client, survey, assignment, items, walk, progress)
        finally:
            transaction.set_rollback(True)
    return walk


def _walk(
    client: Client, survey: Survey, assignment: Assignment, items: list[Item], walk: _Walk, progress
) -> None:
    by_pk = {item.pk: item for item in items}
    start = client.get(reverse("studies:start", args=[assignment.key]), secure=True)
    if start.status_code != 200:
        walk.errors.append(f"the survey's start page answered {start.status_code}")
        return
    walk.other_pages["start page"] = start.content.decode()
    # Practice items first, as readers read them (their pages are compared with the test items' pipeline).
    practice = {p.pk: p for p in with_their_slices(survey.practice_items.all())}
    for position, practice_pk in enumerate(assignment.practice_order, start=1):
        observation = _Observation(item=practice[practice_pk], position=position)
        walk.practice.append(observation)
        url = reverse("studies:practice", args=[assignment.key, position])
        if not _read_one(client, survey, observation, url, f"practice page {position}", walk):
            return
    if assignment.practice_order:
        over = client.get(reverse("studies:practice_over", args=[assignment.key]), secure=True)
        if over.status_code != 200:
            walk.errors.append(f"the practice-over page answered {over.status_code}")
            return
        walk.other_pages["practice-over page"] = over.content.decode()
    for position, item_pk in enumerate(assignment.item_order, start=1):
        observation = _Observation(item=by_pk[item_pk], position=position)
        walk.observations.append(observation)
        url = reverse("studies:item", args=[assignment.key, position])
        if not _read_one(client, survey, observation, url, f"item page {position}", walk):
            return
        if progress is not None:
            progress(position)
    review = client.get(reverse("studies:review", args=[assignment.key]), secure=True)
    walk.other_pages["review page"] = review.content.decode()
    finish = client.post(reverse("studies:review", args=[assignment.key]), secure=True)
    if finish.status_code not in (200, 302):
        walk.errors.append(f"confirming the end answered {finish.status_code}")
    thanks = client.get(reverse("studies:thanks", args=[assignment.key]), secure=True)
    walk.other_pages["thank-you page"] = thanks.content.decode()
    reading_round = assignment.rounds.filter(number=2).first()
    if reading_round is None:
        return
    # The second reading, as readers read it once their wash-out is over (the audit's reader never waits).
    for position, item_pk in enumerate(reading_round.item_order, start=1):
        observation = _Observation(item=by_pk[item_pk], position=position)
        walk.repeat.append(observation)
        url = reverse("studies:repeat", args=[assignment.key, position])
        if not _read_one(client, survey, observation, url, f"second-reading page {position}", walk):
            return
    review = client.get(reverse("studies:repeat_review", args=[assignment.key]), secure=True)
    walk.other_pages["second-reading review page"] = review.content.decode()
    finish = client.post(reverse("studies:repeat_review", args=[assignment.key]), secure=True)
    if finish.status_code not in (200, 302):
        walk.errors.append(f"confirming the end of the second reading answered {finish.status_code}")


def _read_one(client: Client, survey: Survey, observation: _Observation, url: str, label: str, walk) -> bool:
    """Read one page as a reader: the page, its pixels, one neutral answer. False (with an error) if it broke."""
    policy = survey.display_policy
    observation.page_url = url
    page = client.get(url, secure=True)
    observation.page_status = page.status_code
    if page.status_code != 200:
        walk.errors.append(f"{label} answered {page.status_code}")
        return False
    observation.page_html = page.content.decode()
    observation.page_headers = _headers(page)
    observation.page_cookies = _cookie_shapes(page)
    match = CONFIG_PATTERN.search(observation.page_html)
    if match is None:
        walk.errors.append(f"{label} has no reader configuration")
        return False
    observation.config = json.loads(match.group(1))
    if observation.config.get("itemId") != observation.item.public_id:
        walk.errors.append(f"{label} does not show the item the reader's order says")
        return False
    pixels = client.get(observation.config["pixelsUrl"], secure=True)
    observation.pixels_status = pixels.status_code
    observation.pixels_headers = _headers(pixels)
    observation.payload = pixels.content
    answer = client.post(
        observation.config["answerUrl"],
        data=json.dumps(
            {
                **_neutral_answer(survey.design),
                "reason": "",
                "seconds_on_slice": 1.0,
                "window_width": float(policy.default_window_width),
                "window_level": float(policy.default_window_level),
                "zoom": 1.0,
                "window_changed": False,
                "client_key": str(uuid.uuid4()),
                "base_revision": 0,
            }
        ),
        content_type="application/json",
        secure=True,
    )
    observation.answer_status = answer.status_code
    try:
        observation.answer_body = json.loads(answer.content)
    except ValueError:
        observation.answer_body = {"unparsed": answer.content.decode(errors="replace")}
    if answer.status_code != 200:
        walk.errors.append(f"answering {label} answered {answer.status_code}")
        return False
    return True


def _neutral_answer(design: StudyDesign) -> dict:
    """The audit's answer to every item: indeterminable, and the rating scale's midpoint when there is one."""
    answer = {"choice": "indeterminable" if design.asks_choice else None}
    if design.has_rating:
        answer["rating"] = RATING_MIDPOINTS[design.rating]
    if design.is_stack:
        answer["slices_visited"] = list(range(0, design.stack_k + 1)) + list(
            range(-1, -design.stack_k - 1, -1)
        )
        answer["seconds_per_slice"] = [0.5] * design.stack_slices
    return answer


def _headers(response) -> dict:
    return {
        name.lower(): value for name, value in response.headers.items() if name.lower() not in IGNORED_HEADERS
    }


def _cookie_shapes(response) -> tuple:
    """The cookies a response sets, without their values (tokens differ on every response)."""
    shapes = []
    for name, morsel in sorted(response.cookies.items()):
        attributes = tuple(
            sorted((k, str(v)) for k, v in morsel.items() if v and k not in ("expires", "max-age"))
        )
        shapes.append((name, attributes))
    return tuple(shapes)


# ---------------------------------------------------------------------------------------------------------
# Checks on what the walk returned


def _normalised_page(observation: _Observation) -> str:
    html = CONFIG_PATTERN.sub(
        '<script id="reader-config" type="application/json">{}</script>', observation.page_html
    )
    html = PROGRESS_PATTERN.sub(r"\1#\2", html)
    return CSRF_PATTERN.sub(r"\1#\2", html)


def _check_pages(survey: Survey, walk: _Walk, report: BlindingReport) -> None:
    observations = walk.observations
    report.checks.append("html")
    pages = [(o.truth, hashlib.sha256(_normalised_page(o).encode()).hexdigest()[:12]) for o in observations]
    if len({page for _, page in pages}) > 1:
        report.leak("html", f"item pages differ beyond the item id and position: {_describe(pages)}")
    for observation in observations:
        if observation.item.public_id in _normalised_page(observation).replace(
            observation.config["itemId"], ""
        ):
            report.leak("html", "the item id appears outside the page's configuration")
            break
    report.checks.append("config")
    keys = [(o.truth, tuple(sorted(o.config))) for o in observations]
    if len({k for _, k in keys}) > 1:
        report.leak("config", f"the page configuration has different keys: {_describe(keys)}")
    shared = set.intersection(*(set(o.config) for o in observations)) - PER_ITEM_CONFIG_KEYS
    for key in sorted(shared):
        values = [(o.truth, json.dumps(o.config[key], sort_keys=True)) for o in observations]
        if len({v for _, v in values}) > 1:
            report.leak("config", f"configuration value {key!r} differs: {_describe(values)}")
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


def _check_rating_widget(survey: Survey, observations: list[_Observation], report: BlindingReport) -> None:
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
        report.leak("rating-widget", f"item pages without the rating widget: {_describe(missing)}")
        return
    digests = [(truth, hashlib.sha256(widget.encode()).hexdigest()[:12]) for truth, widget in widgets]
    if len({digest for _, digest in digests}) > 1:
        report.leak("rating-widget", f"the rating widget differs between items: {_describe(digests)}")
    preset = [
        (truth, "preselected")
        for truth, widget in widgets
        if 'aria-pressed="true"' in widget or 'data-set="true"' in widget
    ]
    if preset:
        report.leak("rating-widget", f"the rating starts with a value: {_describe(preset)}")
    scales = {json.dumps(o.config.get("rating"), sort_keys=True) for o in observations}
    low, high = design.rating_range
    expected = {"scale": design.rating, "min": low, "max": high, "asksChoice": design.asks_choice}
    if scales != {json.dumps(expected, sort_keys=True)}:
        report.leak(
            "rating-widget", f"the page configuration's rating is not the survey's scale: {sorted(scales)}"
        )


def _check_headers(observations: list[_Observation], report: BlindingReport) -> None:
    report.checks.append("headers")
    for label, attribute, skip in (
        ("pixel responses", "pixels_headers", set()),
        ("item pages", "page_headers", PAGE_HEADERS_OF_LENGTH),
    ):
        names = sorted(set().union(*(getattr(o, attribute) for o in observations)) - skip)
        for name in names:
            values = [(o.truth, getattr(o, attribute).get(name)) for o in observations]
            if len({v for _, v in values}) > 1:
                report.leak("headers", f"{label}: header {name!r} differs: {_describe(values)}")
    cookies = [(o.truth, o.page_cookies) for o in observations]
    if len({c for _, c in cookies}) > 1:
        report.leak("headers", f"item pages set different cookies: {_describe(cookies)}")
    statuses = [(o.truth, o.pixels_status) for o in observations]
    if any(status != 200 for _, status in statuses):
        report.leak("headers", f"pixel responses are not all 200: {_describe(statuses)}")
    first = observations[0].pixels_headers
    if first.get("content-type") != "application/octet-stream":
        report.leak(
            "headers", f"pixel Content-Type is {first.get('content-type')!r}, not application/octet-stream"
        )
    if "no-store" not in (first.get("cache-control") or ""):
        report.leak("headers", f"pixel Cache-Control is {first.get('cache-control')!r}, without no-store")
    for forbidden in ("etag", "last-modified", "content-disposition"):
        carrying = [
            (o.truth, o.pixels_headers.get(forbidden)) for o in observations if forbidden in o.pixels_headers
        ]
        if carrying:
            report.leak("headers", f"pixel responses carry {forbidden!r}: {_describe(carrying)}")


def _check_error_pages(observations: list[_Observation], report: BlindingReport) -> None:
    """What the site's handler500 answers for each item's page, pixels and answer, when the database cannot be
    reached and when a failure's own message names the item's truth: the same reply for every item."""
    report.checks.append("error-pages")
    handler = get_resolver().resolve_error_handler(500)
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
                    response = _error_reply(handler, make_error(o.truth), make_request(o))
                except Exception as error:
                    report.leak("error-pages", f"the error handler raised {type(error).__name__}: {error}")
                    return
                reply = (response.status_code, tuple(sorted(_headers(response).items())), response.content)
                replies.append((o.truth, hashlib.sha256(repr(reply).encode()).hexdigest()[:12]))
            if len({reply for _, reply in replies}) > 1:
                report.leak(
                    "error-pages",
                    f"the reply to {label} with {failure} differs between items (sha256 of status, headers and body): "
                    f"{_describe(replies)}",
                )


def _error_reply(handler, error: Exception, request):
    """The handler's reply, called as Django calls handler500: while `error` is being handled."""
    try:
        raise error
    except type(error):
        return handler(request)


def _payload_shape(survey: Survey) -> str:
    matrix, slices = survey.display_policy.matrix_size, survey.design.stack_slices
    return f"{matrix}x{matrix} int16" if slices == 1 else f"{slices} x {matrix}x{matrix} int16, a stack"


def _check_payloads(survey: Survey, observations: list[_Observation], report: BlindingReport) -> None:
    """Size, headers and pixels of every payload; for a stack, every slice of every stack."""
    policy = survey.display_policy
    matrix = policy.matrix_size
    slices = survey.design.stack_slices
    report.checks.append("payload-size")
    sizes = [(o.truth, len(o.payload)) for o in observations]
    wrong = [(truth, size) for truth, size in sizes if size != survey.payload_bytes]
    if wrong:
        report.leak(
            "payload-size",
            f"payloads must be exactly {survey.payload_bytes} bytes ({_payload_shape(survey)}): {_describe(wrong)}",
        )
    auc = separation_auc(*_split(sizes))
    if auc > AUC_LIMIT:
        report.leak("payload-size", f"payload sizes separate real from synthetic (AUC {auc:.2f})")
    lengths = [(o.truth, o.pixels_headers.get("content-length")) for o in observations]
    if any(value != str(len(o.payload)) for o, (_, value) in zip(observations, lengths, strict=True)):
        report.leak("payload-size", f"Content-Length does not match the payload: {_describe(lengths)}")
    report.checks.append("dtype")
    decoded: list[tuple[_Observation, np.ndarray]] = []  # each payload as (slices, matrix, matrix)
    for observation in observations:
        try:
            decoded.append((observation, decode_payload(observation.payload, matrix, slices)))
        except ValueError:
            continue
    if len(decoded) < len(observations):
        report.leak(
            "dtype",
            f"{len(observations) - len(decoded)} payload(s) do not decode as {_payload_shape(survey)} "
            "(little-endian)",
        )
    if not decoded:
        return
    # Every slice of every stack is checked as an image of its own.
    images = [(observation.truth, image) for observation, stack in decoded for image in stack]
    report.checks.append("clip-range")
    outside = [
        (truth, f"{int(image.min())}..{int(image.max())}")
        for truth, image in images
        if image.min() < policy.hu_min or image.max() > policy.hu_max
    ]
    if outside:
        report.leak(
            "clip-range",
            f"values outside the HU clip range {policy.hu_min}..{policy.hu_max}: {_describe(outside)}",
        )
    report.checks.append("background")
    borders = [(truth, _border(image)) for truth, image in images]
    modes = [(truth, _mode(border)) for truth, border in borders]
    auc = separation_auc(*_split(modes))
    if auc > AUC_LIMIT:
        report.leak("background", f"the background value differs (AUC {auc:.2f}): {_describe(modes)}")
    if policy.mask != "none":
        leaking = [
            (truth, "not masked") for truth, image in images if not _outside_mask_is_background(policy, image)
        ]
        if leaking:
            report.leak(
                "background",
                f"pixels outside the {policy.mask} mask are not all the background value {policy.hu_min}: "
                f"{_describe(leaking)}",
            )
    report.checks.append("quantisation")
    steps = [(truth, _quantisation_step(image)) for truth, image in images]
    auc = separation_auc(*_split(steps))
    if auc > AUC_LIMIT:
        report.leak(
            "quantisation", f"the HU step between grey levels differs (AUC {auc:.2f}): {_describe(steps)}"
        )
    _check_geometry(policy, decoded, report)


# ---------------------------------------------------------------------------------------------------------
# Scale and geometry: what the source's geometry could give away


@dataclass(frozen=True)
class _Shape:
    """What the audit measures of one displayed item."""

    truth: str
    mm_per_pixel: float
    body_rows: int
    body_columns: int
    centre_offset: float  # pixels between the body's centre and the image's centre
    padding: float  # share of the pixels outside the body that are exactly the background value


def _measure(truth: str, image: np.ndarray, mm_per_pixel: float, policy: DisplayPolicy) -> _Shape:
    extent = body_extent(image, hu_min=policy.hu_min)
    centre = (policy.matrix_size - 1) / 2
    outside = ~body_mask(image, hu_min=policy.hu_min) if extent is not None else np.ones(image.shape, bool)
    padding = float(np.mean(image[outside] == policy.background_hu)) if outside.any() else 1.0
    if extent is None:
        return _Shape(truth, mm_per_pixel, 0, 0, 0.0, padding)
    offset = float(np.hypot(extent.centre_row - centre, extent.centre_column - centre))
    return _Shape(truth, mm_per_pixel, extent.rows, extent.columns, offset, padding)


def _gap(shapes: list[_Shape], value) -> tuple[float, float, float, float]:
    """(AUC, |median gap|, median real, median synthetic) of a measured value between real and synthetic."""
    real = [value(s) for s in shapes if s.truth == Truth.REAL]
    synthetic = [value(s) for s in shapes if s.truth == Truth.SYNTHETIC]
    if not real or not synthetic:
        return 0.5, 0.0, float("nan"), float("nan")
    median_real, median_synthetic = float(np.median(real)), float(np.median(synthetic))
    return separation_auc(real, synthetic), abs(median_real - median_synthetic), median_real, median_synthetic


def _check_geometry(policy: DisplayPolicy, decoded: list[tuple[_Observation, np.ndarray]], report) -> None:
    """The same pipeline for every item (its payload is what the policy makes of its source slice), one scale,
    the body centred alike, and the same padding around it.

    A measured value counts as a leak when its AUC between real and synthetic items exceeds AUC_LIMIT and its
    medians differ by more than what rounding gives (a tolerance per value): small surveys give AUCs above
    0.6 by chance for values that differ by a fraction of a pixel.
    """
    report.checks.append("same-pipeline")
    shapes: list[_Shape] = []
    differing = []
    stack_k = (decoded[0][1].shape[0] - 1) // 2
    for observation, stack in decoded:
        try:
            expected, geometry = rendered_stack(observation.item.slice, policy, stack_k)
        except StackMissing:
            differing.append((observation.truth, "neighbours missing"))
            continue
        if not np.array_equal(expected, stack):
            differing.append((observation.truth, "differs"))
        shapes += [_measure(observation.truth, image, geometry.mm_per_pixel, policy) for image in stack]
    if differing:
        report.leak(
            "same-pipeline",
            f"{len(differing)} payload(s) are not what the survey's display policy makes of their source "
            f"slice{'s' if stack_k else ''}: {_describe(differing)}",
        )
    if stack_k:
        _check_stack_scale(policy, decoded, report)

    report.checks.append("scale")
    scales = sorted({round(s.mm_per_pixel, 9) for s in shapes})
    auc, gap, real, synthetic = _gap(shapes, lambda s: s.mm_per_pixel)
    if policy.per_slice_field_of_view:
        report.measure(
            "scale",
            f"mm per displayed pixel: real median {real:.3f}, synthetic median {synthetic:.3f} (AUC {auc:.2f})",
        )
        if auc > AUC_LIMIT and gap > SCALE_TOLERANCE * max(real, synthetic):
            report.leak(
                "scale",
                f"each slice keeps its own field of view and real and synthetic items are shown at different "
                f"scales: {real:.3f} vs {synthetic:.3f} mm per pixel (median, AUC {auc:.2f})",
            )
    elif len(scales) != 1:
        report.leak(
            "scale", f"items are shown at {len(scales)} different scales, not one: {scales[:4]} mm per pixel"
        )
    else:
        report.measure("scale", f"{scales[0]:.4f} mm per displayed pixel in every item")

    report.checks.append("body-extent")
    auc_rows, gap_rows, real_rows, synthetic_rows = _gap(shapes, lambda s: s.body_rows)
    auc_columns, gap_columns, real_columns, synthetic_columns = _gap(shapes, lambda s: s.body_columns)
    auc = max(auc_rows, auc_columns)
    report.measure(
        "body-extent",
        f"body extent in the payload (median rows x columns): real {real_rows:.0f} x {real_columns:.0f}, "
        f"synthetic {synthetic_rows:.0f} x {synthetic_columns:.0f} pixels (AUC {auc:.2f})",
    )
    separates = (auc_rows > AUC_LIMIT and gap_rows > BODY_TOLERANCE_PIXELS) or (
        auc_columns > AUC_LIMIT and gap_columns > BODY_TOLERANCE_PIXELS
    )
    if separates and policy.per_slice_field_of_view:
        report.leak(
            "body-extent",
            f"bodies are drawn at different sizes (AUC {auc:.2f}): median {real_rows:.0f} x {real_columns:.0f} "
            f"pixels real vs {synthetic_rows:.0f} x {synthetic_columns:.0f} synthetic",
        )
    elif separates:
        report.measure(
            "body-extent",
            "bodies differ in size between the pools although every item has the same scale: the patients' "
            "anatomy differs, not the display; consider real and synthetic pools of similar patients",
        )

    report.checks.append("centring")
    auc, gap, real, synthetic = _gap(shapes, lambda s: s.centre_offset)
    report.measure(
        "centring", f"body centre offset: real median {real:.1f}, synthetic median {synthetic:.1f} pixels"
    )
    if auc > AUC_LIMIT and gap > CENTRE_TOLERANCE_PIXELS:
        report.leak(
            "centring",
            f"the body sits at a different place in real and synthetic items (AUC {auc:.2f}): "
            f"{real:.1f} vs {synthetic:.1f} pixels from the centre (median)",
        )

    report.checks.append("padding")
    auc, gap, real, synthetic = _gap(shapes, lambda s: s.padding)
    if auc > AUC_LIMIT and gap > PADDING_TOLERANCE:
        report.leak(
            "padding",
            f"the area around the body differs (AUC {auc:.2f}): {real:.0%} vs {synthetic:.0%} of it is exactly "
            f"the background value in real vs synthetic items (a reconstruction circle, or padding where the "
            f"field of view leaves the slice)",
        )


@dataclass(frozen=True)
class _Ratio:
    truth: str
    value: float


def _check_stack_scale(policy: DisplayPolicy, decoded: list[tuple[_Observation, np.ndarray]], report) -> None:
    """Neighbours at the centre slice's scale: in each stack, the body's extent in the neighbours against the
    centre's (median ratio over the neighbours); real and synthetic stacks must not differ in it (neighbours
    zoomed or shrunk in one pool only would show as a jump the reader sees while scrolling)."""
    report.checks.append("stack-scale")
    ratios = []
    for observation, stack in decoded:
        centre = body_extent(stack[len(stack) // 2], hu_min=policy.hu_min)
        if centre is None:
            continue
        values = []
        for offset, image in enumerate(stack):
            extent = body_extent(image, hu_min=policy.hu_min)
            if offset != len(stack) // 2 and extent is not None:
                values.append(np.sqrt(extent.area / centre.area))
        if values:
            ratios.append(_Ratio(observation.truth, float(np.median(values))))
    auc, gap, real, synthetic = _gap(ratios, lambda r: r.value)
    report.measure(
        "stack-scale",
        f"body size in the neighbours against the centre slice: real median {real:.3f}, synthetic median "
        f"{synthetic:.3f} (AUC {auc:.2f})",
    )
    if auc > AUC_LIMIT and gap > STACK_SCALE_TOLERANCE:
        report.leak(
            "stack-scale",
            f"the neighbouring slices of real and synthetic stacks are drawn at different scales (AUC {auc:.2f}): "
            f"body size {real:.3f} vs {synthetic:.3f} of the centre slice's (median)",
        )


def _border(image: np.ndarray) -> np.ndarray:
    b = BORDER_PIXELS
    return np.concatenate(
        [image[:b].ravel(), image[-b:].ravel(), image[b:-b, :b].ravel(), image[b:-b, -b:].ravel()]
    )


def _mode(values: np.ndarray) -> int:
    uniques, counts = np.unique(values, return_counts=True)
    return int(uniques[np.argmax(counts)])


def _outside_mask_is_background(policy: DisplayPolicy, image: np.ndarray) -> bool:
    background = policy.hu_min
    if policy.mask == "circle":
        return bool(np.all(image[~circle_mask(policy.matrix_size)] == background))
    # Body mask: at the image border there is either background or body, never air that escaped the mask.
    border = _border(image)
    threshold = max(BODY_THRESHOLD_HU, policy.hu_min)
    return bool(np.all((border == background) | (border > threshold)))


def _quantisation_step(image: np.ndarray) -> int:
    """The greatest common divisor of the gaps between the grey levels used: 1 for ordinary CT."""
    levels = np.unique(image.astype(np.int64))
    if levels.size < 2:
        return 0
    return int(np.gcd.reduce(np.diff(levels)))


def _check_answer_feedback(observations: list[_Observation], report: BlindingReport) -> None:
    report.checks.append("no-feedback")
    bodies = [
        (o.truth, json.dumps({k: v for k, v in o.answer_body.items() if k != "next_url"}, sort_keys=True))
        for o in observations
        if o.answer_status
    ]
    if len({body for _, body in bodies}) > 1:
        report.leak("no-feedback", f"answer responses differ between items: {_describe(bodies)}")


def _forbidden_identifiers(survey: Survey, items: list[Item]) -> dict[str, str]:
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


def _check_identifiers(survey: Survey, items: list[Item], walk: _Walk, report: BlindingReport) -> None:
    report.checks.append("identifiers")
    forbidden = _forbidden_identifiers(survey, items)
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


def _feedback_texts() -> list[str]:
    """The practice feedback as readers see it, in every language of the site."""
    texts = []
    for language, _ in settings.LANGUAGES:
        with translation.override(language):
            texts += [practice_strings()["feedbackReal"], practice_strings()["feedbackSynthetic"]]
    return sorted(set(texts))


def _check_practice(survey: Survey, items: list[Item], walk: _Walk, report: BlindingReport) -> None:
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
            expected_pixels, _ = rendered_stack(observation.item.slice, policy, survey.design.stack_k)
        except StackMissing:
            expected_pixels = None
        decoded = decode_payload(observation.payload, policy.matrix_size, survey.design.stack_slices)
        if expected_pixels is None or not np.array_equal(decoded, expected_pixels):
            report.leak(
                "practice", "a practice payload is not what the survey's display policy makes of its slice"
            )
            break
    report.checks.append("practice-separation")
    feedback = [text.lower() for text in _feedback_texts()]
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


def _check_repeat(survey: Survey, items: list[Item], walk: _Walk, report: BlindingReport) -> None:
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
    pages = [(o.truth, hashlib.sha256(_normalised_page(o).encode()).hexdigest()[:12]) for o in walk.repeat]
    if len({page for _, page in pages}) > 1:
        report.leak(
            "repeat-round", f"second-reading pages differ beyond the item id and position: {_describe(pages)}"
        )
    bodies = [
        (o.truth, json.dumps({k: v for k, v in o.answer_body.items() if k != "next_url"}, sort_keys=True))
        for o in walk.repeat
    ]
    if len({body for _, body in bodies}) > 1:
        report.leak("repeat-round", f"second-reading answer responses differ: {_describe(bodies)}")
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
