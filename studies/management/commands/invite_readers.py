from django.core.management.base import BaseCommand, CommandError

from projects.commands import acting_user, add_user_argument
from studies.management.commands.create_survey import positive_int
from studies.selectors import survey_by_reference
from studies.services import StudyError, do_create_invitations, invitation_url


class Command(BaseCommand):
    help = "Create invitation links for a survey (one per reader) and print them; with --email, e-mail them."

    def add_arguments(self, parser):
        parser.add_argument("survey", help="Survey name or id")
        parser.add_argument("--readers", type=positive_int, default=0, help="Links without e-mail")
        parser.add_argument(
            "--email", action="append", default=[], help="Address to e-mail a link to (repeat)"
        )
        parser.add_argument("--days", type=positive_int, default=None, help="Days until the links expire")
        add_user_argument(parser)

    def handle(self, *args, survey, readers, email, days, **options):
        found = survey_by_reference(survey, acting_user(options))
        if found is None:
            raise CommandError(f"no survey named {survey!r}")
        try:
            invitations = do_create_invitations(
                survey=found, actor=None, count=readers, emails=email, expires_in_days=days
            )
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        for number, invitation in enumerate(invitations, start=1):
            suffix = f" (e-mailed to {invitation.email})" if invitation.email else ""
            self.stdout.write(f"reader {number}: {invitation_url(invitation)}{suffix}")
