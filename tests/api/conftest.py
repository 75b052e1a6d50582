"""Fixtures for API tests: the reader-study fixtures of tests/studies, one account per role with its token, and a
client that sends a token."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from api.services import issue_token
from tests.projects.factories import make_member
from tests.studies.conftest import (  # noqa: F401  (fixtures)
    email_backend,
    join,
    make_reader,
    make_survey,
    own_cache_namespace,
    pools,
)

ANONYMOUS, READER, OTHER_READER, RESEARCHER, ADMIN = (
    "anonymous",
    "reader",
    "other reader",
    "researcher",
    "admin",
)
ROLES = (ANONYMOUS, READER, OTHER_READER, RESEARCHER, ADMIN)


@dataclass
class People:
    users: dict
    tokens: dict

    def client(self, role: str) -> APIClient:
        client = APIClient()
        if role != ANONYMOUS:
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[role]}")
        return client


@pytest.fixture
def people(db, django_user_model, make_survey, join):  # noqa: F811  (fixtures imported above)
    """A reader who joined an open survey, a reader of another survey, a researcher and a study admin (admin
    group, not a superuser), each with an API token."""
    survey = make_survey(open_it=True, name="Reading now")
    other_survey = make_survey(open_it=True, name="Elsewhere")
    reader = join(survey).reader
    other = join(other_survey).reader
    researcher = django_user_model.objects.create_user("researcher", password="pw-res-123", is_staff=True)
    make_member(researcher, "researcher")
    admin = django_user_model.objects.create_user("study-admin", password="pw-adm-123", is_staff=True)
    make_member(admin, "admin")
    users = {READER: reader, OTHER_READER: other, RESEARCHER: researcher, ADMIN: admin}
    tokens = {role: issue_token(user=user).key for role, user in users.items()}
    return People(users=users, tokens=tokens)


@pytest.fixture
def admin_client(people) -> APIClient:
    return people.client(ADMIN)
