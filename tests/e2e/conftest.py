"""Browser tests of the reader pages: Debian's Chromium driven by Playwright against pytest-django's live server.

Each test gets a survey built the way the study team builds one: phantom CT written as DICOM by `make_phantoms`,
imported with `import_images` (real CT as `--kind ct`, the model's output as `--kind sct`), then `create_survey`
with `--open` (which runs the blinding audit) and `--readers`. A failed test leaves a screenshot of every page it
had open in test-artifacts/.
"""

import io
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command

from imaging.models import Volume
from scripts.screenshots import CHROMIUM, DOCS_FOLDER, VIEWPORTS, launch_chromium
from studies.models import Survey

DESKTOP = VIEWPORTS["desktop"]
TABLET = VIEWPORTS["tablet"]
PER_SIDE = 10
MATRIX = 256
# Names the study team gives; none of them may ever reach a reader.
REAL_DATASET = "Phantom real CT e2e"
MODEL_DATASET = "CycleGAN-e2e model output"
MODEL_ALIAS = "cyclegan-e2e-alias"
SURVEY_NAME = "E2E survey internal name"
READER_PASSWORD = "pw-e2e-reader-9431"
INVITATION_LINE = re.compile(r"^reader \d+: (\S+)$", re.MULTILINE)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_call_failed = report.failed
    return report


# ---------------------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session", autouse=True)
def chromium_installed():
    """Skip before anything is built when there is no browser to drive."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the tests of this folder.

    Playwright's sync API keeps an asyncio loop running in the test thread, which Django's ORM takes for an async
    context; the tests themselves are synchronous, so the check is switched off while the browser lives (package
    scope: tests in other folders never run with the loop or the switch).
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = launch_chromium(playwright)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_context(browser, request):
    """Opens browser contexts (DESKTOP unless told otherwise); on failure every open page is saved as a PNG."""
    contexts = []

    def open_context(**options):
        context = browser.new_context(**{**DESKTOP, **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    if getattr(request.node, "e2e_call_failed", False):
        folder = Path(request.config.rootpath) / "test-artifacts"
        folder.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        pages = [page for context in contexts for page in context.pages if not page.is_closed()]
        for number, page in enumerate(pages, start=1):
            try:
                page.screenshot(path=str(folder / f"{name}-{number}.png"), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"no screenshot of page {number}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def screenshot_folder(tmp_path) -> Path:
    """Where the tests' screenshots go: docs/screenshots/ only when asked (`make screenshots` sets
    BLINDREAD_DOCS_SCREENSHOTS=1), else a folder of the test's own, so a test run never changes tracked files."""
    if os.environ.get("BLINDREAD_DOCS_SCREENSHOTS") == "1":
        return DOCS_FOLDER
    return tmp_path / "screenshots"


# ---------------------------------------------------------------------------------------------------------
# The survey


@pytest.fixture(scope="session")
def phantom_folders(tmp_path_factory):
    """Two phantom patients' worth of DICOM (different seeds): one for real CT, one standing in for a model."""
    root = tmp_path_factory.mktemp("e2e-phantoms")
    folders = {}
    for role, seed in (("real", 31), ("model", 32)):
        call_command(
            "make_phantoms",
            str(root / role),
            patients=1,
            seed=seed,
            ct_matrix=MATRIX,
            ct_slices=20,
            mr_matrix=32,
            mr_slices=2,
            stdout=io.StringIO(),
        )
        folders[role] = root / role / "CT"
    return folders


@dataclass
class ReadingSurvey:
    survey: Survey
    invitation_urls: list[str]
    home_url: str
    # Every string that names where an item came from; the reader's browser must never receive one.
    secrets: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def own_cache_namespace(settings):
    """Rate-limit counters of one test never reach another or another run (same Redis, a prefix of its own)."""
    cache = dict(settings.CACHES["default"])
    cache["KEY_PREFIX"] = f"e2e-{uuid.uuid4().hex}"
    settings.CACHES = {"default": cache}


def import_phantom_datasets(phantom_folders) -> None:
    """The phantom CT as the real dataset and as the model's synthetic CT, through the normal import command."""
    quiet = io.StringIO()
    for folder, name, kind in (
        (phantom_folders["real"], REAL_DATASET, "ct"),
        (phantom_folders["model"], MODEL_DATASET, "sct"),
    ):
        call_command("import_images", str(folder), dataset=name, kind=kind, contrast=True, stdout=quiet)


@pytest.fixture
def reading_survey(transactional_db, live_server, settings, phantom_folders) -> ReadingSurvey:
    """An open survey of 10 real + 10 synthetic slices with three invitation links to the live server."""
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(phantom_folders)
    out = io.StringIO()
    call_command(
        "create_survey",
        name=SURVEY_NAME,
        model=MODEL_DATASET,
        model_alias=MODEL_ALIAS,
        real_dataset=REAL_DATASET,
        real=PER_SIDE,
        synthetic=PER_SIDE,
        seed=7,
        matrix=MATRIX,
        open=True,
        readers=3,
        stdout=out,
    )
    survey = Survey.objects.get(name=SURVEY_NAME)
    assert survey.is_open and survey.items.count() == 2 * PER_SIDE
    secrets = [REAL_DATASET, MODEL_DATASET, MODEL_ALIAS, SURVEY_NAME, "truth"]
    for volume in Volume.objects.all():
        secrets += [volume.series_key, volume.source_path]
    for item in survey.items.select_related("slice"):
        secrets += [item.payload, item.payload_sha256, item.slice.pixels, item.slice.sop_instance_uid]
    return ReadingSurvey(
        survey=survey,
        invitation_urls=INVITATION_LINE.findall(out.getvalue()),
        home_url=f"{live_server.url}/",
        secrets=sorted({s for s in secrets if s and len(s) >= 4}),
    )
