"""A reader's whole survey in a real browser: join by invitation, window with presets (keys and buttons) and by
dragging, answer with mouse and keyboard, leave twice (closing the tab, then the browser), come back, finish; the
database then holds exactly what the reader did, and the browser never received anything that names the truth."""

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from studies.models import Answer, AnswerRevision, Assignment
from tests.e2e.conftest import PER_SIDE
from tests.e2e.reader import ReaderPage, Window, join_with_new_account, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOTAL = 2 * PER_SIDE
DEFAULT = Window(400, 40)
LIVER = Window(150, 90)
LINGER_SECONDS = 1.2


@dataclass
class Expected:
    choice: str
    window: Window
    window_changed: bool
    reason: str = ""
    min_seconds: float = 0.0


class NetworkLog:
    """Every response the reader's browser received: URL, status, headers and body.

    Responses pass through here on their way to the page (fetched, recorded, then handed over unchanged), so a
    body is recorded even when the page navigates away before a response event could read it.
    """

    def __init__(self):
        self.responses = []

    def attach(self, context):
        context.route("**/*", self._record)

    def _record(self, route):
        try:
            reply = route.fetch(max_redirects=0)
            body = reply.body()
            route.fulfill(response=reply)
        except PlaywrightError as error:
            # The page or its context closed while this request was in flight (the browser asks for the favicon
            # after a page's load): nothing reached a page, so nothing is recorded. Anything else is a failure.
            if not ("disposed" in str(error) or "closed" in str(error)):
                raise
            return
        self.responses.append((route.request.url, reply.status, reply.headers, body))

    def texts(self):
        for url, _, headers, body in self.responses:
            if "octet-stream" not in headers.get("content-type", ""):
                yield url, headers, body.decode("utf-8", errors="replace")

    def pixels(self):
        return [(url, headers, body) for url, _, headers, body in self.responses if url.endswith("/pixels/")]


def answer_item(reader: ReaderPage, position: int, expected: dict) -> None:
    """Answer the slice at `position` in one of a few ways, and record what the database should then hold."""
    page = reader.page
    reader.expect_position(position)
    page.wait_for_timeout(40)  # a reader looks before answering; the time on slice must be counted
    style = position % 4
    if style == 0:
        reader.choose("real")
        reader.submit_with_mouse()
        expected[position] = Expected("real", DEFAULT, False)
    elif style == 1:
        reader.answer_with_keyboard("synthetic")
        expected[position] = Expected("synthetic", DEFAULT, False)
    elif style == 2:
        # Keyboard only, moving the focus: Enter on a focused preset applies it and does not save the answer.
        page.keyboard.press("i")
        reader.test_id("preset-liver").focus()
        page.keyboard.press("Enter")
        reader.expect_window(LIVER.width, LIVER.level)
        expect(reader.test_id("progress")).to_have_text(f"{position} of {reader.total}")
        reader.test_id("submit-answer").focus()
        page.keyboard.press("Enter")
        expected[position] = Expected("indeterminable", LIVER, True)
    else:
        page.keyboard.press("4")
        page.keyboard.press("0")  # back to the default window: still counts as changed
        reader.expect_window(DEFAULT.width, DEFAULT.level)
        reader.choose("real")
        reader.test_id("reason").fill(f"looked at bone, item {position}")
        reader.submit_with_mouse()
        expected[position] = Expected("real", DEFAULT, True, reason=f"looked at bone, item {position}")


