"""Starts and stops the test identity provider (tests/accounts/identity_provider/: django-oidc-provider in a small
Django project) as its own gunicorn process on a free loopback port, with a database seeded for one client:
Blindread as the test client sees it (http://testserver)."""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.accounts.directory_server import free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "blindread-test"
CLIENT_SECRET = "client-secret-for-the-test-provider-only"
# Where the provider sends the browser back: the test client's host.
SITE = "http://testserver"
REDIRECT_URI = f"{SITE}/account/oidc/callback/"
POST_LOGOUT_URI = f"{SITE}/login/"


@dataclass
class IdentityProvider:
    url: str
    process: subprocess.Popen

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    def settings(self) -> dict:
        """The Django settings that point the sign-in at this provider (as OIDC_* variables would)."""
        from accounts.sso_settings import oidc_settings

        values = oidc_settings(
            {
                "OIDC_RP_CLIENT_ID": CLIENT_ID,
                "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
                "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize",
                "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token",
                "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo",
                "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/jwks",
                "OIDC_OP_LOGOUT_ENDPOINT": f"{self.issuer}/end-session",
            }
        )
        return {**values, "OIDC_OP_ISSUER": self.issuer}


def start(folder: Path) -> IdentityProvider:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "IDP_DATABASE": str(folder / "idp.sqlite3"),
        "IDP_URL": url,
        "DJANGO_SETTINGS_MODULE": "tests.accounts.identity_provider.settings",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    seed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.accounts.identity_provider.seed",
            CLIENT_ID,
            CLIENT_SECRET,
            REDIRECT_URI,
        ]
        + [POST_LOGOUT_URI],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if seed.returncode:
        raise RuntimeError(f"the test identity provider could not be prepared: {seed.stderr[-2000:]}")
    log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115  (closed by stop through the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tests.accounts.identity_provider.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the test identity provider stopped: {(folder / 'gunicorn.log').read_text()[-2000:]}"
            )
        try:
            if requests.get(f"{url}/openid/.well-known/openid-configuration", timeout=2).status_code == 200:
                return IdentityProvider(url=url, process=process)
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the test identity provider did not answer within 60 s")


def stop(server: IdentityProvider) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
