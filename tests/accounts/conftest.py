"""Fixtures for the sign-in tests: a real OpenLDAP server (tests/accounts/directory_server.py) and a real OpenID
Connect provider (tests/accounts/identity_provider/), each started once per run on a free loopback port."""

import uuid

import pytest

from tests.accounts import directory_server
from tests.accounts.directory_server import ROLE_MAP

LOCAL_BACKEND = "studies.auth.RateLimitedModelBackend"


@pytest.fixture(autouse=True)
def own_cache_namespace(settings):
    """Rate-limit counters of one test never reach another (same cache server, a key prefix of its own)."""
    cache = dict(settings.CACHES["default"])
    cache["KEY_PREFIX"] = f"accounts-{uuid.uuid4().hex}"
    settings.CACHES = {"default": cache}


@pytest.fixture(scope="session")
def directory(tmp_path_factory):
    if not directory_server.available():
        pytest.skip("directory tests need Debian's slapd and ldap-utils (apt-get install slapd ldap-utils)")
    server = directory_server.start(tmp_path_factory.mktemp("slapd"))
    yield server
    directory_server.stop(server)


@pytest.fixture
def directory_sign_in(directory, settings):
    """Sign-in with the seeded directory turned on, as the LDAP_* variables would (settings are per test)."""
    for name, value in directory.settings().items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [LOCAL_BACKEND, "accounts.directory.DirectoryBackend"]
    settings.SSO_ROLE_MAP = ROLE_MAP
    return directory


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory):
    """The test identity provider (tests/accounts/identity_provider/) as a separate gunicorn process."""
    from tests.accounts import identity_provider_server

    server = identity_provider_server.start(tmp_path_factory.mktemp("identity-provider"))
    yield server
    identity_provider_server.stop(server)


@pytest.fixture
def oidc_sign_in(identity_provider, settings):
    """Sign-in with the test identity provider turned on, as the OIDC_* variables would (settings are per test)."""
    for name, value in identity_provider.settings().items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [LOCAL_BACKEND, "accounts.oidc.HospitalOIDCBackend"]
    settings.SSO_ROLE_MAP = ROLE_MAP
    return identity_provider