def test_a_reader_finishes_a_survey_across_three_visits_and_exactly_their_answers_are_stored(
    reading_survey, new_context
):
    network = NetworkLog()
    expected: dict[int, Expected] = {}
    context = new_context()
    network.attach(context)
    page = context.new_page()
    key = join_with_new_account(page, reading_survey.invitation_urls[0], "reader-journey")
    reader = ReaderPage(page, TOTAL)

    # 1: lung preset by key, bone preset by button, then a drag on the image (right: wider, up: higher level).
    reader.expect_position(1)
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-window-changed", "false")
    page.keyboard.press("3")
    reader.expect_window(1500, -600)
    expect(reader.test_id("preset-lung")).to_have_attribute("aria-pressed", "true")
    reader.test_id("preset-bone").click()
    reader.expect_window(2500, 480)
    reader.drag_on_slice(60, -30)
    dragged = reader.window()
    assert dragged.width > 2500 and dragged.level > 480, dragged
    expect(reader.test_id("slice-canvas")).to_have_attribute("data-window-changed", "true")
    reader.choose("synthetic")
    reader.test_id("reason").fill("edges too smooth")
    reader.submit_with_mouse()
    expected[1] = Expected("synthetic", dragged, True, reason="edges too smooth")

    # 2: the reader lingers on this one.
    reader.expect_position(2)
    page.wait_for_timeout(LINGER_SECONDS * 1000)
    reader.answer_with_keyboard("real")
    expected[2] = Expected("real", DEFAULT, False, min_seconds=LINGER_SECONDS)

    for position in range(3, 9):
        answer_item(reader, position, expected)

    # 9: an answer chosen and a reason typed, then the tab is closed before saving.
    reader.expect_position(9)
    reader.choose("indeterminable")
    reader.test_id("reason").fill("half-typed before closing")
    page.close()

    # Second visit, same browser: the reader's own invitation link leads back; the unsaved answer is still there.
    page = context.new_page()
    reader = ReaderPage(page, TOTAL)
    page.goto(reading_survey.invitation_urls[0])
    expect(page.get_by_test_id("start-progress")).to_have_text(f"8 of {TOTAL} answered")
    page.get_by_test_id("start-survey").click()
    reader.expect_position(9)
    expect(reader.test_id("answer-indeterminable")).to_have_attribute("aria-pressed", "true")
    expect(reader.test_id("reason")).to_have_value("half-typed before closing")
    page.wait_for_timeout(40)
    reader.test_id("reason").press("Control+Enter")
    expected[9] = Expected("indeterminable", DEFAULT, False, reason="half-typed before closing")
    for position in range(10, 14):
        answer_item(reader, position, expected)
    reader.expect_position(14)
    context.close()

    # Third visit, a new browser: the used invitation link says to sign in; signing in, the list of surveys
    # leads back.
    context = new_context()
    network.attach(context)
    page = context.new_page()
    reader = ReaderPage(page, TOTAL)
    page.goto(reading_survey.invitation_urls[0])
    expect(page.get_by_test_id("join-problem")).to_be_visible()
    page.get_by_role("link", name="Sign in").last.click()
    sign_in(page, "reader-journey")
    page.get_by_test_id("survey-link").click()
    expect(page.get_by_test_id("start-progress")).to_have_text(f"13 of {TOTAL} answered")
    page.get_by_test_id("start-survey").click()
    for position in range(14, TOTAL + 1):
        answer_item(reader, position, expected)
    expect(page.get_by_test_id("review-summary")).to_contain_text(str(TOTAL))
    page.get_by_test_id("confirm-finish").click()
    expect(page.get_by_test_id("thank-you")).to_be_visible()

    assignment = Assignment.objects.get(key=key)
    assert assignment.completed_at is not None
    answers = {a.item_id: a for a in Answer.objects.filter(assignment=assignment)}
    assert len(answers) == TOTAL == len(set(assignment.item_order))
    assert AnswerRevision.objects.filter(assignment=assignment).count() == TOTAL
    for position, item_id in enumerate(assignment.item_order, start=1):
        answer, want = answers[item_id], expected[position]
        stored = (answer.choice, answer.reason, answer.window_changed, answer.zoom)
        assert stored == (want.choice, want.reason, want.window_changed, 1.0), position
        assert abs(answer.window_width - want.window.width) <= 0.5, (position, answer.window_width)
        assert abs(answer.window_level - want.window.level) <= 0.5, (position, answer.window_level)
        assert want.min_seconds < answer.seconds_on_slice < want.min_seconds + 30, (
            position,
            answer.seconds_on_slice,
        )

    check_nothing_names_the_truth(reading_survey, network, assignment)


def check_nothing_names_the_truth(reading_survey, network: NetworkLog, assignment) -> None:
    items = {item.public_id: item for item in reading_survey.survey.items.all()}
    texts = list(network.texts())
    assert any("reader-config" in text for _, _, text in texts) and any('"saved"' in t for _, _, t in texts)
    leaks = [
        (secret, url)
        for url, headers, text in texts
        for secret in reading_survey.secrets
        if secret in text or secret in str(headers)
    ]
    assert not leaks, f"identifiers reached the reader: {leaks}"

    # Every item page is the same page once what belongs to the position and the item is taken out.
    item_pages = {}
    for url, _, text in network.texts():
        if re.search(rf"/survey/{assignment.key}/\d+/$", url) and "reader-config" in text:
            for public_id in items:
                text = text.replace(public_id, "ITEM")
            text = re.sub(r'"position": \d+', '"position": N', text)
            text = re.sub(r"\b\d+ of \d+\b", "N of M", text)
            text = re.sub(r'value="[A-Za-z0-9]{32,}"', 'value="TOKEN"', text)
            item_pages[url] = text
    assert len(item_pages) == TOTAL
    assert len(set(item_pages.values())) == 1, "item pages differ by more than their item and position"

    # Pixels: one response per item, each with the same size and the same headers, none cacheable.
    pixels = network.pixels()
    fetched = {re.search(r"/items/([^/]+)/pixels/$", url).group(1) for url, _, _ in pixels}
    assert fetched == set(items)
    shapes = {
        (len(body), tuple(sorted((k, v) for k, v in headers.items() if k != "date")))
        for _, headers, body in pixels
    }
    assert len(shapes) == 1, shapes
    ((size, header_items),) = shapes
    assert size == reading_survey.survey.payload_bytes
    header_names = dict(header_items)
    assert "etag" not in header_names and "last-modified" not in header_names
    assert "no-store" in header_names["cache-control"]
