"""The report in Chromium, as a researcher reads it: the paper's image figures shown on the page, every figure and
table downloaded from its link, the comments found by the search box, and the PDF button disabled (saying where
its report job stands) until the report is computed. With BLINDREAD_DOCS_SCREENSHOTS=1 (`make screenshots`) the
figures, as the page and the PDF show them, go to docs/screenshots/."""

import csv
import io
from urllib.parse import quote_plus

import pymupdf
import pytest
from django.test import Client

from imaging.models import Dataset
from reports.services import artefact, report_now
from studies.models import Survey
from studies.services.surveys import _render_items
from tests.metrics.factories import make_ct_dataset
from tests.projects.factories import make_member
from tests.reports.study_factory import make_survey

pytestmark = pytest.mark.django_db(transaction=True)

SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<svg", "csv": b""}
PDF_FIGURES = {"Fig. 4:": "fig4", "Fig. 8:": "fig8", "Fig. 10:": "fig10"}


@pytest.fixture
def closed_survey(transactional_db, media_root):
    real = make_ct_dataset("Real CT", patients=3, slices_per_layer=2, seed=1, size=64)
    model = make_ct_dataset(
        "Model A", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=2, seed=2, size=64
    )
    survey = make_survey(
        "Survey 1", model=model, real=real, readers=6, seed=1, alias="In-n-out", status="draft"
    )
    _render_items(survey, [])
    Survey.objects.filter(pk=survey.pk).update(
        status="closed", opened_at=survey.created_at, closed_at=survey.created_at
    )
    return survey


@pytest.fixture
def signed_in(new_context, live_server, django_user_model):
    """A browser page signed in as a researcher (the session made by Django's test client)."""
    user = django_user_model.objects.create_user("researcher-e2e", password="pw-research-e2e-1")
    make_member(user, "researcher")  # a researcher of the default project, which holds the survey
    client = Client()
    client.force_login(user)
    context = new_context(accept_downloads=True)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def test_the_report_shows_the_papers_figures_and_each_downloads(
    closed_survey, signed_in, live_server, screenshot_folder
):
    page = signed_in
    violations = []
    # every directive: scripts, images, and the plots' styles (an inline SVG's style attributes would be refused)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/reports/")
    disabled = page.get_by_test_id("pdf-disabled")
    assert disabled.is_disabled() and "not computed yet" in disabled.inner_text()
    assert page.get_by_test_id("pdf-link").count() == 0

    job = report_now(surveys=[closed_survey])
    page.goto(f"{live_server.url}/reports/")
    assert page.get_by_test_id("pdf-link").count() == 1
    page.goto(f"{live_server.url}/reports/surveys/?survey={quote_plus(closed_survey.name)}")
    screenshot_folder.mkdir(parents=True, exist_ok=True)
    for entry in job.figures:
        if entry["section"] != "paper" or "png" not in entry["files"]:
            continue
        figure = page.get_by_test_id(f"figure-{entry['key']}")
        image = figure.locator("img")
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "image => image.complete && image.naturalWidth > 0", arg=image.element_handle()
        )
        figure.screenshot(path=str(screenshot_folder / f"report-{entry['key']}.png"))

    links = page.locator("a[data-testid^='download-'][href*='/figures/']")
    assert links.count() == sum(len(entry["files"]) for entry in job.figures)
    for index in range(links.count()):
        link = links.nth(index)
        extension = link.get_attribute("href").split("?")[0].rsplit(".", 1)[1]
        with page.expect_download() as caught:
            link.click()
        content = caught.value.path().read_bytes()
        assert caught.value.suggested_filename.endswith(f".{extension}")
        assert content.startswith(SIGNATURES[extension]) and len(content) > 100
        if extension == "csv":
            assert next(csv.reader(io.StringIO(content.decode())))

    rows = page.locator("#comment-table tbody tr")
    total = rows.count()
    assert total > 0
    reader = rows.first.locator("td").nth(4).inner_text()  # one reader's pseudonym: some rows, not all
    page.get_by_test_id("comment-search").fill(reader.lower())
    visible = page.locator("#comment-table tbody tr:visible")
    assert 0 < visible.count() < total
    assert all(reader in visible.nth(i).inner_text() for i in range(visible.count()))

    assert violations == []  # the search box's script, the figures and the plots' styles pass the policy

    document = pymupdf.open(stream=artefact(job, "pdf"), filetype="pdf")
    shown = []
    for pdf_page in document:
        lines = pdf_page.get_text().splitlines()
        for title, name in PDF_FIGURES.items():
            if any(line.startswith(title) for line in lines):  # each figure has a page of its own
                pdf_page.get_pixmap(dpi=80).save(str(screenshot_folder / f"report-pdf-{name}.png"))
                shown.append(title)
    assert sorted(shown) == sorted(PDF_FIGURES)
