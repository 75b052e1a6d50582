"""The test identity provider: a small Django project running django-oidc-provider, started by the OpenID Connect
sign-in tests as a separate process on a free loopback port (tests/accounts/conftest.py). It stands in for the
hospital's identity provider in tests only; it is never part of the product."""
