"""Restore the surveys of a study archive into this instance as closed surveys (all or nothing)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from archives.services import ArchiveError, import_now
from projects.commands import add_project_argument, named_project
from studies.models import Survey


class Command(BaseCommand):
    help = "Import a study archive (made by export_study) as closed, read-only surveys."

    def add_arguments(self, parser):
        parser.add_argument("archive", metavar="FILE.zip")
        add_project_argument(parser, "the restored surveys and their datasets (default: the default project)")

    def handle(self, *args, archive, **options):
        project = named_project(options)
        path = Path(archive)
        if not path.is_file():
            raise CommandError(f"{archive}: no such file")
        try:
            with path.open("rb") as handle:
                job = import_now(handle, project=project)
        except ArchiveError as exc:
            raise CommandError(f"{archive}: {exc}") from None
        for survey in (
            Survey.objects.filter(pk__in=job.survey_ids)
            .select_related("archive_origin", "project")
            .order_by("id")
        ):
            self.stdout.write(
                f"imported survey {survey.name!r} into {survey.project.name!r} (closed, {survey.item_count} items; "
                f"{survey.archive_origin.describe()})"
            )
