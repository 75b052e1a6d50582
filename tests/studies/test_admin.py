"""The admin side: create a survey from a form, open it only through the audit, invite readers, follow
progress, send reminders; researchers read but change nothing."""

import html
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from studies.models import BlindingAudit, Invitation, Survey
from studies.selectors import item_at
from studies.services import do_submit_answer, parse_answer_input
from tests.projects.factories import make_member
from tests.studies.conftest import answer_body


@pytest.fixture
def admin_client(django_user_model):
    user = django_user_model.objects.create_user("study-admin", password="pw-adm-123", is_staff=True)
    make_member(user, "admin")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def researcher_client(django_user_model):
    user = django_user_model.objects.create_user("researcher", password="pw-res-123", is_staff=True)
    make_member(user, "researcher")
    client = Client()
    client.force_login(user)
    return client


def add_form(pools, **overrides):
    return {
        "name": "Admin survey",
        "reader_title": "Reader study",
        "model_dataset": pools.synthetic.pk,
        "model_alias": "Model X",
        "real_dataset": pools.real.pk,
        "per_side": 10,
        "seed": 9,
        "matrix_size": 64,
        "hu_min": -1024,
        "hu_max": 3071,
        "interpolation": "bilinear",
        "mask": "body",
        "field_of_view": "survey",
        "field_of_view_mm": "",
        "default_window_width": 400,
        "default_window_level": 40,
        "instructions": "",
        **overrides,
    }


def test_an_admin_creates_a_survey_from_the_form(admin_client, pools):
    response = admin_client.post(reverse("admin:studies_survey_add"), add_form(pools))
    survey = Survey.objects.get(name="Admin survey")
    assert response.status_code == 302
    assert response.url == reverse("admin:studies_survey_change", args=[survey.pk])
    assert (survey.status, survey.items.count(), survey.model_alias) == ("draft", 20, "Model X")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"per_side": 0}, "the number of items per side must be 1..500, not 0"),
        ({"hu_min": 500, "hu_max": 100}, "display policy: HU range 500..100 is empty"),
        ({"seed": "abc"}, "seed must be a whole number, not 'abc'"),
        ({"per_side": 300}, "only 40 slice(s) per side"),
        ({"model_dataset": 999999}, "no dataset named '999999' (synthetic CT datasets: 'Model X output')"),
    ],
)
def test_the_add_form_refuses_garbage_with_a_clear_error(admin_client, pools, overrides, message):
    response = admin_client.post(reverse("admin:studies_survey_add"), add_form(pools, **overrides))
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not Survey.objects.exists()


def test_audit_and_open_from_the_admin_queues_an_audit_job_that_opens_the_survey(
    admin_client, make_survey, jobs_inline
):
    survey = make_survey()
    with jobs_inline():
        response = admin_client.post(
            reverse("admin:studies_survey_audit_open", args=[survey.pk]), follow=True
        )
    survey.refresh_from_db()
    assert survey.status == "open" and survey.last_audit_passed
    audit = BlindingAudit.objects.get(survey=survey)
    assert audit.status == "done" and audit.message == "blinding audit passed; the survey is open"
    assert "Blinding audit of &#x27;" in response.content.decode()
    page = admin_client.get(reverse("admin:studies_blindingaudit_change", args=[audit.pk])).content.decode()
    assert "PASS scale" in page and 'data-testid="job-status-line"' in page


def test_opening_from_the_admin_without_a_current_audit_is_refused(admin_client, make_survey):
    survey = make_survey()
    response = admin_client.post(reverse("admin:studies_survey_open", args=[survey.pk]), follow=True)
    survey.refresh_from_db()
    assert survey.status == "draft"
    assert "run the blinding audit of its current items first" in response.content.decode()


def test_a_survey_that_fails_the_audit_cannot_be_opened_from_the_admin(
    admin_client, make_survey, jobs_inline
):
    survey = make_survey(reader_title=f"Please rate {'Model X output'}")
    with jobs_inline():
        admin_client.post(reverse("admin:studies_survey_audit_open", args=[survey.pk]))
    response = admin_client.post(reverse("admin:studies_survey_open", args=[survey.pk]), follow=True)
    survey.refresh_from_db()
    assert survey.status == "draft" and survey.last_audit_passed is False
    # the title names the model: the page walk finds it, and so does the check of the reader texts themselves
    assert (
        "stays a draft: the blinding audit found 2 leak(s); first: [reader-text]" in response.content.decode()
    )
    assert BlindingAudit.objects.get(survey=survey).message == "blinding audit failed: 2 leak(s)"


def test_the_audit_and_open_actions_of_the_list_open_only_what_passes(admin_client, make_survey, jobs_inline):
    good = make_survey()
    bad = make_survey(reader_title="About Model X output")
    changelist = reverse("admin:studies_survey_changelist")
    with jobs_inline():
        admin_client.post(changelist, {"action": "audit_surveys", "_selected_action": [good.pk, bad.pk]})
    admin_client.post(changelist, {"action": "open_surveys", "_selected_action": [good.pk, bad.pk]})
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, bad.status) == ("open", "draft")


