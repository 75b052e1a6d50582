from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.services import issue_token, revoke_token


class Command(BaseCommand):
    help = "Print a user's API token (created if they have none); with --revoke, delete it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="Delete the user's token")

    def handle(self, *args, username, revoke, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if revoke:
            if revoke_token(user=user):
                self.stdout.write(f"token of {username!r} revoked")
            else:
                self.stdout.write(f"{username!r} had no token")
            return
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive; a token would not work")
        token, _ = issue_token(user=user)
        self.stdout.write(token.key)
