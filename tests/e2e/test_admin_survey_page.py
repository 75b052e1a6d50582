"""Browser test of the head of a survey's admin page: its state, the last audit and readers' progress, and one
button per action, each a form of its own (none of them may submit the survey's settings form instead)."""

import io

import pytest
from django.core.management import call_command

from archives.models import StudyExport
from jobs import services as job_services
from studies.models import BlindingAudit, Survey
from studies.services import do_audit_survey
from tests.e2e.conftest import MODEL_DATASET, REAL_DATASET, import_phantom_datasets
from tests.projects.factories import make_member

PASSWORD = "pw-e2e-admin-7730"


@pytest.fixture
def study_admin(transactional_db, django_user_model):
    user = django_user_model.objects.create_user("e2e-panel-admin", password=PASSWORD, is_staff=True)
    make_member(user, "admin")
    return user


@pytest.fixture
def sent_jobs(monkeypatch):
    """Jobs the pages queue are recorded here instead of reaching the broker (no worker runs in this test)."""
    sent = []
    monkeypatch.setattr(job_services, "_send", lambda label, pk, queue: sent.append((label, pk)) or True)
    return sent


@pytest.fixture
def draft_survey(transactional_db, phantom_folders) -> Survey:
    import_phantom_datasets(phantom_folders)
    call_command(
        "create_survey",
        name="Panel survey",
        model=MODEL_DATASET,
        real_dataset=REAL_DATASET,
        real=4,
        synthetic=4,
        seed=3,
        matrix=64,
        stdout=io.StringIO(),
    )
    return Survey.objects.get(name="Panel survey")


def press(page, testid):
    with page.expect_navigation():
        page.get_by_test_id(testid).click()


def test_every_action_at_the_head_of_the_survey_page_does_what_it_says(
    study_admin, draft_survey, sent_jobs, live_server, page
):
    change_url = f"{live_server.url}/admin/studies/survey/{draft_survey.pk}/change/"
    page.goto(f"{live_server.url}/admin/login/?next=/admin/studies/survey/{draft_survey.pk}/change/")
    page.fill("#id_username", study_admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    panel = page.get_by_test_id("admin-survey-panel")
    assert page.get_by_test_id("admin-survey-status").text_content() == "Draft"
    assert "not run yet" in page.get_by_test_id("admin-survey-audit-state").text_content()
    assert "0 joined" in page.get_by_test_id("admin-survey-readers").text_content()
    # The panel comes before the survey's own form, near the top of the page.
    assert panel.bounding_box()["y"] < page.locator("#survey_form").bounding_box()["y"]

    press(page, "admin-survey-audit")
    assert page.url == change_url
    audit = BlindingAudit.objects.get(survey=draft_survey)
    assert (audit.status, audit.open_when_passed) == ("queued", False)
    assert ("studies.BlindingAudit", audit.pk) in sent_jobs
    assert "Blinding audit of 'Panel survey' queued" in page.locator(".messagelist").text_content()
    assert f"#{audit.pk}" in page.get_by_test_id("admin-survey-audit-job").text_content()
    draft_survey.refresh_from_db()
    assert draft_survey.status == "draft"

    press(page, "admin-survey-audit-open")
    second = BlindingAudit.objects.filter(survey=draft_survey).order_by("-pk").first()
    assert second.pk != audit.pk and second.open_when_passed

    # Open refuses without a passing audit of the current items, and says so.
    press(page, "admin-survey-open")
    draft_survey.refresh_from_db()
    assert draft_survey.status == "draft"
    assert "audit" in page.locator(".messagelist .error").text_content()

    report = do_audit_survey(survey=draft_survey, actor=study_admin)
    assert report.passed
    page.goto(change_url)
    audit_state = page.get_by_test_id("admin-survey-audit-state").text_content()
    assert "passed" in audit_state and draft_survey.last_audit_fingerprint[:12] in audit_state
    assert "the items shown now" in audit_state
    press(page, "admin-survey-open")
    draft_survey.refresh_from_db()
    assert draft_survey.status == "open"
    assert page.get_by_test_id("admin-survey-status").text_content() == "Open"
    assert page.get_by_test_id("admin-survey-open").count() == 0

    press(page, "admin-survey-close")
    draft_survey.refresh_from_db()
    assert draft_survey.status == "closed"

    press(page, "admin-survey-export")
    export = StudyExport.objects.get()
    assert export.survey_ids == [draft_survey.pk]
    assert ("archives.StudyExport", export.pk) in sent_jobs
    assert "Study export job" in page.locator(".messagelist").text_content()