def change_form_data(admin_client, survey, **changes):
    page = admin_client.get(reverse("admin:studies_survey_change", args=[survey.pk]))
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data.update({"field_of_view_mm": "", "instructions": "", "allow_going_back": ""})
    data.update(
        {
            "items-TOTAL_FORMS": 20,
            "items-INITIAL_FORMS": 20,
            "items-MIN_NUM_FORMS": 0,
            "items-MAX_NUM_FORMS": 0,
        }
    )
    for index, item in enumerate(survey.items.order_by("id")):
        data[f"items-{index}-id"] = item.pk
        data[f"items-{index}-survey"] = survey.pk
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_draft_policy_change_in_the_admin_renders_again(admin_client, make_survey):
    survey = make_survey()
    url = reverse("admin:studies_survey_change", args=[survey.pk])
    response = admin_client.post(url, change_form_data(admin_client, survey, matrix_size=32))
    assert response.status_code == 302
    survey.refresh_from_db()
    assert survey.display_policy.matrix_size == 32
    assert survey.payload_bytes == 32 * 32 * 2


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"hu_min": 500, "hu_max": 100}, "display policy: HU range 500..100 is empty"),
        ({"matrix_size": 4}, "display policy: matrix size 4 is outside 16..2048"),
        ({"field_of_view_mm": "wide"}, "display policy: field_of_view_mm must be a number, not 'wide'"),
        ({"field_of_view": "fisheye"}, "display policy: unknown field of view choice 'fisheye'"),
        ({"field_of_view_mm": "-5"}, "display policy: the field of view must be positive"),
        ({"interpolation": "sinc"}, "display policy: unknown interpolation 'sinc'"),
        ({"default_window_width": "wide"}, "default_window_width must be a whole number, not 'wide'"),
    ],
)
def test_the_change_form_refuses_garbage(admin_client, make_survey, changes, message):
    survey = make_survey()
    url = reverse("admin:studies_survey_change", args=[survey.pk])
    response = admin_client.post(url, change_form_data(admin_client, survey, **changes))
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    policy = Survey.objects.get(pk=survey.pk).display_policy
    assert policy == survey.display_policy
    assert (policy.hu_min, policy.matrix_size, policy.interpolation) == (-1024, 64, "bilinear")


def test_an_open_survey_is_read_only_in_the_admin(admin_client, make_survey):
    survey = make_survey(open_it=True)
    page = admin_client.get(reverse("admin:studies_survey_change", args=[survey.pk]))
    assert "policy_summary" in page.context["adminform"].readonly_fields
    assert not {"matrix_size", "reader_title"} & set(page.context["adminform"].form.fields)
    assert "64x64" in page.content.decode()


def test_progress_and_reminders(
    admin_client, make_survey, join, make_reader, django_capture_on_commit_callbacks
):
    survey = make_survey(open_it=True)
    busy = join(survey, make_reader("busy", email="busy@example.org"))
    join(survey, make_reader("silent"))
    do_submit_answer(assignment=busy, item=item_at(busy, 1), data=parse_answer_input(answer_body()))
    page = admin_client.get(reverse("admin:studies_survey_progress", args=[survey.pk])).content.decode()
    assert page.count('data-testid="admin-progress-row"') == 2
    assert "1 / 20" in page and "0 / 20" in page
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:studies_survey_remind", args=[survey.pk, busy.pk]))
    assert len(mail.outbox) == 1
    assert "1 of 20" in mail.outbox[0].body and busy.key in mail.outbox[0].body
    busy.refresh_from_db()
    assert busy.reminder_count == 1
    silent = survey.assignments.get(reader__username="silent")
    response = admin_client.post(
        reverse("admin:studies_survey_remind", args=[survey.pk, silent.pk]), follow=True
    )
    assert "has no e-mail address" in response.content.decode()
    assert len(mail.outbox) == 1


def test_inviting_from_the_admin_shows_the_new_links(admin_client, make_survey):
    survey = make_survey()
    response = admin_client.post(
        reverse("admin:studies_survey_invite", args=[survey.pk]),
        {"count": 2, "emails": "", "label": "radiologists", "expires_in_days": 14},
    )
    assert response.status_code == 200
    html = response.content.decode()
    for invitation in Invitation.objects.filter(survey=survey):
        assert invitation.token in html
    assert Invitation.objects.filter(survey=survey, label="radiologists").count() == 2


