"""The API token of a member taken out of a project stops reaching that project's objects at the next request;
the token itself still works for the projects the person keeps."""

import pytest
from rest_framework.test import APIClient

from api.services import issue_token
from projects.models import Role
from projects.services import add_member, create_project, remove_member
from studies.policy import DisplayPolicy
from studies.services import create_survey
from studies.survey_input import SurveyInput
from tests.projects.factories import make_member
from tests.studies.conftest import SMALL, pools  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def survey_in(project, pools, name):  # noqa: F811
    return create_survey(
        options=SurveyInput(
            name=name,
            model=pools.synthetic.name,
            real_dataset=pools.real.name,
            real=2,
            synthetic=2,
            seed=1,
            display_policy=DisplayPolicy(**SMALL),
        ),
        project=project,
    ).survey


def test_a_removed_members_token_stops_working_for_that_project_at_once(django_user_model, pools):  # noqa: F811
    first, second = create_project(name="First"), create_project(name="Second")
    kept, left = survey_in(first, pools, "Kept survey"), survey_in(second, pools, "Left survey")
    user = make_member(
        django_user_model.objects.create_user("res", is_staff=True), "researcher", project=first
    )
    add_member(project=second, user=user, role=Role.RESEARCHER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user=user).key}")
    assert client.get(f"/api/v1/surveys/{left.pk}/").status_code == 200
    assert client.get("/api/v1/results/answers/?survey=Left+survey").status_code == 200

    remove_member(project=second, user=user, actor=None)

    assert client.get(f"/api/v1/surveys/{left.pk}/").status_code == 404
    assert client.get("/api/v1/results/answers/?survey=Left+survey").status_code == 404
    assert [row["name"] for row in client.get("/api/v1/surveys/").json()["results"]] == ["Kept survey"]
    assert client.get(f"/api/v1/surveys/{kept.pk}/").status_code == 200
