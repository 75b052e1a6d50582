from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from imaging.phi import scan


class Command(BaseCommand):
    help = (
        "Search the database, the storage tree and, with --file, exports for identifying strings (a patient's name, "
        "ID, birth date, institution, accession number) and for identifying DICOM attributes. Exit status 1 when "
        "anything is found."
    )

    def add_arguments(self, parser):
        parser.add_argument("--value", action="append", default=[], help="A string to look for (repeatable)")
        parser.add_argument(
            "--file",
            action="append",
            default=[],
            help="An export (a file or a folder) to search too (repeatable)",
        )
        parser.add_argument("--no-database", action="store_true", help="Leave the database out")
        parser.add_argument("--no-storage", action="store_true", help="Leave the storage tree out")

    def handle(self, *args, value, file, no_database, no_storage, **options):
        missing = [path for path in file if not Path(path).exists()]
        if missing:
            raise CommandError(f"{missing[0]} does not exist")
        report = scan(value, exports=file, database=not no_database, storage=not no_storage)
        for finding in report.findings:
            self.stdout.write(finding)
        searched = f"{report.tables} table(s), {report.stored_files} stored file(s), {report.export_files} export file(s)"
        if report.findings:
            raise CommandError(f"{len(report.findings)} finding(s) in {searched}", returncode=1)
        self.stdout.write(f"no PHI found in {searched}")