@pytest.mark.parametrize(
    "data, message",
    [
        ({"count": 0, "emails": "", "expires_in_days": 14}, "Ask for at least one link"),
        ({"count": 1, "emails": "nobody-at-all", "expires_in_days": 14}, "is not an e-mail address"),
        ({"count": 1, "emails": "", "expires_in_days": 900}, "less than or equal to 365"),
    ],
)
def test_the_invite_form_refuses_garbage(admin_client, make_survey, data, message):
    survey = make_survey()
    response = admin_client.post(reverse("admin:studies_survey_invite", args=[survey.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Invitation.objects.exists()


def test_researchers_see_progress_but_cannot_change_anything(researcher_client, make_survey):
    survey = make_survey()
    assert (
        researcher_client.get(reverse("admin:studies_survey_progress", args=[survey.pk])).status_code == 200
    )
    assert researcher_client.post(reverse("admin:studies_survey_open", args=[survey.pk])).status_code == 403
    changelist = researcher_client.get(reverse("admin:studies_survey_changelist"))
    assert "open_surveys" not in changelist.content.decode()
    survey.refresh_from_db()
    assert survey.status == "draft"


def test_answers_cannot_be_edited_or_deleted_in_the_admin(admin_client, make_survey, join):
    survey = make_survey(open_it=True)
    assignment = join(survey)
    result = do_submit_answer(
        assignment=assignment, item=item_at(assignment, 1), data=parse_answer_input(answer_body())
    )
    url = reverse("admin:studies_answer_delete", args=[result.answer.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert result.answer.__class__.objects.filter(pk=result.answer.pk).exists()


# --- study designs -------------------------------------------------------------------------------------------


def test_an_admin_creates_a_survey_with_a_study_design(admin_client, pools):
    data = add_form(
        pools,
        rating="slider",
        choice_from_rating="on",
        window_presets="abdomen 350 40\nwide bone 2000 500",
        practice_items=4,
    )
    response = admin_client.post(reverse("admin:studies_survey_add"), data)
    assert response.status_code == 302
    survey = Survey.objects.get(name="Admin survey")
    design = survey.design
    assert (design.rating, design.choice_from_rating, design.practice_items) == ("slider", True, 4)
    assert [(p.name, p.width, p.level) for p in design.window_presets] == [
        ("abdomen", 350, 40),
        ("wide bone", 2000, 500),
    ]
    assert survey.practice_items.count() == 4


def test_an_admin_survey_without_design_fields_gets_the_default_design(admin_client, pools):
    assert admin_client.post(reverse("admin:studies_survey_add"), add_form(pools)).status_code == 302
    from studies.design import StudyDesign

    assert Survey.objects.get(name="Admin survey").design == StudyDesign()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"choice_from_rating": "on"}, "study design: the choice can be derived from the rating only when"),
        ({"rating": "ten_point"}, "study design: unknown confidence rating 'ten_point'"),
        ({"practice_items": 11}, "study design: practice items must be 0..10, not 11"),
        ({"window_presets": "lung 1500"}, "study design: window preset 1 must be: name width level"),
        ({"window_presets": "lung wide -600"}, "width and level must be whole numbers"),
        ({"window_presets": "lung 0 -600"}, "the width of preset 'lung' must be 1..5000 HU"),
        ({"per_side": 38, "practice_items": 10}, "cannot select practice items: 10 practice item(s) need 5"),
    ],
)
def test_impossible_designs_are_refused_in_one_line(admin_client, pools, overrides, message):
    response = admin_client.post(reverse("admin:studies_survey_add"), add_form(pools, **overrides))
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not Survey.objects.exists()


def test_a_draft_design_change_in_the_admin_is_stored_and_a_practice_change_refused(
    admin_client, make_survey
):
    survey = make_survey()
    url = reverse("admin:studies_survey_change", args=[survey.pk])
    data = change_form_data(admin_client, survey, rating="five_point", window_presets="brain 80 40")
    assert admin_client.post(url, data).status_code == 302
    survey.refresh_from_db()
    assert survey.design.rating == "five_point" and survey.design.window_presets[0].name == "brain"
    data = change_form_data(admin_client, survey, practice_items=2)
    response = admin_client.post(url, data, follow=True)
    notes = [str(m) for m in response.context["messages"]]
    assert any("the practice items are chosen when the survey is created" in n for n in notes), notes
    survey.refresh_from_db()
    assert survey.design.practice_items == 0


def test_an_admin_sets_a_repeat_reading_and_impossible_ones_are_refused(admin_client, pools):
    url = reverse("admin:studies_survey_add")
    refused = admin_client.post(url, add_form(pools, repeat="subset", repeat_items=25))
    assert refused.status_code == 400
    assert "a repeated subset of 25 items is larger than the survey (20 items)" in refused.content.decode()
    refused = admin_client.post(url, add_form(pools, washout_days=5))
    assert "a wash-out applies to a repeat reading only" in refused.content.decode()
    assert not Survey.objects.exists()
    assert admin_client.post(url, add_form(pools, repeat="all", washout_days=14)).status_code == 302
    design = Survey.objects.get().design
    assert (design.repeat, design.washout_days) == ("all", 14)


def test_the_add_page_includes_the_planning_panel(admin_client):
    from django.contrib.staticfiles import finders

    page = admin_client.get(reverse("admin:studies_survey_add")).content.decode()
    assert 'data-testid="planning-panel"' in page
    assert f'data-url="{reverse("reports:planning")}"' in page
    assert "studies/planning_panel.js" in page
    for name in ("readers", "accuracy", "reader_sd", "case_sd", "margin"):
        assert f'name="planning_{name}"' in page
    # the panel sits outside the survey form: nothing of it is posted with the survey
    assert page.index("</form>") < page.index('data-testid="planning-panel"')
    script = Path(finders.find("studies/planning_panel.js")).read_text()
    assert "items_per_side" in script and "id_per_side" in script
