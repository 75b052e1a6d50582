"""A second factor for staff (ACCOUNTS_SECOND_FACTOR_REQUIRED): enrolment with a QR code drawn here, codes
computed by tests/accounts/totp.py, recovery codes kept hashed and good once, readers with one factor, the admin
site and the API's session refused until the factor is given."""

import base64
import re
import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import RecoveryCode, RecoveryCodeDevice, hash_recovery_code
from audit.models import AuditEvent
from tests.accounts.totp import totp

pytestmark = pytest.mark.django_db
PASSWORD = "pw-researcher-5521"


@pytest.fixture
def required(settings):
    settings.ACCOUNTS_SECOND_FACTOR_REQUIRED = True


@pytest.fixture
def researcher(django_user_model):
    user = django_user_model.objects.create_user("dr.research", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="researcher"))
    return user


def sign_in(client, username="dr.research", password=PASSWORD):
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content[:300]
    return response


def enrol(client) -> tuple[str, list[str]]:
    """Enrol through the pages as a person would; returns the key and the recovery codes shown."""
    page = client.get("/account/second-factor/enrol/?next=/reports/").content.decode()
    secret = re.search(r'data-testid="enrol-secret">([A-Z2-7]+)<', page).group(1)
    shown = client.post(
        "/account/second-factor/enrol/?next=/reports/", {"code": totp(secret), "next": "/reports/"}
    )
    codes = re.findall(r"<li><code>([A-Z2-7-]+)</code></li>", shown.content.decode())
    return secret, codes


def test_staff_without_an_authenticator_are_sent_to_enrol_and_the_page_draws_its_own_qr_code(
    client, required, researcher
):
    sign_in(client)
    response = client.get("/reports/")
    assert (
        response.status_code == 302
        and response["Location"] == "/account/second-factor/verify/?next=%2Freports%2F"
    )
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith("/account/second-factor/enrol/")
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert re.search(
        r'<div class="qr" data-testid="enrol-qr"><svg[^>]*xmlns="http://www.w3.org/2000/svg"', html
    )
    assert "http://" not in html.split('data-testid="enrol-qr"')[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )  # nothing to fetch from anywhere
    device = TOTPDevice.objects.get(user=researcher, confirmed=False)
    secret = re.search(r'data-testid="enrol-secret">([A-Z2-7]+)<', html).group(1)
    assert device.config_url.startswith("otpauth://totp/Blindread%3Adr.research?secret=" + secret)
    # Reloading shows the same key; a wrong code enrols nothing.
    assert secret in client.get("/account/second-factor/enrol/").content.decode()
    wrong = client.post(
        "/account/second-factor/enrol/", {"code": "000000" if totp(secret) != "000000" else "111111"}
    )
    assert b'data-testid="second-factor-error"' in wrong.content
    assert client.get("/reports/").status_code == 302


def test_enrolment_shows_ten_recovery_codes_once_and_stores_only_their_hashes(client, required, researcher):
    sign_in(client)
    secret, codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(user=researcher).confirmed
    assert client.get("/reports/").status_code == 200  # this session has given its second factor
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_recoverycode")
        stored = str(cursor.fetchall())
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
        assert hash_recovery_code(code) in stored
    assert RecoveryCode.objects.filter(device__user=researcher).count() == 10
    # The page that lists them later only counts them.
    left = client.get("/account/second-factor/recovery-codes/").content.decode()
    assert "10 unused recovery codes left." in left and codes[0] not in left
    verbs = set(AuditEvent.objects.filter(object_id=str(researcher.pk)).values_list("verb", flat=True))
    assert {"second_factor.enrolled", "second_factor.recovery_codes_issued"} <= verbs


