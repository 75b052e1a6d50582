"""The blinding audit's walk: what a reader's browser receives, read through Django's test client.

A throwaway reader with a fresh assignment signs in and reads the survey page by page, as readers read it: the
start page, practice items, every item (page, pixel payload, one neutral answer), the review and thank-you pages
and a second reading. The throwaway assignment reads any survey as if it were open without the survey's row being
touched, and everything the walk writes is rolled back at the end, so it can run on a draft, an open or a closed
survey and holds no lock on the survey while it runs. What came back is an :class:`Observation` per item, in a
:class:`Walk`; the checks compare them.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from imaging.selectors import with_their_slices
from studies.design import RATING_MIDPOINTS, StudyDesign
from studies.models import Assignment, Item, Survey
from studies.sampling import make_item_order
from studies.slabs import VIEWS

if TYPE_CHECKING:
    from django.test import Client

# Headers whose value differs on every response whatever is served.
IGNORED_HEADERS = {"date"}
CONFIG_PATTERN = re.compile(r'<script id="reader-config" type="application/json">(.*?)</script>', re.DOTALL)


@dataclass
class Observation:
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


class Walk:
    """What one reader's walk through the survey returned."""

    def __init__(self):
        self.observations: list[Observation] = []
        self.practice: list[Observation] = []
        self.repeat: list[Observation] = []
        self.other_pages: dict[str, str] = {}
        self.errors: list[str] = []
        self.key = ""


def audit_host() -> str:
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            return "testserver"
        if host:
            return host.lstrip(".")
    return "localhost"


def walk_as_reader(survey: Survey, items: list[Item], progress) -> Walk:
    walk = Walk()
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
            from django.test import Client  # Django's test package (Jinja2 and more): only while auditing

            client = Client(HTTP_HOST=audit_host(), raise_request_exception=False)
            client.force_login(reader)
            # The walk's requests activate their own language; the caller's (an admin page) is restored after.
            with translation.override(translation.get_language()):
                read_pages(client, survey, assignment, items, walk, progress)
        finally:
            transaction.set_rollback(True)
    return walk


def read_pages(
    client: Client, survey: Survey, assignment: Assignment, items: list[Item], walk: Walk, progress
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
        observation = Observation(item=practice[practice_pk], position=position)
        walk.practice.append(observation)
        url = reverse("studies:practice", args=[assignment.key, position])
        if not read_one(client, survey, observation, url, f"practice page {position}", walk):
            return
    if assignment.practice_order:
        over = client.get(reverse("studies:practice_over", args=[assignment.key]), secure=True)
        if over.status_code != 200:
            walk.errors.append(f"the practice-over page answered {over.status_code}")
            return
        walk.other_pages["practice-over page"] = over.content.decode()
    for position, item_pk in enumerate(assignment.item_order, start=1):
        observation = Observation(item=by_pk[item_pk], position=position)
        walk.observations.append(observation)
        url = reverse("studies:item", args=[assignment.key, position])
        if not read_one(client, survey, observation, url, f"item page {position}", walk):
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
        observation = Observation(item=by_pk[item_pk], position=position)
        walk.repeat.append(observation)
        url = reverse("studies:repeat", args=[assignment.key, position])
        if not read_one(client, survey, observation, url, f"second-reading page {position}", walk):
            return
    review = client.get(reverse("studies:repeat_review", args=[assignment.key]), secure=True)
    walk.other_pages["second-reading review page"] = review.content.decode()
    finish = client.post(reverse("studies:repeat_review", args=[assignment.key]), secure=True)
    if finish.status_code not in (200, 302):
        walk.errors.append(f"confirming the end of the second reading answered {finish.status_code}")


def read_one(client: Client, survey: Survey, observation: Observation, url: str, label: str, walk) -> bool:
    """Read one page as a reader: the page, its pixels, one neutral answer. False (with an error) if it broke."""
    policy = survey.display_policy
    observation.page_url = url
    page = client.get(url, secure=True)
    observation.page_status = page.status_code
    if page.status_code != 200:
        walk.errors.append(f"{label} answered {page.status_code}")
        return False
    observation.page_html = page.content.decode()
    observation.page_headers = response_headers(page)
    observation.page_cookies = cookie_shapes(page)
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
    observation.pixels_headers = response_headers(pixels)
    observation.payload = pixels.content
    answer = client.post(
        observation.config["answerUrl"],
        data=json.dumps(
            {
                **neutral_answer(survey.design),
                **exposure_as_requested(observation.config),
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


def neutral_answer(design: StudyDesign) -> dict:
    """The audit's answer to every item: indeterminable, and the rating scale's midpoint when there is one."""
    answer = {"choice": "indeterminable" if design.asks_choice else None}
    if design.has_rating:
        answer["rating"] = RATING_MIDPOINTS[design.rating]
    if design.scrolls:
        answer["slices_visited"] = list(range(0, design.centre_slice + 1)) + list(
            range(-1, -design.centre_slice - 1, -1)
        )
        answer["seconds_per_slice"] = [0.5] * design.stack_slices
    if design.is_slab:
        answer["views_used"] = list(VIEWS)
        answer["seconds_per_view"] = [1.0] * len(VIEWS)
    return answer


def exposure_as_requested(config: dict) -> dict:
    """With a time-limited exposure, the audit's page measured exactly the exposure it was asked for."""
    requested = (config.get("exposure") or {}).get("requestedMs")
    return {} if requested is None else {"exposure_measured_ms": float(requested)}


def response_headers(response) -> dict:
    return {
        name.lower(): value for name, value in response.headers.items() if name.lower() not in IGNORED_HEADERS
    }


def cookie_shapes(response) -> tuple:
    """The cookies a response sets, without their values (tokens differ on every response)."""
    shapes = []
    for name, morsel in sorted(response.cookies.items()):
        attributes = tuple(
            sorted((k, str(v)) for k, v in morsel.items() if v and k not in ("expires", "max-age"))
        )
        shapes.append((name, attributes))
    return tuple(shapes)
