"""The blinding audit's checks of 2AFC pair pages (studies.views.pairs): nothing on a pair page, in its requests or
in the answer's response may depend on which side is real.

- `pair-pages`: every pair page's markup, without its configuration, progress and form token, is the same; its
  configuration has the same keys, and every value but the pair's own (ids, URLs, position) is the same;
- `pair-images`: each page shows its pair's two items, one real and one synthetic, through the opaque item pixel
  URLs of the reader's assignment, in the plan's left-right order;
- `pair-sides`: the real image is on the left for half of the pairs (floor or ceiling): a side that follows the
  truth (always left, or mostly) fails;
- `pair-load-order`: the image the page loads first (the first of its list) is the real one for half of the pairs,
  so the order of the two pixel requests says nothing about the truth;
- `pair-pixels`: both payloads of every pair are answered 200 with the same size (the survey's payload size) and the
  same headers, whatever the pair;
- `pair-answers`: the answer responses have the same keys and status whether the audit's answer ("left" on every
  pair) was right or wrong, and never name the truth or a correctness.
"""

from __future__ import annotations

import json
import re

from django.urls import reverse

from studies.blinding.checks import CSRF_PATTERN, PROGRESS_PATTERN
from studies.blinding.measurement import BlindingReport, describe
from studies.blinding.walk import PAIR_CONFIG_PATTERN, Walk
from studies.models import ItemPair, Survey

PER_PAIR_CONFIG_KEYS = {"pairId", "position", "images", "answerUrl"}
ANSWER_WORDS = re.compile(r'"(correct|truth|real_side|is_real)"\s*:')


def normalised_pair_page(html: str) -> str:
    html = PAIR_CONFIG_PATTERN.sub('<script id="pair-config" type="application/json">{}</script>', html)
    html = PROGRESS_PATTERN.sub(r"\1#\2", html)
    return CSRF_PATTERN.sub(r"\1#\2", html)


def _left(observation) -> str:
    """The truth of the image a pair page shows (and loads) first: what a difference between pages is split by."""
    return str(observation.truths[0]) if observation.truths else "unknown"


def balanced(count: int, total: int) -> bool:
    return total // 2 <= count <= (total + 1) // 2


def _image_problem(observation, pair: ItemPair, key: str) -> str | None:
    """Why a pair page does not show its pair's two items left and right through their pixel URLs, or None."""
    images = observation.config.get("images") or []
    expected = {pair.real_item.public_id, pair.synthetic_item.public_id}
    if [image.get("side") for image in images] != ["left", "right"]:
        return f"pair page {observation.position} does not list its images left then right"
    if {image.get("itemId") for image in images} != expected:
        return f"pair page {observation.position} does not show its pair's two items"
    for image in images:
        if image.get("pixelsUrl") != reverse("studies:pixels", args=[key, image.get("itemId")]):
            return f"pair page {observation.position} loads {image.get('pixelsUrl')!r}"
    return None


def check_pairs(survey: Survey, walk: Walk, report: BlindingReport) -> None:
    if not survey.design.is_two_afc:
        return
    pages = walk.pairs
    report.checks.append("pair-pages")
    if not pages:
        report.leak("pair-pages", "the walk read no pair page of a 2AFC survey")
        return
    # Labelled by the truth of the left image: a difference that follows it is a leak.
    markup = [(_left(o), normalised_pair_page(o.page_html)) for o in pages]
    if len({html for _, html in markup}) > 1:
        report.leak("pair-pages", "pair pages differ beyond the pair's ids and position")
    keys = {tuple(sorted(o.config)) for o in pages}
    if len(keys) > 1:
        report.leak("pair-pages", f"the pair configuration has different keys: {sorted(keys)}")
    shared = set.intersection(*(set(o.config) for o in pages)) - PER_PAIR_CONFIG_KEYS
    for key in sorted(shared):
        values = [(_left(o), json.dumps(o.config[key], sort_keys=True)) for o in pages]
        if len({v for _, v in values}) > 1:
            report.leak("pair-pages", f"pair configuration value {key!r} differs: {describe(values)}")
    report.checks.append("pair-images")
    pairs = ItemPair.objects.select_related("real_item", "synthetic_item").in_bulk([o.pair_id for o in pages])
    problems = [problem for o in pages if (problem := _image_problem(o, pairs[o.pair_id], walk.key))]
    if problems:
        report.leak("pair-images", f"{problems[0]} ({len(problems)} pair page(s))")
    report.checks.append("pair-sides")
    real_left = sum(
        1
        for o in pages
        for image in (o.config.get("images") or [])[:2]
        if image.get("side") == "left" and image.get("itemId") == pairs[o.pair_id].real_item.public_id
    )
    if not balanced(real_left, len(pages)):
        report.leak("pair-sides", f"the real image is on the left in {real_left} of {len(pages)} pairs")
    report.checks.append("pair-load-order")
    real_first = sum(1 for o in pages if _left(o) == "real")
    if not balanced(real_first, len(pages)):
        report.leak(
            "pair-load-order", f"the real image is loaded first in {real_first} of {len(pages)} pairs"
        )
    report.checks.append("pair-pixels")
    responses = [
        (truth, response) for o in pages for truth, response in zip(o.truths, o.pixels, strict=False)
    ]
    statuses = [(truth, status) for truth, (status, _, _) in responses]
    if any(status != 200 for _, status in statuses):
        report.leak("pair-pixels", f"pixel responses of pair pages are not all 200: {describe(statuses)}")
    sizes = [(truth, len(payload)) for truth, (_, _, payload) in responses]
    if any(size != survey.payload_bytes for _, size in sizes):
        report.leak(
            "pair-pixels", f"pair payload sizes differ from {survey.payload_bytes}: {describe(sizes)}"
        )
    headers = [(truth, json.dumps(h, sort_keys=True)) for truth, (_, h, _) in responses]
    if len({h for _, h in headers}) > 1:
        report.leak("pair-pixels", f"pixel headers of pair pages differ: {describe(headers)}")
    report.checks.append("pair-answers")
    shapes = [
        (_left(o), (o.answer_status, tuple(sorted(o.answer_body)))) for o in pages
    ]  # the audit answers "left": right exactly where the left image is real
    if len({shape for _, shape in shapes}) > 1:
        report.leak(
            "pair-answers", f"answer responses differ with the answer's correctness: {describe(shapes)}"
        )
    for observation in pages:
        if ANSWER_WORDS.search(json.dumps(observation.answer_body)):
            report.leak("pair-answers", "an answer response names the truth or whether the answer was right")
            return
