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


def _synthetic_pixels(request) -> bool:
    return request.method == "GET" and request.path.endswith("/pixels/") and _synthetic_item_in(request.path)


def stack_one_slice_short_for_synthetic_items(get_response):
    """A stack payload one slice shorter for synthetic items (the last slice left off)."""

    def middleware(request):
        response = get_response(request)
        if _synthetic_pixels(request) and response.status_code == 200:
            from studies.models import Survey

            survey = Survey.objects.get(items__public_id=request.path.strip("/").split("/")[3])
            slice_bytes = survey.display_policy.payload_bytes
            response.content = response.content[:-slice_bytes]
            response["Content-Length"] = str(len(response.content))
        return response

    return middleware


def synthetic_neighbours_at_another_scale(get_response):
    """A synthetic stack whose neighbouring slices are drawn at another scale (zoomed out to 80 %, centred),
    the centre slice left as it is."""

    def middleware(request):
        response = get_response(request)
        if _synthetic_pixels(request) and response.status_code == 200:
            import numpy as np
            from scipy import ndimage

            from studies.models import Survey

            survey = Survey.objects.get(items__public_id=request.path.strip("/").split("/")[3])
            matrix, slices = survey.display_policy.matrix_size, survey.design.stack_slices
            stack = np.frombuffer(response.content, dtype="<i2").reshape(slices, matrix, matrix).copy()
            background = survey.display_policy.background_hu
            for offset in range(slices):
                if offset == slices // 2:
                    continue
                small = ndimage.zoom(stack[offset].astype(np.float32), 0.8, order=1)
                canvas = np.full((matrix, matrix), background, dtype=np.float32)
                start = (matrix - small.shape[0]) // 2
                canvas[start : start + small.shape[0], start : start + small.shape[1]] = small
                stack[offset] = np.rint(canvas).astype("<i2")
            response.content = stack.tobytes()
        return response

    return middleware


def server_error_naming_the_failure(request):
    """A handler500 that shows the failure's message, as a debug page would (tests.studies.leaky_urls)."""
    import sys

    from django.http import HttpResponse

    return HttpResponse(f"Server error: {sys.exc_info()[1]}", status=500)


def score_on_synthetic_practice_answers(get_response):
    """Practice answers that say more than the truth for synthetic practice items (an extra field)."""

    def middleware(request):
        import json

        from studies.models import PracticeItem

        response = get_response(request)
        parts = request.path.strip("/").split("/")
        if (
            request.method == "POST"
            and request.path.endswith("/answer/")
            and len(parts) >= 4
            and PracticeItem.objects.filter(public_id=parts[3], truth="synthetic").exists()
        ):
            body = json.loads(response.content)
            body["score"] = 1
            response.content = json.dumps(body).encode()
        return response

    return middleware


def script_from_a_cdn_on_item_pages(get_response):
    """Every slice page loads one more script, from outside the site (the same on every page)."""

    def middleware(request):
        response = get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and b"reader-config" in response.content:
            response.content = response.content.replace(
                b"</head>", b'<script src="https://cdn.example.org/viewer.js"></script></head>'
            )
        return response

    return middleware


def object_store_headers_on_pixels(get_response):
    """A pixel response that carries the object store's own headers for its file (as a redirect to a signed URL,
    or a proxy that copies the store's reply, would): the object's ETag and Last-Modified and the store's request
    id, for every item alike."""
    from django.core.files.storage import default_storage

    def middleware(request):
        response = get_response(request)
        parts = request.path.strip("/").split("/")
        if len(parts) >= 5 and parts[2] == "items" and parts[4] == "pixels":
            item = Item.objects.filter(public_id=parts[3]).first()
            if item is not None:
                key = default_storage._normalize_name(item.payload)
                head = default_storage.connection.meta.client.head_object(
                    Bucket=default_storage.bucket_name, Key=key
                )
                response["ETag"] = head["ETag"]
                response["Last-Modified"] = head["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT")
                response["X-Amz-Request-Id"] = head["ResponseMetadata"]["RequestId"]
        return response

    return middleware


def _rewrite_synthetic_config(response, pattern: bytes, change) -> None:
    import re

    if _synthetic_item_page(response):
        response.content = re.sub(pattern, change, response.content)


def mask_differs_on_synthetic_pages(get_response):
    """The noise mask's seed (so the mask itself) differs on synthetic items."""

    def middleware(request):
        response = get_response(request)
        _rewrite_synthetic_config(response, rb'"maskSeed": \d+', lambda m: b'"maskSeed": 12345')
        return response

    return middleware


def longer_exposure_on_synthetic_pages(get_response):
    """Synthetic items are shown 50 ms longer than the survey's rule asks."""

    def middleware(request):
        response = get_response(request)
        _rewrite_synthetic_config(
            response, rb'"requestedMs": (\d+)', lambda m: b'"requestedMs": %d' % (int(m.group(1)) + 50)
        )
        return response

    return middleware
