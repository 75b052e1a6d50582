"""Deliberately leaky middleware for the 2AFC blinding-audit tests: each one gives the real side of a pair away."""

import json
import re

from studies.models import Item

CONFIG = re.compile(rb'(<script id="pair-config" type="application/json">)(.*?)(</script>)', re.DOTALL)


def _rewrite_images(response, change):
    if not response.get("Content-Type", "").startswith("text/html"):
        return response
    match = CONFIG.search(response.content)
    if match is None:
        return response
    config = json.loads(match.group(2))
    truths = dict(
        Item.objects.filter(public_id__in=[i["itemId"] for i in config["images"]]).values_list(
            "public_id", "truth"
        )
    )
    config["images"] = change(config["images"], truths)
    body = json.dumps(config).replace("<", "\\u003C").encode()
    response.content = response.content[: match.start(2)] + body + response.content[match.end(2) :]
    return response


def real_always_left(get_response):
    """The real image on the left of every pair (and so loaded first)."""

    def change(images, truths):
        ordered = sorted(images, key=lambda image: truths[image["itemId"]] != "real")
        return [{**image, "side": side} for image, side in zip(ordered, ("left", "right"), strict=True)]

    def middleware(request):
        return _rewrite_images(get_response(request), change)

    return middleware


def real_always_loaded_first(get_response):
    """Sides kept, but the real image first in the list the page loads from."""

    def change(images, truths):
        return sorted(images, key=lambda image: truths[image["itemId"]] != "real")

    def middleware(request):
        return _rewrite_images(get_response(request), change)

    return middleware


def comment_when_left_is_real(get_response):
    """Pair page markup that differs by truth: a comment when the left image is the real one."""

    def middleware(request):
        response = get_response(request)
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        match = CONFIG.search(response.content)
        if match is None:
            return response
        left = json.loads(match.group(2))["images"][0]["itemId"]
        if Item.objects.filter(public_id=left, truth="real").exists():
            response.content = response.content.replace(b"</main>", b"<!-- l --></main>")
        return response

    return middleware
