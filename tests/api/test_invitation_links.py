"""A pending invitation's join link lets whoever holds it join the survey as a reader: the API and the admin show
it to study admins only, never to researchers."""

import pytest
from django.test import Client
from django.urls import reverse

from studies.models import Survey
from studies.services import do_create_invitations
from tests.api.conftest import ADMIN, RESEARCHER

pytestmark = pytest.mark.django_db


def test_the_api_gives_join_links_to_study_admins_only(people):
    survey = Survey.objects.get(name="Reading now")
    invitation = do_create_invitations(survey=survey, actor=people.users[ADMIN], count=1)[0]
    as_admin = people.client(ADMIN).get(f"/api/v1/invitations/{invitation.pk}/").json()
    as_researcher = people.client(RESEARCHER).get(f"/api/v1/invitations/{invitation.pk}/").json()
    assert invitation.token in as_admin["url"]
    assert as_researcher["url"] is None and invitation.token not in str(as_researcher)
    listed = people.client(RESEARCHER).get("/api/v1/invitations/").json()
    assert listed["count"] >= 1 and invitation.token not in str(listed)


def test_the_admin_shows_join_links_to_study_admins_only(people):
    survey = Survey.objects.get(name="Reading now")
    invitation = do_create_invitations(survey=survey, actor=people.users[ADMIN], count=1)[0]
    page = reverse("admin:studies_invitation_change", args=[invitation.pk])
    researcher, admin = Client(), Client()
    researcher.force_login(people.users[RESEARCHER])
    admin.force_login(people.users[ADMIN])
    shown_to_admin = admin.get(page)
    shown_to_researcher = researcher.get(page)
    assert shown_to_admin.status_code == shown_to_researcher.status_code == 200
    assert invitation.token in shown_to_admin.content.decode()
    assert invitation.token not in shown_to_researcher.content.decode()
    listing = researcher.get(reverse("admin:studies_invitation_changelist")).content.decode()
    assert invitation.token not in listing
