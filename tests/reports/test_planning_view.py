"""The planning endpoint behind the survey creation page's panel: plan_design's numbers as JSON, defaults from the
documentation or from a pilot survey's stored report (never fitted in the request), a one-line 400 for garbage,
and only for researchers and study admins."""

import math

import pytest
from django.test import Client
from django.urls import reverse

from imaging.models import Dataset
from readerstats import ASSUMED_CASE_SD, ASSUMED_READER_SD, glmm_accuracy, plan_design
from reports import selectors
from reports.models import ReportJob
from reports.services import report_now
from tests.metrics.factories import make_ct_dataset
from tests.projects.factories import make_member
from tests.reports.study_factory import make_survey
from tests.reports.test_report_jobs import add_answer

URL = reverse("reports:planning")


@pytest.fixture
def client_of(django_user_model):
    def make(group=None, **flags):
        user = django_user_model.objects.create_user(
            f"user-{group}-{len(flags)}", password="pw-plan-123", **flags
        )
        if group:
            make_member(user, group)
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.mark.django_db
def test_values_are_plan_designs(client_of):
    client = client_of("researcher")
    response = client.get(URL, {"readers": 12, "items_per_side": 40})
    assert response.status_code == 200
    data = response.json()
    expected = plan_design(12, 40)
    assert data["half_width"] == pytest.approx(expected.half_width, rel=1e-12)
    assert data["equivalence_power"] == pytest.approx(expected.equivalence_power, rel=1e-12)
    assert data["ddf"] == pytest.approx(expected.ddf, rel=1e-12)
    assert data["defaults"] == {
        "accuracy": 0.5,
        "reader_sd": ASSUMED_READER_SD,
        "case_sd": ASSUMED_CASE_SD,
        "margin": 0.1,
    }
    assert data["reader_sd"] == ASSUMED_READER_SD and data["case_sd"] == ASSUMED_CASE_SD
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_edited_assumptions_are_used(client_of):
    client = client_of("admin")
    query = {"readers": 6, "items_per_side": 25, "accuracy": "0.6", "reader_sd": "0.2", "case_sd": "1.1"}
    data = client.get(URL, {**query, "margin": "0.15"}).json()
    expected = plan_design(6, 25, accuracy=0.6, reader_sd=0.2, case_sd=1.1, margin=0.15)
    assert data["half_width"] == pytest.approx(expected.half_width, rel=1e-12)
    assert data["equivalence_power"] == pytest.approx(expected.equivalence_power, rel=1e-12)
    assert data["margin"] == 0.15 and data["accuracy"] == 0.6
    # an empty field takes the default
    assert client.get(URL, {"readers": 6, "items_per_side": 25, "accuracy": ""}).json()["accuracy"] == 0.5


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "readers is required"),
        ({"readers": 10}, "items_per_side is required"),
        ({"readers": "ten", "items_per_side": 10}, "readers must be a whole number, not 'ten'"),
        ({"readers": "2.5", "items_per_side": 10}, "readers must be a whole number"),
        ({"readers": 1, "items_per_side": 10}, "readers must be a whole number of at least 2"),
        ({"readers": 10, "items_per_side": 0}, "items per side must be a whole number of at least 1"),
        ({"readers": 10**9, "items_per_side": 10}, "readers must be at most 10000"),
        ({"readers": 10, "items_per_side": 10, "accuracy": "1.5"}, "accuracy must be between 0 and 1"),
        ({"readers": 10, "items_per_side": 10, "accuracy": "nan"}, "accuracy must be a number"),
        ({"readers": 10, "items_per_side": 10, "margin": "x"}, "margin must be a number, not 'x'"),
        ({"readers": 10, "items_per_side": 10, "margin": "0.7"}, "margin must be between 0 and 0.5"),
        ({"readers": 10, "items_per_side": 10, "reader_sd": "-1"}, "reader SD must be a number from 0 to 5"),
        ({"readers": 10, "items_per_side": 10, "case_sd": "inf"}, "case SD must be a number from 0 to 5"),
    ],
)
def test_garbage_is_a_one_line_400(client_of, query, message):
    response = client_of("researcher").get(URL, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error and "\n" not in error
    assert set(response.json()) == {"error"}


@pytest.mark.django_db
def test_only_researchers_and_admins(client_of):
    anonymous = Client().get(URL, {"readers": 10, "items_per_side": 10})
    assert anonymous.status_code == 401
    reader = client_of("reader").get(URL, {"readers": 10, "items_per_side": 10})
    assert reader.status_code == 403 and "researchers" in reader.json()["error"]
    assert client_of("admin").get(URL, {"readers": 10, "items_per_side": 10}).status_code == 200
    assert client_of(None, is_staff=True).get(URL, {"readers": 10, "items_per_side": 10}).status_code == 200
    assert client_of("researcher").post(URL, {"readers": 10, "items_per_side": 10}).status_code == 405


# --- Pilot surveys -----------------------------------------------------------------------------------------------


@pytest.fixture
def pilots(db):
    """A closed pilot with its report computed, one closed without a report, and an open survey."""
    real = make_ct_dataset("Pilot real CT", patients=4, slices_per_layer=1, seed=1)
    model = make_ct_dataset(
        "Pilot model", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=1, seed=2
    )
    other = make_ct_dataset(
        "Other model", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=1, seed=3
    )
    reported = make_survey("Pilot A", model=model, real=real, per_side=6, readers=5, seed=11, skill=0.3)
    unreported = make_survey("Pilot B", model=other, real=real, per_side=4, readers=3, seed=12)
    still_open = make_survey(
        "Open survey", model=model, real=real, per_side=4, readers=3, seed=13, status="open"
    )
    report_now(surveys=[reported])
    return {"reported": reported, "unreported": unreported, "open": still_open, "model": model, "real": real}


def glmm_of(survey):
    """The pilot's GLMM fitted here from its answers: what the stored report must have held."""
    rows = [row for row in selectors.answer_rows([survey]) if row.answer in ("real", "synthetic")]
    return glmm_accuracy(
        [row.correct for row in rows], [row.reader for row in rows], [row.item for row in rows]
    )


@pytest.mark.django_db
def test_a_pilot_with_a_current_report_fills_the_assumptions_from_its_glmm(client_of, pilots):
    data = client_of("researcher").get(URL, {"readers": 8, "items_per_side": 30, "pilot": "Pilot A"}).json()
    fit = glmm_of(pilots["reported"])
    assert fit.estimable
    pilot = data["pilot"]
    assert pilot["estimable"] and pilot["survey"] == "Pilot A"
    # the same fit to the optimiser's tolerance (the report fits the rows in its own order)
    assert pilot["accuracy"] == pytest.approx(fit.accuracy, rel=1e-5)
    assert pilot["reader_sd"] == pytest.approx(math.sqrt(fit.reader_variance), rel=1e-4, abs=1e-4)
    assert pilot["case_sd"] == pytest.approx(math.sqrt(fit.item_variance), rel=1e-4, abs=1e-4)
    assert (pilot["readers"], pilot["items"]) == (5, 12)
    assert pilot["source"].startswith("from pilot 'Pilot A': 5 readers, 12 items, ")
    assert f"reader SD {math.sqrt(fit.reader_variance):.2f}" in pilot["source"]
    expected = plan_design(
        8,
        30,
        accuracy=fit.accuracy,
        reader_sd=math.sqrt(fit.reader_variance),
        case_sd=math.sqrt(fit.item_variance),
    )
    assert data["half_width"] == pytest.approx(expected.half_width, rel=1e-4)
    assert data["sources"] == {
        "accuracy": "pilot",
        "reader_sd": "pilot",
        "case_sd": "pilot",
        "margin": "assumed",
    }
    assert data["defaults"]["reader_sd"] == pilot["reader_sd"]
    assert data["pilot_chosen_by_default"] is False
    # a value typed in the panel wins over the pilot's
    typed = client_of("admin").get(
        URL, {"readers": 8, "items_per_side": 30, "pilot": "Pilot A", "reader_sd": "0.2"}
    )
    assert typed.json()["reader_sd"] == 0.2 and typed.json()["sources"]["reader_sd"] == "entered"


@pytest.fixture
def spread_pilots(db):
    """Two closed pilots of one model with their reports: readers who guess (no spread to find) and readers of
    very different skill."""
    real = make_ct_dataset("Spread real CT", patients=4, slices_per_layer=1, seed=1)
    model = make_ct_dataset(
        "Spread model", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=1, seed=2
    )
    guessing = make_survey("Guessing pilot", model=model, real=real, per_side=8, readers=6, seed=0, skill=0.0)
    skills = [-0.8, -0.4, 0.0, 0.4, 0.8, 0.95]
    varied = make_survey("Varied pilot", model=model, real=real, per_side=8, readers=6, seed=2, skill=skills)
    report_now(surveys=[guessing])
    report_now(surveys=[varied])
    return {"guessing": guessing, "varied": varied}


@pytest.mark.django_db
def test_a_pilot_without_reader_spread_is_flagged_and_the_assumed_spreads_replace_its_own_on_request(
    client_of, spread_pilots
):
    fit = glmm_of(spread_pilots["guessing"])
    assert fit.estimable and fit.reader_variance < 1e-6  # guessing readers: no spread to find

    client = client_of("researcher")
    query = {"readers": 8, "items_per_side": 30, "pilot": "Guessing pilot"}
    data = client.get(URL, query).json()
    assert data["pilot"]["reader_sd"] < 1e-3 and data["sources"]["reader_sd"] == "pilot"
    assert data["pilot"]["caution"].startswith("this pilot gives no reader")
    assert "optimistic" in data["pilot"]["caution"]

    fallback = client.get(URL, {**query, "spreads": "assumed"}).json()
    assert fallback["sources"] == {
        "accuracy": "pilot",
        "reader_sd": "assumed",
        "case_sd": "assumed",
        "margin": "assumed",
    }
    expected = plan_design(8, 30, accuracy=fit.accuracy, reader_sd=ASSUMED_READER_SD, case_sd=ASSUMED_CASE_SD)
    assert fallback["half_width"] == pytest.approx(expected.half_width, rel=1e-4)
    assert fallback["half_width"] > data["half_width"]


@pytest.mark.django_db
def test_a_pilot_with_both_spreads_carries_no_caution(client_of, spread_pilots):
    fit = glmm_of(spread_pilots["varied"])
    assert fit.reader_variance > 0.1 and fit.item_variance > 0.1
    data = (
        client_of("researcher").get(URL, {"readers": 8, "items_per_side": 30, "pilot": "Varied pilot"}).json()
    )
    assert data["pilot"]["estimable"] and data["pilot"]["reader_sd"] > 0.3 and data["pilot"]["case_sd"] > 0.3
    assert data["pilot"]["caution"] is None


@pytest.mark.django_db
def test_the_pilot_list_holds_closed_surveys_with_answers_and_the_default_matches_model_and_real_data(
    client_of, pilots
):
    client = client_of("researcher")
    base = {"readers": 8, "items_per_side": 30}
    data = client.get(URL, base).json()
    assert {pilot["name"] for pilot in data["pilots"]} == {"Pilot A", "Pilot B"}
    assert data["pilot"] is None  # no model chosen in the form yet: the assumed values
    same = client.get(URL, {**base, "model": pilots["model"].pk, "real_dataset": pilots["real"].pk}).json()
    assert same["pilot"]["survey"] == "Pilot A" and same["pilot_chosen_by_default"] is True
    other = client.get(
        URL, {**base, "model": pilots["model"].pk + 1000, "real_dataset": pilots["real"].pk}
    ).json()
    assert other["pilot"] is None and other["defaults"]["reader_sd"] == ASSUMED_READER_SD
    # an explicit "none" wins over the default
    none = client.get(
        URL, {**base, "pilot": "", "model": pilots["model"].pk, "real_dataset": pilots["real"].pk}
    ).json()
    assert none["pilot"] is None and none["sources"]["reader_sd"] == "assumed"


@pytest.mark.django_db
def test_a_pilot_without_a_current_report_says_so_and_nothing_is_computed(client_of, pilots):
    jobs_before = ReportJob.objects.count()
    data = client_of("researcher").get(URL, {"readers": 8, "items_per_side": 30, "pilot": "Pilot B"}).json()
    assert ReportJob.objects.count() == jobs_before
    assert data["pilot"]["estimable"] is False
    assert data["pilot"]["reason"] == "no pilot estimate yet: compute the survey's report"
    assert data["pilot"]["report_url"] == reverse("reports:report") + "?survey=Pilot+B"
    assert data["defaults"]["reader_sd"] == ASSUMED_READER_SD
    assert data["half_width"] == pytest.approx(plan_design(8, 30).half_width, rel=1e-12)
    # a report made before more answers came is not used either
    add_answer(pilots["reported"])
    stale = client_of("admin").get(URL, {"readers": 8, "items_per_side": 30, "pilot": "Pilot A"}).json()
    assert stale["pilot"]["estimable"] is False and "predates 1 answer(s)" in stale["pilot"]["reason"]


@pytest.mark.django_db
def test_the_sensitivity_table_is_plan_designs_half_width_for_each_pair_of_spreads(client_of):
    data = client_of("researcher").get(URL, {"readers": 6, "items_per_side": 20, "accuracy": "0.6"}).json()
    assert len(data["sensitivity"]) == 9
    for row in data["sensitivity"]:
        expected = plan_design(6, 20, accuracy=0.6, reader_sd=row["reader_sd"], case_sd=row["case_sd"])
        assert row["half_width"] == pytest.approx(expected.half_width, rel=1e-12)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"pilot": "Open survey"}, "pilot must be a closed survey with answers, not 'Open survey'"),
        ({"pilot": "no such survey"}, "pilot must be a closed survey with answers"),
        ({"model": "seven"}, "model must be a dataset id (a whole number), not 'seven'"),
        ({"real_dataset": "-1"}, "real_dataset must be a dataset id"),
    ],
)
def test_garbage_pilot_parameters_are_a_one_line_400(client_of, pilots, query, message):
    response = client_of("researcher").get(URL, {"readers": 8, "items_per_side": 30, **query})
    assert response.status_code == 400
    assert message in response.json()["error"] and "\n" not in response.json()["error"]
    assert set(response.json()) == {"error"}


@pytest.mark.django_db
def test_readers_never_see_the_pilots(client_of, pilots):
    response = client_of("reader").get(URL, {"readers": 8, "items_per_side": 30, "pilot": "Pilot A"})
    assert response.status_code == 403 and "Pilot" not in response.content.decode()
