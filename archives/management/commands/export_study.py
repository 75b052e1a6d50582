"""Write the study archive of one or more surveys to a zip file (runs the export job in this process)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from archives.services import ArchiveError, archive_content, export_now
from reports import selectors
from reports.management.commands.export_report import write_atomically


class Command(BaseCommand):
    help = "Export surveys (answers, revisions, items as shown, truth, audit, statistics) to one archive zip."

    def add_arguments(self, parser):
        parser.add_argument("surveys", nargs="+", metavar="SURVEY", help="Survey names")
        parser.add_argument("--out", required=True, help="The zip file to write (its folder must exist)")

    def handle(self, *args, surveys, out, **options):
        found, unknown = selectors.surveys_by_name(surveys)
        if unknown:
            known = ", ".join(repr(name) for name in selectors.survey_names()) or "none"
            raise CommandError(f"unknown survey {', '.join(repr(n) for n in unknown)} (known: {known})")
        path = Path(out)
        if path.is_dir() or not path.parent.is_dir():
            raise CommandError(f"--out {out}: give a file name in an existing folder")
        try:
            job = export_now(surveys=found)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        write_atomically(path, archive_content(job))
        self.stdout.write(f"wrote {path} ({job.result['bytes']} bytes, sha256 {job.archive_sha256})")