def test_the_next_sign_in_asks_for_a_code_and_a_recovery_code_works_once(client, required, researcher):
    sign_in(client)
    secret, codes = enrol(client)
    client.logout()
    sign_in(client)
    assert client.get("/reports/")["Location"].startswith("/account/second-factor/verify/")
    assert client.get("/admin/")["Location"].startswith("/account/second-factor/verify/")
    # The code of the step just used for enrolment is not accepted twice; the next step's is.
    response = client.post("/account/second-factor/verify/", {"code": totp(secret, at=time.time() + 30)})
    assert response.status_code == 302 and client.get("/reports/").status_code == 200
    client.logout()
    sign_in(client)
    response = client.post("/account/second-factor/verify/?next=/reports/", {"code": codes[3].lower()})
    assert response.status_code == 302 and response["Location"] == "/reports/"
    assert AuditEvent.objects.filter(verb="second_factor.recovery_code_used", actor=researcher).count() == 1
    client.logout()
    sign_in(client)
    again = client.post("/account/second-factor/verify/", {"code": codes[3]})
    assert again.status_code == 200 and b'data-testid="second-factor-error"' in again.content
    assert client.get("/reports/").status_code == 302


def test_readers_sign_in_with_one_factor(client, required, django_user_model):
    reader = django_user_model.objects.create_user("dr.reader", password=PASSWORD)
    reader.groups.add(Group.objects.get(name="reader"))
    sign_in(client, "dr.reader")
    assert client.get("/").status_code == 200


def test_without_the_setting_staff_sign_in_with_one_factor(client, researcher, settings):
    settings.ACCOUNTS_SECOND_FACTOR_REQUIRED = False
    sign_in(client)
    assert client.get("/reports/").status_code == 200


def test_the_api_refuses_a_session_without_its_second_factor_but_not_a_token(client, required, researcher):
    from api.services import issue_token

    sign_in(client)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "confirm this sign-in with your second factor in the browser first"
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user=researcher).key}")
    assert token_client.get("/api/v1/me/").status_code == 200
    enrol(client)
    assert client.get("/api/v1/me/").status_code == 200


def test_a_garbage_code_is_refused_in_one_line(client, required, researcher):
    sign_in(client)
    enrol(client)
    client.logout()
    sign_in(client)
    for garbage in ("", "   ", "'; DROP TABLE x; --", "1" * 500, "\u00e9\u00e9\u00e9"):
        response = client.post("/account/second-factor/verify/", {"code": garbage})
        assert response.status_code == 200 and b'data-testid="second-factor-error"' in response.content
    assert client.get("/reports/").status_code == 302


def test_the_tests_codes_match_rfc_6238s_published_example():
    # RFC 6238, appendix B: SHA-1 secret "12345678901234567890", T = 59 s -> 94287082 (8 digits).
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp(secret, at=59, digits=8) == "94287082"
    assert totp(secret, at=1111111109, digits=8) == "07081804"


def test_a_superuser_resets_a_lost_second_factor_and_the_account_enrols_again(client, required, researcher):
    sign_in(client)
    enrol(client)
    superuser = type(researcher).objects.create_superuser("root", "root@example.org", "pw-root-1")
    admin_client = Client()
    admin_client.force_login(superuser)
    device = RecoveryCodeDevice.objects.get(user=researcher)
    with override_settings(
        ACCOUNTS_SECOND_FACTOR_REQUIRED=False
    ):  # the superuser's own factor is not the point
        listing = admin_client.get("/admin/accounts/recoverycodedevice/").content.decode()
        assert "dr.research" in listing and ">10<" in listing
        response = admin_client.post(
            "/admin/accounts/recoverycodedevice/", {"action": "reset", "_selected_action": [device.pk]}
        )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=researcher).exists()
    assert not RecoveryCodeDevice.objects.filter(user=researcher).exists()
    assert AuditEvent.objects.filter(verb="second_factor.reset", actor=superuser).count() == 1
    client.logout()
    sign_in(client)
    assert client.get(client.get("/reports/")["Location"])["Location"].startswith(
        "/account/second-factor/enrol/"
    )


def test_the_admin_never_shows_an_accounts_authenticator_key(client, required, researcher, settings):
    sign_in(client)
    secret, _ = enrol(client)
    device = TOTPDevice.objects.get(user=researcher)
    superuser = type(researcher).objects.create_superuser("root", "root@example.org", "pw-root-1")
    admin_client = Client()
    admin_client.force_login(superuser)
    settings.ACCOUNTS_SECOND_FACTOR_REQUIRED = False  # the superuser's own factor is not the point here
    page = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    assert page and device.key not in page and secret not in page
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403
