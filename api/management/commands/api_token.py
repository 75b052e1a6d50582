from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.models import ApiToken
from api.selectors import tokens_of
from api.services import TokenRefused, issue_token, revoke_tokens

SCOPES = {"read": ApiToken.Scope.READ, "read-write": ApiToken.Scope.READ_WRITE}


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


class Command(BaseCommand):
    help = (
        "Make a new API token for a user and print it (shown only now: only its fingerprint is kept); "
        "--list shows the user's tokens with their last use; --revoke [PREFIX] deletes them (or the one named)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--scope", choices=sorted(SCOPES), default="read-write", help="default: read-write"
        )
        parser.add_argument(
            "--days", type=int, default=None, help="days the token stays valid (API_TOKEN_DAYS)"
        )
        parser.add_argument("--name", default="", help="what the token is for")
        parser.add_argument("--list", action="store_true", dest="list_tokens", help="list the user's tokens")
        parser.add_argument(
            "--revoke",
            nargs="?",
            const="",
            default=None,
            metavar="PREFIX",
            help="revoke all, or the one named",
        )

    def handle(self, *args, username, scope, days, name, list_tokens, revoke, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if revoke is not None:
            count = revoke_tokens(user=user, prefix=revoke or None)
            if count:
                self.stdout.write(f"{count} token(s) of {username!r} revoked")
            elif revoke:
                self.stdout.write(f"{username!r} has no token starting with {revoke!r}")
            else:
                self.stdout.write(f"{username!r} had no token")
            return
        if list_tokens:
            tokens = tokens_of(user)
            if not tokens:
                self.stdout.write(f"{username!r} has no token")
            for token in tokens:
                self.stdout.write(
                    f"{token.prefix}  {token.get_scope_display():10}  created {_when(token.created_at)}  "
                    f"expires {_when(token.expires_at)}  last used {_when(token.last_used_at)}  {token.name}"
                )
            return
        try:
            issued = issue_token(
                user=user, name=name or "manage.py api_token", scope=SCOPES[scope], days=days
            )
        except TokenRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(issued.key)
