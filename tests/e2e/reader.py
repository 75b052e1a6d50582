"""What a reader does in the browser, in the words of docs/reader_page.md (its data-testid contract)."""

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.e2e.conftest import READER_PASSWORD

KEY_IN_URL = re.compile(r"/survey/([A-Za-z0-9_-]+)/")


def join_with_new_account(page: Page, invitation_url: str, username: str) -> str:
    """Open the invitation, create an account, skip the profile, start; returns the assignment key."""
    page.goto(invitation_url)
    page.get_by_test_id("join-username").fill(username)
    page.get_by_test_id("join-password1").fill(READER_PASSWORD)
    page.get_by_test_id("join-password2").fill(READER_PASSWORD)
    page.get_by_test_id("join-submit").click()
    page.get_by_test_id("profile-skip").click()
    page.get_by_test_id("start-survey").click()
    match = KEY_IN_URL.search(page.url)
    assert match, f"not on a survey page after joining: {page.url}"
    return match.group(1)


def sign_in(page: Page, username: str) -> None:
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(READER_PASSWORD)
    page.get_by_test_id("login-submit").click()


@dataclass(frozen=True)
class Window:
    width: int
    level: int


class ReaderPage:
    """The item page of one survey: the slice viewer and the answer panel."""

    def __init__(self, page: Page, total: int):
        self.page = page
        self.total = total

    def test_id(self, name: str):
        return self.page.get_by_test_id(name)

    def expect_position(self, position: int) -> None:
        expect(self.test_id("progress")).to_have_text(f"{position} of {self.total}")
        self.wait_for_slice()

    def wait_for_slice(self) -> None:
        expect(self.test_id("slice-canvas")).to_have_attribute("data-loaded", "true")

    def window(self) -> Window:
        return Window(
            width=int(self.test_id("window-width").inner_text()),
            level=int(self.test_id("window-level").inner_text()),
        )

    def expect_window(self, width: int, level: int) -> None:
        expect(self.test_id("window-width")).to_have_text(str(width))
        expect(self.test_id("window-level")).to_have_text(str(level))

    def drag_on_slice(self, dx: float, dy: float, *, steps: int = 8) -> None:
        box = self.test_id("slice-canvas").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + dx, y + dy, steps=steps)
        self.page.mouse.up()

    def choose(self, choice: str) -> None:
        """Click an answer button (real, synthetic, indeterminable)."""
        self.test_id(f"answer-{choice}").click()
        expect(self.test_id(f"answer-{choice}")).to_have_attribute("aria-pressed", "true")

    def submit_with_mouse(self) -> None:
        self.test_id("submit-answer").click()

    def answer_with_keyboard(self, choice: str) -> None:
        """R, S or I, then Enter."""
        self.page.keyboard.press(choice[0].upper())
        expect(self.test_id(f"answer-{choice}")).to_have_attribute("aria-pressed", "true")
        self.page.keyboard.press("Enter")
