"""Screenshots of the reader page at desktop and tablet size, taken with Debian's Chromium.

The browser tests call `capture_reader_page` on the survey they build (tests/e2e/test_reader_layout.py); `make
screenshots` runs them with BLINDREAD_DOCS_SCREENSHOTS=1, which writes docs/screenshots/reader-desktop.png and
reader-tablet.png (a plain test run writes to its own temporary folder). Against a running server (for example
`make run`, whose demo reader is reader / reader-demo) the same pictures come from:

    .venv/bin/python scripts/screenshots.py --base-url http://127.0.0.1:8000 --username reader --password reader-demo

which signs in, opens the reader's first survey at its next slice and writes into --out (default: a temporary
folder, so the documented pictures change only when the tests take them). Never downloads a browser.
"""

import argparse
import sys
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, quiet: no sandbox (containers), no GPU, and no traffic of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Browser context options per screen; the tablet is a 10.9" tablet in portrait, touch only.
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1440, "height": 900}},
    "tablet": {
        "viewport": {"width": 820, "height": 1180},
        "has_touch": True,
        "is_mobile": True,
        "device_scale_factor": 2,
    },
}
DOCS_FOLDER = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def capture_reader_page(
    browser, *, url: str, storage_state: dict, outdir: Path, name: str = "reader"
) -> dict[str, Path]:
    """Open the reader page at `url` (signed in through `storage_state`) at each size, wait until the slice is
    drawn, and save `<name>-<size>.png` in outdir at one image pixel per CSS pixel; returns the files by size."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = {}
    for size, options in VIEWPORTS.items():
        context = browser.new_context(storage_state=storage_state, **{**options, "device_scale_factor": 1})
        try:
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector('[data-testid="slice-canvas"][data-loaded="true"]')
            path = outdir / f"{name}-{size}.png"
            page.screenshot(path=str(path))
            written[size] = path
        finally:
            context.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="The running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--username", required=True, help="A reader who has joined a survey")
    parser.add_argument("--password", required=True)
    parser.add_argument(
        "--out", type=Path, default=None, help="Folder for the PNGs (default: a new temp folder)"
    )
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    outdir = args.out or Path(tempfile.mkdtemp(prefix="blindread-screenshots-"))
    base = args.base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(**VIEWPORTS["desktop"])
        page = context.new_page()
        page.goto(f"{base}/login/")
        page.get_by_test_id("login-username").fill(args.username)
        page.get_by_test_id("login-password").fill(args.password)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("survey-link").first.click()
        page.get_by_test_id("start-survey").click()
        page.wait_for_selector('[data-testid="slice-canvas"]')
        written = capture_reader_page(
            browser, url=page.url, storage_state=context.storage_state(), outdir=outdir
        )
        browser.close()
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
