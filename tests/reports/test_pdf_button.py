"""A survey whose report is not computed yet offers no PDF link (which led to a 404 page) but a disabled button
that says where its report job stands."""

import re

from django.urls import reverse

from jobs.services import fail
from reports.services import report_now, request_report


def pdf_cell(page: str, survey: str) -> str:
    row = next(row for row in re.findall(r"<tr>.*?</tr>", page, re.S) if f">{survey}</a>" in row)
    return row[row.index('class="links"') :]


def test_the_pdf_button_follows_the_report_job_from_missing_to_queued_to_failed_to_done(
    client, study, researcher
):
    first, second = study
    client.force_login(researcher)
    index = reverse("reports:index")
    cell = pdf_cell(client.get(index).content.decode(), first.name)
    assert "disabled" in cell and "PDF: not computed yet" in cell and "report.pdf" not in cell

    job = request_report(surveys=[first], enqueue=False)
    cell = pdf_cell(client.get(index).content.decode(), first.name)
    assert "PDF: queued" in cell and "Queued: waiting for a worker" in cell and "report.pdf" not in cell
    page = client.get(reverse("reports:report") + f"?survey={first.name}").content.decode()
    assert 'data-testid="pdf-disabled"' in page and "PDF report: Queued" in page

    fail(job, error="the report could not be stored: disk full")
    cell = pdf_cell(client.get(index).content.decode(), first.name)
    assert "PDF: failed" in cell and "disk full" in cell

    report_now(surveys=[second])
    cell = pdf_cell(client.get(index).content.decode(), second.name)
    assert "disabled" not in cell and f"{reverse('reports:report_pdf')}?survey=Survey%202" in cell


def test_the_buttons_words_are_italian_for_an_italian_browser(client, study, researcher):
    client.force_login(researcher)
    page = client.get(reverse("reports:index"), headers={"accept-language": "it"}).content.decode()
    assert "PDF: non ancora calcolato" in page
