from django.core.management.base import BaseCommand, CommandError

from projects.commands import acting_user, add_user_argument
from studies.selectors import survey_by_reference
from studies.services import do_audit_survey


class Command(BaseCommand):
    help = (
        "Fetch every item of a survey as a reader would and fail (non-zero exit) on any difference between real "
        "and synthetic items: URLs, ids, HTML/JS, headers, dimensions, dtype, payload size, pixel tells."
    )

    def add_arguments(self, parser):
        parser.add_argument("survey", help="Survey name or id")
        add_user_argument(parser)

    def handle(self, *args, survey, **options):
        found = survey_by_reference(survey, acting_user(options))
        if found is None:
            raise CommandError(f"no survey named {survey!r}")
        report = do_audit_survey(survey=found, actor=None)
        self.stdout.write(report.text())
        if not report.passed:
            raise CommandError(
                f"blinding audit of {found.name!r} failed with {len(report.findings)} leak(s); first: "
                f"{report.findings[0]}"
            )
