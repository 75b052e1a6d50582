"""Who reaches what: every reader-study URL for anonymous visitors, the reader who owns the assignment, another
reader, a researcher and an admin (admin group, not a superuser)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from studies.selectors import item_at
from studies.services import do_create_invitations
from tests.projects.factories import make_member
from tests.studies.conftest import answer_body

ANONYMOUS, OWNER, OTHER_READER, RESEARCHER, ADMIN = (
    "anonymous",
    "owner",
    "other reader",
    "researcher",
    "admin",
)
ROLES = [ANONYMOUS, OWNER, OTHER_READER, RESEARCHER, ADMIN]
LOGIN = "login"  # a redirect to a sign-in page
OK = 200
NOT_FOUND = 404
FORBIDDEN = 403


@pytest.fixture
def world(make_survey, join, make_reader, django_user_model):
    survey = make_survey(open_it=True)
    owner = join(survey)
    other = join(survey)
    researcher = django_user_model.objects.create_user("researcher", password="pw-res-123", is_staff=True)
    make_member(researcher, "researcher")
    admin = django_user_model.objects.create_user("study-admin", password="pw-adm-123", is_staff=True)
    make_member(admin, "admin")
    users = {OWNER: owner.reader, OTHER_READER: other.reader, RESEARCHER: researcher, ADMIN: admin}
    return survey, owner, users


def client_for(role, users):
    client = Client()
    if role != ANONYMOUS:
        client.force_login(users[role])
    return client


def reader_urls(survey, assignment):
    key = assignment.key
    item = item_at(assignment, 1)
    answer = ("post_json", reverse("studies:answer", args=[key, item.public_id]))
    return {
        "start page": (
            ("get", reverse("studies:start", args=[key])),
            [LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        "item page": (
            ("get", reverse("studies:item", args=[key, 1])),
            [LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        "pixels": (
            ("get", reverse("studies:pixels", args=[key, item.public_id])),
            [LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        "answer": (answer, [FORBIDDEN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
        "review page": (
            ("get", reverse("studies:review", args=[key])),
            [LOGIN, 302, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        "thank-you page": (
            ("get", reverse("studies:thanks", args=[key])),
            [LOGIN, 302, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        "profile": (("get", reverse("studies:profile")), [LOGIN, OK, OK, FORBIDDEN, FORBIDDEN]),
    }


def staff_urls(survey, assignment):
    pk = survey.pk
    item = survey.items.first()
    return {
        "survey list": (("get", reverse("admin:studies_survey_changelist")), [LOGIN, LOGIN, LOGIN, OK, OK]),
        "survey page": (
            ("get", reverse("admin:studies_survey_change", args=[pk])),
            [LOGIN, LOGIN, LOGIN, OK, OK],
        ),
        "add survey": (("get", reverse("admin:studies_survey_add")), [LOGIN, LOGIN, LOGIN, FORBIDDEN, OK]),
        "progress": (
            ("get", reverse("admin:studies_survey_progress", args=[pk])),
            [LOGIN, LOGIN, LOGIN, OK, OK],
        ),
        "invite": (
            ("get", reverse("admin:studies_survey_invite", args=[pk])),
            [LOGIN, LOGIN, LOGIN, FORBIDDEN, OK],
        ),
        "audit": (
            ("post", reverse("admin:studies_survey_audit", args=[pk])),
            [LOGIN, LOGIN, LOGIN, FORBIDDEN, 302],
        ),
        "close": (
            ("post", reverse("admin:studies_survey_close", args=[pk])),
            [LOGIN, LOGIN, LOGIN, FORBIDDEN, 302],
        ),
        "remind": (
            ("post", reverse("admin:studies_survey_remind", args=[pk, assignment.pk])),
            [LOGIN, LOGIN, LOGIN, FORBIDDEN, 302],
        ),
        "item preview": (
            ("get", reverse("admin:studies_item_png", args=[item.pk])),
            [LOGIN, LOGIN, LOGIN, OK, OK],
        ),
        "answers": (("get", reverse("admin:studies_answer_changelist")), [LOGIN, LOGIN, LOGIN, OK, OK]),
        "invitations": (
            ("get", reverse("admin:studies_invitation_changelist")),
            [LOGIN, LOGIN, LOGIN, OK, OK],
        ),
    }


def public_urls(survey, assignment):
    invitation = do_create_invitations(survey=survey, actor=None, count=1)[0]
    join = reverse("studies:join", args=[invitation.token])
    return {
        # Readers land on their list; staff are sent to the admin.
        "home": (("get", reverse("studies:home")), [LOGIN, OK, OK, 302, 302]),
        # Signed-in users are sent on from the sign-in page.
        "sign-in page": (("get", reverse("studies:login")), [OK, 302, 302, 302, 302]),
        # Both readers already joined this survey (sent to their assignment); staff may not join.
        "join link": (("get", join), [OK, 302, 302, FORBIDDEN, FORBIDDEN]),
        "language switch": (("post", reverse("studies:set_language")), [302, 302, 302, 302, 302]),
        "sign out": (("post", reverse("studies:logout")), [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN]),
        "assignments": (
            ("get", reverse("admin:studies_assignment_changelist")),
            [LOGIN, LOGIN, LOGIN, OK, OK],
        ),
        "items": (("get", reverse("admin:studies_item_changelist")), [LOGIN, LOGIN, LOGIN, OK, OK]),
        "reader profiles": (
            ("get", reverse("admin:studies_readerprofile_changelist")),
            [LOGIN, LOGIN, LOGIN, OK, OK],
        ),
        "open": (
            ("post", reverse("admin:studies_survey_open", args=[survey.pk])),
            [LOGIN, LOGIN, LOGIN, FORBIDDEN, 302],
        ),
    }


def request(client, method, url):
    if method == "post_json":
        return client.post(url, data=json.dumps(answer_body()), content_type="application/json")
    return getattr(client, method)(url)


def outcome(response) -> object:
    if response.status_code == 302 and response.url.startswith(("/login/", "/admin/login/")):
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("group", ["reader", "staff", "public"])
def test_access_matrix(world, group):
    survey, owner, users = world
    table = {"reader": reader_urls, "staff": staff_urls, "public": public_urls}[group](survey, owner)
    failures = []
    for name, ((method, url), expected) in table.items():
        for role, wanted in zip(ROLES, expected, strict=True):
            got = outcome(request(client_for(role, users), method, url))
            if got != wanted:
                failures.append(f"{name} as {role}: expected {wanted}, got {got}")
    assert not failures, "\n".join(failures)


def test_a_reader_cannot_reach_another_readers_items_by_id(world):
    survey, owner, users = world
    other_assignment = users[OTHER_READER].assignments.get()
    client = client_for(OWNER, users)
    foreign_item = item_at(other_assignment, 1)
    # The owner's own key with an item id from nowhere, and the other reader's key: both not found.
    assert (
        client.get(reverse("studies:pixels", args=[other_assignment.key, foreign_item.public_id])).status_code
        == 404
    )
    assert client.get(reverse("studies:item", args=[other_assignment.key, 1])).status_code == 404
