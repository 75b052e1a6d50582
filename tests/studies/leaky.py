"""Deliberately leaky middleware for the blinding-audit tests: each one gives synthetic items away."""

from studies.models import Item


def _synthetic_item_in(path: str) -> bool:
    parts = path.strip("/").split("/")
    if len(parts) >= 4 and parts[0] == "survey" and parts[2] == "items":
        return Item.objects.filter(public_id=parts[3], truth="synthetic").exists()
    return False


def etag_on_synthetic_pixels(get_response):
    def middleware(request):
        response = get_response(request)
        if _synthetic_item_in(request.path):
            response["ETag"] = '"synthetic"'
        return response

    return middleware


def png_type_on_synthetic_pixels(get_response):
    def middleware(request):
        response = get_response(request)
        if _synthetic_item_in(request.path):
            response["Content-Type"] = "image/png"
        return response

    return middleware


def comment_on_synthetic_pages(get_response):
    """Adds an HTML comment to the item page of a synthetic item (the page names its item in its config)."""

    def middleware(request):
        response = get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and b"reader-config" in response.content:
            synthetic = Item.objects.filter(truth="synthetic").values_list("public_id", flat=True)
            if any(public_id.encode() in response.content for public_id in synthetic):
                response.content = response.content.replace(b"</main>", b"<!-- s --></main>")
        return response

    return middleware


def _synthetic_item_page(response) -> bool:
    if (
        not response.get("Content-Type", "").startswith("text/html")
        or b"reader-config" not in response.content
    ):
        return False
    synthetic = Item.objects.filter(truth="synthetic").values_list("public_id", flat=True)
    return any(public_id.encode() in response.content for public_id in synthetic)


def rating_default_on_synthetic_pages(get_response):
    """A rating widget whose default depends on the truth: point 4 pressed on synthetic items."""

    def middleware(request):
        response = get_response(request)
        if _synthetic_item_page(response):
            response.content = response.content.replace(
                b'data-testid="rating-4" aria-pressed="false"', b'data-testid="rating-4" aria-pressed="true"'
            )
        return response

    return middleware


def practice_feedback_on_synthetic_test_answers(get_response):
    """Practice feedback leaking into the test: answers to synthetic test items say what the slice was."""

    def middleware(request):
        response = get_response(request)
        if (
            request.method == "POST"
            and request.path.endswith("/answer/")
            and _synthetic_item_in(request.path)
        ):
            import json

            body = json.loads(response.content)
            body["feedback"] = "synthetic"
            response.content = json.dumps(body).encode()
        return response

    return middleware
