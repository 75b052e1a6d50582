"""Joining by invitation: single use, expiring, revocable, brute-force limited; each reader gets a stored
seed and a frozen random order; invitations write audit rows."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from studies.models import Assignment, Invitation
from studies.sampling import make_item_order
from studies.services import (
    StudyError,
    do_accept_invitation,
    do_close_survey,
    do_create_invitations,
    do_revoke_invitation,
)

SIGNUP = {
    "username": "dr.rossi",
    "email": "rossi@example.org",
    "password1": "Tc-reader-2024!",
    "password2": "Tc-reader-2024!",
}


@pytest.fixture
def invitation(make_survey):
    survey = make_survey(open_it=True)
    return do_create_invitations(survey=survey, actor=None, count=1)[0]


def join_url(invitation):
    return reverse("studies:join", args=[invitation.token])


@pytest.mark.smoke
def test_a_new_reader_joins_by_link_and_gets_a_frozen_random_order(invitation):
    client = Client()
    assert 'data-testid="join-form"' in client.get(join_url(invitation)).content.decode()
    response = client.post(join_url(invitation), SIGNUP)
    assignment = Assignment.objects.get(reader__username="dr.rossi")
    assert response.status_code == 302
    assert (
        response.url == f"{reverse('studies:profile')}?next={reverse('studies:start', args=[assignment.key])}"
    )
    assert sorted(assignment.item_order) == sorted(invitation.survey.items.values_list("id", flat=True))
    assert assignment.item_order == make_item_order(assignment.item_order, assignment.seed)
    assert assignment.reader.groups.filter(name="reader").exists()
    invitation.refresh_from_db()
    assert invitation.used_by == assignment.reader and invitation.state == "used"
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"invitation.created", "invitation.used", "assignment.created", "reader.registered"} <= verbs
    assert client.get(reverse("studies:start", args=[assignment.key])).status_code == 200  # signed in


def test_two_readers_get_their_own_orders(make_survey, join):
    survey = make_survey(open_it=True)
    first, second = join(survey), join(survey)
    assert first.seed != second.seed
    assert first.item_order != second.item_order
    assert sorted(first.item_order) == sorted(second.item_order)


def test_an_invitation_works_once(invitation, make_reader):
    do_accept_invitation(token=invitation.token, reader=make_reader())
    response = Client().get(join_url(invitation))
    assert response.status_code == 410
    assert "already used" in response.content.decode()
    with pytest.raises(StudyError, match="already used"):
        do_accept_invitation(token=invitation.token, reader=make_reader())


def test_a_reader_opening_their_own_used_link_again_returns_to_their_survey(invitation, make_reader):
    reader = make_reader()
    assignment = do_accept_invitation(token=invitation.token, reader=reader)
    client = Client()
    client.force_login(reader)
    assert client.get(join_url(invitation)).url == reverse("studies:start", args=[assignment.key])


def test_an_expired_invitation_is_refused(invitation):
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(days=31), expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = Client().post(join_url(invitation), SIGNUP)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not get_user_model().objects.filter(username="dr.rossi").exists()


def test_a_revoked_invitation_is_refused_and_a_used_one_cannot_be_revoked(invitation, make_reader):
    do_revoke_invitation(invitation=invitation, actor=None)
    assert Client().get(join_url(invitation)).status_code == 410
    assert AuditEvent.objects.filter(verb="invitation.revoked").count() == 1
    other = do_create_invitations(survey=invitation.survey, actor=None, count=1)[0]
    do_accept_invitation(token=other.token, reader=make_reader())
    with pytest.raises(StudyError, match="already used"):
        do_revoke_invitation(invitation=other, actor=None)


def test_a_signed_in_reader_joins_with_one_click(invitation, make_reader):
    reader = make_reader()
    client = Client()
    client.force_login(reader)
    page = client.get(join_url(invitation))
    assert 'data-testid="join-submit"' in page.content.decode()
    client.post(join_url(invitation))
    assert Assignment.objects.filter(reader=reader, survey=invitation.survey).exists()


def test_joining_twice_leads_to_the_existing_assignment_without_using_the_link(invitation, make_reader, join):
    reader = make_reader()
    assignment = join(invitation.survey, reader)
    client = Client()
    client.force_login(reader)
    response = client.post(join_url(invitation))
    assert response.url == reverse("studies:start", args=[assignment.key])
    invitation.refresh_from_db()
    assert invitation.state == "pending"


def test_staff_cannot_join_as_readers(invitation, admin_user):
    client = Client()
    client.force_login(admin_user)
    assert client.post(join_url(invitation)).status_code == 403
    with pytest.raises(StudyError, match="staff accounts"):
        do_accept_invitation(token=invitation.token, reader=admin_user)


def test_a_closed_survey_cannot_be_joined(invitation):
    do_close_survey(survey=invitation.survey, actor=None)
    assert Client().get(join_url(invitation)).status_code == 410


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"password2": "something-else-77"}, "join-password-error"),
        ({"username": ""}, "join-username-error"),
        ({"username": "bad name!"}, "join-username-error"),
        ({"password1": "123", "password2": "123"}, "join-password-error"),
    ],
)
def test_a_bad_signup_is_shown_again_and_uses_nothing(invitation, changes, field):
    response = Client().post(join_url(invitation), {**SIGNUP, **changes})
    assert response.status_code == 400
    assert f'data-testid="{field}"' in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert not Assignment.objects.exists()


def test_a_username_already_taken_is_refused(invitation, make_reader):
    make_reader("dr.rossi")
    response = Client().post(join_url(invitation), SIGNUP)
    assert response.status_code == 400
    assert not Assignment.objects.exists()


def test_a_made_up_token_is_one_clear_line(db):
    response = Client().get(reverse("studies:join", args=["not-a-real-token"]))
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()


def test_guessing_tokens_is_rate_limited_even_for_a_valid_one(invitation, settings):
    settings.STUDIES_RATE_LIMITS = {**settings.STUDIES_RATE_LIMITS, "invitation_address": (5, 900)}
    client = Client()
    for number in range(5):
        assert client.get(reverse("studies:join", args=[f"guess-{number}"])).status_code == 404
    blocked = client.get(join_url(invitation))
    assert blocked.status_code == 429
    assert "Too many invalid invitation links" in blocked.content.decode()
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert elsewhere.get(join_url(invitation)).status_code == 200


def test_invitations_by_email_are_sent_once_committed(make_survey, django_capture_on_commit_callbacks):
    survey = make_survey()
    with django_capture_on_commit_callbacks(execute=True):
        invitations = do_create_invitations(
            survey=survey, actor=None, emails=["a@example.org", "b@example.org"]
        )
    assert [m.to for m in mail.outbox] == [["a@example.org"], ["b@example.org"]]
    assert invitations[0].token in mail.outbox[0].body
    assert survey.name not in mail.outbox[0].body and survey.model_dataset.name not in mail.outbox[0].body


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"emails": ["not-an-address"]}, "is not an e-mail address"),
        ({"count": 0}, "say how many"),
        ({"count": 501}, "between 1 and 500"),
        ({"count": 1, "expires_in_days": 0}, "1..365 days"),
    ],
)
def test_bad_invitation_requests_are_refused(make_survey, arguments, message):
    survey = make_survey()
    with pytest.raises(StudyError, match=message):
        do_create_invitations(survey=survey, actor=None, **arguments)
    assert not Invitation.objects.exists()


def test_no_invitations_for_a_closed_survey(make_survey):
    survey = make_survey(open_it=True)
    do_close_survey(survey=survey, actor=None)
    with pytest.raises(StudyError, match="closed"):
        do_create_invitations(survey=survey, actor=None, count=1)
