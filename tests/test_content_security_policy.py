"""Every page carries a content security policy: the admin, the reports, the API and its documentation page, the
error pages; inline scripts and styles run only with the request's nonce, which enters the header only on a page
that uses it (every other response has the same header on every request), and the reader pages keep their own
stricter policy."""

import re

import pytest
from django.urls import reverse

from studies import roles
from studies.views.base import READER_CSP
from tests.projects.factories import make_member

pytestmark = pytest.mark.django_db


def policy_of(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


@pytest.fixture
def researcher(django_user_model):
    user = django_user_model.objects.create_user("researcher", password="pw-researcher-1")
    make_member(user, roles.RESEARCHER)
    return user


def test_admin_report_api_and_error_pages_all_carry_the_policy(client, admin_user, researcher):
    anonymous = [reverse("admin:login"), "/no-such-page/", "/api/v1/surveys/"]
    for url in anonymous:
        policy = policy_of(client.get(url))
        assert policy["script-src"] == "script-src 'self'" and policy["style-src"] == "style-src 'self'", url
        assert (
            policy["object-src"] == "object-src 'none'"
            and policy["frame-ancestors"] == "frame-ancestors 'none'"
        )
        assert "'unsafe-inline'" not in str(policy) and "'unsafe-eval'" not in str(policy)
    client.force_login(admin_user)
    for url in (
        reverse("admin:index"),
        reverse("admin:imaging_volume_changelist"),
        reverse("admin:imaging_importjob_upload"),
        "/api/v1/volumes/",
    ):
        first, second = client.get(url), client.get(url)
        assert first.status_code == 200, url
        assert policy_of(first)["script-src"] == "script-src 'self'", url
        assert first.headers["Content-Security-Policy"] == second.headers["Content-Security-Policy"], url
    client.force_login(researcher)
    response = client.get(reverse("reports:index"))
    assert response.status_code == 200 and policy_of(response)["style-src"] == "style-src 'self'"


def test_the_nonce_is_new_on_every_request_and_marks_the_api_documentation_pages_inline_code(
    client, admin_user
):
    client.force_login(admin_user)
    pages = [client.get(reverse("api:docs")) for _ in range(2)]
    nonces = []
    for page in pages:
        assert page.status_code == 200
        nonce = re.search(r"'nonce-([^']+)'", policy_of(page)["script-src"]).group(1)
        html = page.content.decode()
        inline = re.findall(r"<(script|style)(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline and all(f'nonce="{nonce}"' in attributes for _, attributes in inline), inline
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_the_reader_pages_keep_their_own_stricter_policy(client):
    response = client.get(reverse("studies:login"))
    assert response.headers["Content-Security-Policy"] == READER_CSP
