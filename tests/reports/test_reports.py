"""Researcher pages and downloads: access, content types, the tidy CSV against the database, the PDF's tables
and hypotheses, the stats JSON, the download log and one-line answers to garbage input."""

import csv
import io
import json
import re

import pytest
from django.templatetags.static import static
from django.urls import reverse

from audit.models import AuditEvent
from imaging.models import Dataset
from metrics.measures.layerwise import METRICS
from metrics.measures.vocabulary import VOLUME_METRICS
from metrics.models import MetricResult
from projects.models import Role
from projects.services import add_member, ensure_default_project
from reports.content.exports import ANSWER_COLUMNS, METRIC_COLUMNS
from reports.content.report import TABLE2_TITLE, TABLE3_TITLE
from reports.models import DownloadLog
from reports.selectors import reader_pseudonym
from reports.services import report_now
from studies.models import Answer
from tests.reports.pdf_text import pdf_text
from tests.reports.study_factory import make_survey

pytestmark = pytest.mark.django_db

DOWNLOADS = ["reports:answers_csv", "reports:stats_json", "reports:report_pdf"]


def url(name, *surveys):
    query = "&".join(f"survey={survey.replace(' ', '+')}" for survey in surveys)
    return reverse(name) + (f"?{query}" if query else "")


def rows_of(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


# --- access ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reports:index", "reports:report", "reports:models", *DOWNLOADS])
def test_anonymous_visitors_are_sent_to_sign_in(client, study, name):
    response = client.get(url(name, "Survey 1"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("studies:login") + "?next=")


@pytest.mark.parametrize("name", ["reports:index", "reports:report", "reports:models", *DOWNLOADS])
def test_readers_are_refused(client, study, reader, name):
    client.force_login(reader)
    response = client.get(url(name, "Survey 1"))
    assert response.status_code == 403
    assert not DownloadLog.objects.exists()


@pytest.mark.parametrize("name", ["reports:index", "reports:report", "reports:models", *DOWNLOADS])
def test_researchers_get_the_pages_and_downloads(client, reports, researcher, name):
    client.force_login(researcher)
    response = client.get(url(name, "Survey 1"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_staff_who_are_not_researchers_get_them_too(client, study, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="pw-staff-1", is_staff=True)
    client.force_login(staff)
    # Staff open the report pages; they find the surveys of their projects only.
    assert client.get(url("reports:answers_csv", "Survey 1")).status_code == 404
    add_member(project=ensure_default_project(), user=staff, role=Role.RESEARCHER)
    assert client.get(reverse("reports:index")).status_code == 200
    assert client.get(url("reports:answers_csv", "Survey 1")).status_code == 200


def test_downloads_are_get_only(client, study, researcher):
    client.force_login(researcher)
    assert client.post(url("reports:answers_csv", "Survey 1")).status_code == 405


# --- answers CSV and data dictionary ---------------------------------------------------------------------------


def test_the_answers_csv_has_one_row_per_answer_with_the_documented_columns(client, study, researcher):
    client.force_login(researcher)
    response = client.get(url("reports:answers_csv", "Survey 1", "Survey 2"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="blindread-2-surveys-')
    rows = rows_of(response.content)
    assert list(rows[0]) == [column.name for column in ANSWER_COLUMNS]
    assert len(rows) == Answer.objects.count() == 4 * 8 + 3 * 8
    stored = {
        (answer.item.public_id, reader_pseudonym(answer.assignment.reader_id)): answer
        for answer in Answer.objects.select_related("item__survey", "assignment")
    }
    assert {(row["item"], row["reader"]) for row in rows} == set(stored)
    for row in rows:
        answer = stored[(row["item"], row["reader"])]
        assert (row["survey"], row["truth"], row["answer"]) == (
            answer.item.survey.name,
            answer.item.truth,
            answer.choice,
        )
        assert row["correct"] == ("1" if answer.choice == answer.item.truth else "0")
        assert row["model_alias"] == answer.item.survey.model_alias
        assert int(row["axial_layer"]) == answer.item.axial_layer
        assert float(row["seconds_on_slice"]) == pytest.approx(answer.seconds_on_slice)
        assert row["reason"].lstrip("'") == answer.reason
        assert "reader" not in row["reader"]
    formulas = [row["reason"] for row in rows if "calc" in row["reason"]]
    assert formulas and all(reason.startswith("'=") for reason in formulas)


def test_the_same_reader_keeps_one_pseudonym_across_downloads(client, study, researcher):
    client.force_login(researcher)
    first = {row["reader"] for row in rows_of(client.get(url("reports:answers_csv", "Survey 1")).content)}
    again = {row["reader"] for row in rows_of(client.get(url("reports:answers_csv", "Survey 1")).content)}
    assert first == again and len(first) == 4


def test_the_data_dictionary_describes_every_column_of_both_csv_files(client, study, researcher):
    client.force_login(researcher)
    response = client.get(reverse("reports:data_dictionary"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    entries = rows_of(response.content)
    answers = client.get(url("reports:answers_csv", "Survey 1")).content.decode().splitlines()[0].split(",")
    assert [e["column"] for e in entries if e["file"] == "answers.csv"] == answers
    assert [e["column"] for e in entries if e["file"] == "metrics.csv"] == [c.name for c in METRIC_COLUMNS]
    assert all(entry["description"] for entry in entries)


# --- stats JSON, metrics CSV, PDF ------------------------------------------------------------------------------


def test_the_stats_json_holds_the_study_report_of_the_chosen_surveys(client, reports, researcher):
    client.force_login(researcher)
    response = client.get(url("reports:stats_json", "Survey 1", "Survey 2"))
    assert response["Content-Type"] == "application/json"
    payload = json.loads(response.content)
    report = payload["study_report"]
    assert [survey["survey"] for survey in report["surveys"]] == ["Survey 1", "Survey 2"]
    answers = Answer.objects.filter(item__survey__name="Survey 1").select_related("item")
    definite = [a for a in answers if a.choice != "indeterminable"]
    correct = sum(a.choice == a.item.truth for a in definite)
    accuracy = report["surveys"][0]["accuracy"]["indeterminable_excluded"]["all_items"]
    assert (accuracy["successes"], accuracy["total"]) == (correct, len(definite))
    assert report["pooled_accuracy"]["answer_count"] == Answer.objects.count()
    assert len(report["comparisons"]) == 1
    assert "readers CAN tell" in report["pooled_binomial"]["null_hypothesis"]
    assert len(payload["accuracy_by_axial_layer"]) == 30


def test_the_metrics_csv_holds_every_stored_result_of_the_surveys_models(client, study, researcher):
    client.force_login(researcher)
    response = client.get(url("reports:metrics_csv", "Survey 1", "Survey 2"))
    rows = rows_of(response.content)
    assert list(rows[0]) == [column.name for column in METRIC_COLUMNS]
    assert len(rows) == MetricResult.objects.count() == 11 * len(METRICS) + len(VOLUME_METRICS)
    mean_fid = next(row for row in rows if row["metric"] == "fid" and row["layer"] == "0")
    stored = MetricResult.objects.get(metric="fid", layer=0)
    assert float(mean_fid["normalised"]) == pytest.approx(stored.normalised)
    by_model = client.get(reverse("reports:metrics_csv") + "?model=Model+B")
    assert len(rows_of(by_model.content)) == 0


def test_the_pdf_has_table_2_and_table_3_filled_in_with_the_hypotheses_stated_correctly(
    client, reports, researcher
):
    client.force_login(researcher)
    response = client.get(url("reports:report_pdf", "Survey 1", "Survey 2"))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert TABLE2_TITLE in text and TABLE3_TITLE in text
    for label in (
        "Survey 1: real vs synthetic",
        "Survey 2: real vs synthetic",
        "All surveys: real vs synthetic",
        "Survey 1 vs Survey 2",
    ):
        assert label in text
    assert "Full scan set" in text and "Real scans only" in text and "Synthetic scans only" in text
    assert "readers CAN tell" in text
    assert "readers cannot tell real from synthetic" in text
    assert "A large p-value is not proof" in text
    # figures are images, not text (only their headings are)
    assert "Image-distribution metrics" in text and "Fig. 8: mean spectra" not in text
    assert "Fig. 10: the most-discussed items" in text
    assert "Readers' reasons, grouped by item" not in text  # the comments: the page's table and the CSV


def test_the_report_page_shows_both_tables_the_figures_and_the_downloads(client, reports, researcher):
    client.force_login(researcher)
    page = client.get(url("reports:report", "Survey 1", "Survey 2")).content.decode()
    assert TABLE2_TITLE in page and TABLE3_TITLE in page
    assert page.count('data-testid="table2"') == 2
    assert "Survey 1 vs Survey 2" in page
    assert (
        page.count("data:image/svg+xml;base64,") == 3 + 2 + 1
    )  # accuracy, confusion, layers; the layer-wise metrics and the spectra; the z-gradient distributions
    assert 'data-testid="realism-along-z"' in page
    assert "readers CAN tell" in page
    assert reverse("reports:report_pdf") + "?survey=Survey+1&amp;survey=Survey+2" in page
    assert "kidneys look hyperdense" in page
    # no inline script: only the comment table's search, from the site's own static files
    assert re.findall(r"<script[^>]*>", page) == [
        f'<script src="{static("reports/comment_search.js")}" defer>'
    ]
    assert "http://" not in page.replace("http://www.w3.org", "")


def test_the_models_page_compares_the_models_with_results(client, study, researcher):
    client.force_login(researcher)
    page = client.get(reverse("reports:models")).content.decode()
    assert "Model A" in page and "Histogram correlation" in page
    assert page.count("data:image/svg+xml;base64,") == 2


# --- logging and garbage ---------------------------------------------------------------------------------------


def test_every_download_is_logged_with_who_what_and_when(client, reports, researcher):
    client.force_login(researcher)
    client.get(url("reports:report_pdf", "Survey 2"))
    client.get(reverse("reports:data_dictionary"))
    pdf, dictionary = DownloadLog.objects.order_by("created_at", "id")
    assert (pdf.user, pdf.what, pdf.via, pdf.surveys, pdf.models_compared) == (
        researcher,
        "pdf",
        "web",
        ["Survey 2"],
        ["Model B"],
    )
    assert pdf.byte_size > 1000 and len(pdf.sha256) == 64
    assert dictionary.what == "data_dictionary"
    events = AuditEvent.objects.filter(verb="report.downloaded").order_by("created_at", "id")
    assert [(e.actor, e.details["what"]) for e in events] == [
        (researcher, "pdf"),
        (researcher, "data_dictionary"),
    ]


@pytest.mark.parametrize("name", DOWNLOADS + ["reports:report"])
def test_unknown_or_missing_surveys_get_one_line_instead_of_a_download(client, study, researcher, name):
    client.force_login(researcher)
    unknown = client.get(url(name, "Survey 1", "No such survey"))
    assert unknown.status_code == 404
    assert "Unknown survey: &#x27;No such survey&#x27;." in unknown.content.decode()
    missing = client.get(reverse(name))
    assert missing.status_code == 400
    assert "Choose at least one survey" in missing.content.decode()
    assert not DownloadLog.objects.exists()


def test_an_unknown_model_gets_a_404(client, study, researcher):
    client.force_login(researcher)
    assert client.get(reverse("reports:metrics_csv") + "?model=Nope").status_code == 404
    assert client.get(reverse("reports:models") + "?model=Nope").status_code == 404


def test_a_survey_without_answers_still_reports(client, study, researcher):
    model = Dataset.objects.get(name="Model B")
    empty = make_survey(
        "Empty", model=model, real=Dataset.objects.get(name="Real CT"), readers=0, status="open"
    )
    report_now(surveys=[empty])
    client.force_login(researcher)
    response = client.get(url("reports:report_pdf", "Empty"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert "no answers yet: Empty" in pdf_text(response.content)
    assert rows_of(client.get(url("reports:answers_csv", "Empty")).content) == []


def test_the_index_lists_every_survey_with_its_readers_and_answers(client, study, researcher):
    client.force_login(researcher)
    response = client.get(reverse("reports:index"))
    surveys = {survey.name: survey for survey in response.context["surveys"]}
    assert set(surveys) == {"Survey 1", "Survey 2"}
    assert (surveys["Survey 1"].reader_count, surveys["Survey 1"].answer_count) == (4, 32)
    assert (surveys["Survey 2"].reader_count, surveys["Survey 2"].answer_count) == (3, 24)
    assert [model.name for model in response.context["models"]] == ["Model A"]
