"""Sign-in with the hospital's identity provider through a real OpenID Connect provider (the test identity
provider, tests/accounts/identity_provider/, a separate process): the authorization-code redirect dance with the
provider's own sign-in form, claims to roles, signing out at both ends, and a tampered ID token refused.

Blindread runs in the test client (http://testserver); the browser's side of the provider is a requests session
that follows the provider's redirects until one points back at Blindread."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model

from accounts.models import ExternalIdentity
from tests.accounts.identity_provider.seed import PEOPLE
from tests.accounts.identity_provider_server import SITE

pytestmark = pytest.mark.django_db


class ProviderBrowser:
    """The browser's visits to the provider: its cookies, its sign-in form, its redirects."""

    def __init__(self):
        self.session = requests.Session()

    def follow(self, url: str) -> requests.Response:
        """GET url and follow the provider's redirects; stop at a page, or at a redirect back to Blindread."""
        response = self.session.get(url, allow_redirects=False, timeout=20)
        while response.is_redirect and not response.headers["Location"].startswith(SITE):
            response = self.session.get(
                urljoin(response.url, response.headers["Location"]), allow_redirects=False, timeout=20
            )
        return response

    def sign_in(self, login_page: requests.Response, username: str, password: str) -> requests.Response:
        assert "Test identity provider" in login_page.text
        query = dict(parse_qsl(urlsplit(login_page.url).query))
        response = self.session.post(
            login_page.url.split("?")[0],
            data={
                "username": username,
                "password": password,
                "next": query.get("next", ""),
                "csrfmiddlewaretoken": self.session.cookies["csrftoken"],
            },
            headers={"Referer": login_page.url},
            allow_redirects=False,
            timeout=20,
        )
        assert response.is_redirect, response.text[:500]
        return self.follow(urljoin(response.url, response.headers["Location"]))


def back_at_blindread(response: requests.Response) -> str:
    assert response.is_redirect and response.headers["Location"].startswith(SITE), response.text[:500]
    return response.headers["Location"][len(SITE) :]


def sign_in_through_provider(client, browser: ProviderBrowser, username: str, *, next_url: str = ""):
    start = client.get("/account/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    page = browser.follow(start["Location"])
    if not page.is_redirect:  # the provider asks who this is (no session there yet)
        page = browser.sign_in(page, username, PEOPLE[username][2])
    return client.get(back_at_blindread(page))


def test_a_researcher_signs_in_through_the_provider_and_gets_the_role_its_groups_claim(client, oidc_sign_in):
    for path in ("/login/", "/admin/login/"):
        login_page = client.get(path).content.decode()
        assert 'data-testid="login-oidc"' in login_page and "Sign in with the hospital account" in login_page
    done = sign_in_through_provider(client, ProviderBrowser(), "dr.ferrari")
    assert done.status_code == 302 and done["Location"] == "/"
    user = get_user_model().objects.get(username="dr.ferrari")
    assert (user.first_name, user.email) == ("Giulia", "dr.ferrari@hospital.example")
    assert set(user.groups.values_list("name", flat=True)) == {"researcher"} and user.is_staff
    assert not user.has_usable_password()
    identity = ExternalIdentity.objects.get(user=user)
    assert identity.provider == "oidc" and identity.subject  # the provider's `sub`
    assert client.get("/").url == "/reports/"
    assert client.get("/reports/").status_code == 200


def test_a_reader_and_a_study_admin_get_their_roles_and_a_second_sign_in_finds_the_same_account(
    client, oidc_sign_in
):
    browser = ProviderBrowser()
    assert sign_in_through_provider(client, browser, "dr.conti").status_code == 302
    conti = get_user_model().objects.get(username="dr.conti")
    assert set(conti.groups.values_list("name", flat=True)) == {"reader"} and not conti.is_staff
    home = client.get("/")
    assert home.status_code == 200 and "studies/home.html" in [t.name for t in home.templates]
    client.logout()
    assert sign_in_through_provider(client, browser, "dr.conti").status_code == 302  # the provider remembers
    assert get_user_model().objects.filter(username="dr.conti").count() == 1
    client.logout()
    assert (
        sign_in_through_provider(client, ProviderBrowser(), "dr.gallo", next_url="/admin/").status_code == 302
    )
    gallo = get_user_model().objects.get(username="dr.gallo")
    assert set(gallo.groups.values_list("name", flat=True)) == {"admin", "reader"} and gallo.is_staff
    assert client.get("/admin/").status_code == 200


def test_signing_out_ends_the_session_here_and_at_the_provider(client, oidc_sign_in):
    browser = ProviderBrowser()
    assert sign_in_through_provider(client, browser, "dr.conti").status_code == 302
    page = client.get("/").content.decode()
    assert 'action="/account/oidc/logout/"' in page  # the sign-out button ends the provider's session too
    out = client.post("/account/oidc/logout/")
    assert out.status_code == 302 and out["Location"].startswith(f"{oidc_sign_in.issuer}/end-session?")
    assert client.get("/").status_code == 302  # signed out here
    assert back_at_blindread(browser.follow(out["Location"])) == "/login/"
    # Signed out at the provider too: a new sign-in asks for the password again.
    start = client.get("/account/oidc/authenticate/")
    page = browser.follow(start["Location"])
    assert page.status_code == 200 and "Test identity provider" in page.text


class TamperingTokenProxy:
    """Stands between Blindread and the provider's token endpoint and changes the ID token's claims (keeping its
    signature), as someone on the way might."""

    def __init__(self, token_endpoint: str):
        self.token_endpoint = token_endpoint
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = requests.post(
                    outer.token_endpoint,
                    data=body,
                    headers={"Content-Type": self.headers["Content-Type"]},
                    timeout=20,
                )
                tokens = answer.json()
                tokens["id_token"] = outer.tamper(tokens["id_token"])
                payload = json.dumps(tokens).encode()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def tamper(id_token: str) -> str:
        header, payload, signature = id_token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = "1"  # another person of the provider
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"{header}.{forged}.{signature}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_tampered_id_token_is_refused(client, oidc_sign_in, settings):
    with TamperingTokenProxy(settings.OIDC_OP_TOKEN_ENDPOINT) as proxy:
        settings.OIDC_OP_TOKEN_ENDPOINT = proxy.url
        done = sign_in_through_provider(client, ProviderBrowser(), "dr.ferrari")
    assert done.status_code == 302 and done["Location"] == "/login/?sso=failed"
    assert not get_user_model().objects.filter(username="dr.ferrari").exists()
    assert client.get("/").status_code == 302  # not signed in
    page = client.get(done["Location"]).content.decode()
    assert 'data-testid="login-sso-failed"' in page


def test_a_provider_account_never_takes_over_a_local_account_of_the_same_name(
    client, oidc_sign_in, django_user_model
):
    local = django_user_model.objects.create_user(
        "dr.conti", password="local-pw-77", email="local@example.org"
    )
    done = sign_in_through_provider(client, ProviderBrowser(), "dr.conti")
    assert done["Location"] == "/login/?sso=failed"
    local.refresh_from_db()
    assert local.email == "local@example.org" and not ExternalIdentity.objects.exists()


def test_the_provider_pages_answer_404_while_the_hospital_sign_in_is_off(client, settings):
    settings.OIDC_ENABLED = False
    assert client.get("/account/oidc/authenticate/").status_code == 404
    assert client.get("/account/oidc/callback/?code=x&state=y").status_code == 404
    assert b"login-oidc" not in client.get("/login/").content
