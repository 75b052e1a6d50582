"""Prepare the test identity provider's database: tables, a signing key, people with groups and one client.

python -m tests.accounts.identity_provider.seed CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI
(with IDP_DATABASE set)."""

import io
import os
import sys

# uid -> (given name, surname, password, groups)
PEOPLE = {
    "dr.ferrari": ("Giulia", "Ferrari", "ferrari-pw-6630", ["ct-researchers"]),
    "dr.conti": ("Marco", "Conti", "conti-pw-2294", ["radiology"]),
    "dr.gallo": ("Sara", "Gallo", "gallo-pw-9012", ["ct-study-admins", "radiology"]),
}


def main(client_id: str, client_secret: str, redirect_uri: str, post_logout_uri: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.accounts.identity_provider.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oidc_provider.models import Client, ResponseType

    call_command("migrate", verbosity=0)
    call_command("creatersakey", stdout=io.StringIO())
    for username, (given, surname, password, groups) in PEOPLE.items():
        user = User.objects.create_user(
            username,
            email=f"{username}@hospital.example",
            password=password,
            first_name=given,
            last_name=surname,
        )
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in groups))
    client = Client.objects.create(
        name="Blindread",
        client_type="confidential",
        client_id=client_id,
        client_secret=client_secret,
        jwt_alg="RS256",
        require_consent=False,
        reuse_consent=True,
    )
    client.redirect_uris = [redirect_uri]
    client.post_logout_redirect_uris = [post_logout_uri]
    client.save()
    client.response_types.add(ResponseType.objects.get(value="code"))


if __name__ == "__main__":
    main(*sys.argv[1:5])
