"""The models page pools closed surveys only, says which, and takes open ones only when asked (?include_open=1);
the glossary page; a report's own experience bands."""

import pytest
from django.urls import reverse

from reports.models import ReportJob
from tests.reports.study_factory import make_survey

pytestmark = pytest.mark.django_db


def model_a_line(client, query=""):
    response = client.get(reverse("reports:models") + query)
    assert response.status_code == 200
    line = next(line for line in response.context["comparison"].models if line.model == "Model A")
    return line, response.content.decode()


def test_a_reader_answering_an_open_survey_leaves_the_closed_survey_accuracy_unchanged(
    client, study, researcher
):
    client.force_login(researcher)
    before, page = model_a_line(client)
    assert before.surveys == ("Survey 1",) and before.readers == 4
    assert "pools closed surveys only" in page and "Survey 1 (Closed)" in page
    first, _ = study
    make_survey("Open survey of A", model=first.model_dataset, real=first.real_dataset, readers=1, seed=9,
                skill=1.0, status="open")  # fmt: skip
    after, page = model_a_line(client)
    assert after.accuracy == before.accuracy and after.readers == 4 and after.surveys == ("Survey 1",)
    assert "Open survey of A" not in page and 'data-testid="include-open"' in page
    pooled, page = model_a_line(client, "?include_open=1")
    assert pooled.surveys == ("Open survey of A", "Survey 1") and pooled.readers == 5
    assert pooled.accuracy.total > before.accuracy.total
    assert "pools closed and open surveys" in page and "Open survey of A (Open)" in page


def test_the_glossary_is_linked_from_the_report_and_explains_the_terms(client, reports, researcher, reader):
    client.force_login(researcher)
    report = client.get(reverse("reports:report") + "?survey=Survey+1").content.decode()
    assert reverse("reports:glossary") in report
    glossary = client.get(reverse("reports:glossary")).content.decode()
    assert "Obuchowski-Rockette method" in glossary and "split-plot" in glossary
    assert "modality" not in glossary.lower()
    italian = client.get(reverse("reports:glossary"), HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Glossario dei report" in italian and "metodo di Obuchowski-Rockette" in italian
    client.force_login(reader)
    assert client.get(reverse("reports:glossary")).status_code == 403


def test_a_report_keeps_its_own_experience_bands_and_refuses_garbage_in_one_line(client, study, researcher):
    client.force_login(researcher)
    compute = reverse("reports:compute_report") + "?survey=Survey+1"
    response = client.post(compute, {"experience_bands": "3, 10"})
    assert response.status_code == 302
    assert ReportJob.objects.latest("id").experience_bands == [3.0, 10.0]
    ReportJob.objects.all().delete()
    refused = client.post(compute, {"experience_bands": "10, 3"})
    assert refused.status_code == 400
    assert "increasing" in refused.content.decode() and not ReportJob.objects.exists()
