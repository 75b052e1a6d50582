"""The planning endpoint behind the survey creation page's panel: plan_design's numbers as JSON, defaults from the
documentation, a one-line 400 for garbage, and only for researchers and study admins."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from metrics.stats.planning import ASSUMED_CASE_SD, ASSUMED_READER_SD, plan_design

URL = reverse("metrics:planning")


@pytest.fixture
def client_of(django_user_model):
    def make(group=None, **flags):
        user = django_user_model.objects.create_user(
            f"user-{group}-{len(flags)}", password="pw-plan-123", **flags
        )
        if group:
            user.groups.add(Group.objects.get_or_create(name=group)[0])
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
