"""Readers never use the API for reading: a reader's token reaches nothing that says which items are real, nor any
answer, count or dataset. The same requests by a researcher do return the truth, so this test can fail."""

import json

from reports.services import report_now
from studies.models import Item, Survey
from studies.simulation import simulate_readers
from tests.api.conftest import OTHER_READER, READER, RESEARCHER


def every_get(survey, item) -> list[str]:
    names = f"survey={survey.name}"
    urls = [
        f"/api/v1/results/{what}?{names}"
        for what in ("answers/", "answers.csv", "stats/", "report.pdf", "metrics/", "metrics.csv")
    ]
    urls += ["/api/v1/results/data-dictionary.csv", f"/api/v1/surveys/{survey.pk}/progress/"]
    for prefix in ("datasets", "volumes", "import-jobs", "checkpoints", "generation-jobs", "metrics-jobs",
                   "report-jobs", "surveys", "audits", "invitations"):  # fmt: skip
        urls += [f"/api/v1/{prefix}/", f"/api/v1/{prefix}/1/", f"/api/v1/{prefix}/{survey.pk}/"]
    return urls


def test_a_reader_token_gets_no_truth_anywhere(people):
    survey = Survey.objects.get(name="Reading now")
    simulate_readers(survey, 2, seed=4, skill=0.8)
    report_now(surveys=[survey])
    item = Item.objects.filter(survey=survey).first()
    truths = {item.public_id for item in Item.objects.filter(survey=survey)}
    for role in (READER, OTHER_READER):
        client = people.client(role)
        for url in every_get(survey, item):
            response = client.get(url)
            assert response.status_code in (403, 404), (role, url, response.status_code)
            body = response.json()
            assert set(body) == {"code", "detail"}, (role, url, body)
            text = response.content.decode()
            assert not any(public_id in text for public_id in truths)
            assert "synthetic" not in text and survey.name not in text and "Model X" not in text
    # What the researcher gets from the same URL holds the truth of every item.
    rows = json.loads(people.client(RESEARCHER).get(f"/api/v1/results/answers/?survey={survey.name}").content)
    assert {row["item"] for row in rows} == truths and {row["truth"] for row in rows} == {"real", "synthetic"}


def test_a_reader_may_ask_who_they_are_and_nothing_else(people):
    me = people.client(READER).get("/api/v1/me/").json()
    assert me == {
        "username": people.users[READER].username,
        "roles": ["reader"],
        "projects": [{"name": "Default project", "role": "reader"}],  # the survey they joined is there
        "site_superuser": False,
    }
