"""Write the study archive of one or more surveys to a zip file (runs the export job in this process)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from archives import reporting
from archives.services import ArchiveError, archive_content, export_now
from projects.commands import acting_user, add_user_argument
from reports.management.commands.export_report import write_atomically


class Command(BaseCommand):
    help = "Export surveys (answers, revisions, items as shown, truth, audit, statistics) to one archive zip."

    def add_arguments(self, parser):
        parser.add_argument("surveys", nargs="+", metavar="SURVEY", help="Survey names")
        parser.add_argument("--out", required=True, help="The zip file to write (its folder must exist)")
        parser.add_argument(
            "--sign",
            action="store_true",
            help="Sign the archive's manifest with this site's key (ARCHIVE_SIGNING_KEY, ARCHIVE_SIGNING_KEY_ID)",
        )
        add_user_argument(parser)

    def handle(self, *args, surveys, out, sign, **options):
        user = acting_user(options)
        found, unknown = reporting.surveys_by_name(surveys, user)
        if unknown:
            known = ", ".join(repr(name) for name in reporting.survey_names(user)) or "none"
            raise CommandError(f"unknown survey {', '.join(repr(n) for n in unknown)} (known: {known})")
        path = Path(out)
        if path.is_dir() or not path.parent.is_dir():
            raise CommandError(f"--out {out}: give a file name in an existing folder")
        try:
            job = export_now(surveys=found, sign=sign)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        write_atomically(path, archive_content(job))
        signed = f", signed by key {job.signed_by!r}" if job.signed_by else ""
        self.stdout.write(f"wrote {path} ({job.result['bytes']} bytes, sha256 {job.archive_sha256}{signed})")
