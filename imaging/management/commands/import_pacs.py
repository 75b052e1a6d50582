import datetime

from django.core.management.base import BaseCommand, CommandError

from imaging.constants import MR_MODALITIES
from imaging.pacs.client import PacsError, SearchQuery
from imaging.pacs.services import create_pacs_import_job, search_pacs
from imaging.services import ImportArgumentError
from jobs.cli import wait_for


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"dates are YYYY-MM-DD, not {text!r}") from None


class Command(BaseCommand):
    help = (
        "Import series from the site's PACS over DICOMweb (PACS_DICOMWEB_URL): search by one StudyInstanceUID, "
        "accession numbers or a range of study dates (QIDO-RS), then retrieve the series found (WADO-RS) as an import "
        "job, de-identified before anything is stored."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--study-uid", help="One StudyInstanceUID")
        which.add_argument("--accession", action="append", help="An accession number (repeatable)")
        which.add_argument("--from", dest="date_from", help="First study date, YYYY-MM-DD (with --to)")
        parser.add_argument("--to", dest="date_to", help="Last study date, YYYY-MM-DD")
        parser.add_argument("--series-modality", default="", help="Only series of this modality (CT, MR)")
        parser.add_argument(
            "--list", dest="list_only", action="store_true", help="List the series found and import nothing"
        )
        parser.add_argument("--dataset", help="Dataset name (created on first import)")
        parser.add_argument("--kind", choices=["ct", "sct", "mr"])
        parser.add_argument("--modality", choices=MR_MODALITIES, help="The MRI modality of the series")
        contrast = parser.add_mutually_exclusive_group()
        contrast.add_argument("--contrast", dest="contrast", action="store_true", default=None)
        contrast.add_argument("--no-contrast", dest="contrast", action="store_false")
        parser.add_argument("--wait", action="store_true", help="Follow the job until it ends")

    def handle(self, *args, study_uid, accession, date_from, date_to, series_modality, list_only, dataset, kind,
               modality, contrast, wait, **options):  # fmt: skip
        if date_to and not date_from:
            raise CommandError("--to needs --from")
        query = SearchQuery(
            study_uid=study_uid or "",
            accessions=tuple(accession or ()),
            date_from=_date(date_from) if date_from else None,
            date_to=_date(date_to) if date_to else None,
            modality=series_modality.upper(),
        )
        try:
            found = search_pacs(query)
        except PacsError as exc:
            raise CommandError(str(exc)) from None
        for number, series in enumerate(found, start=1):
            self.stdout.write(
                f"{number:3d}  {series.study_date or '--------'}  {series.modality:3s}  series "
                f"{series.series_number or '?'}  {series.instances} images  {series.description}"
            )
        self.stdout.write(f"{len(found)} series found")
        if list_only:
            return
        if not found:
            raise CommandError("nothing to import")
        if not dataset or not kind:
            raise CommandError("--dataset and --kind are needed to import (or --list to only look)")
        try:
            job = create_pacs_import_job(
                series=[(s.study_uid, s.series_uid) for s in found],
                dataset_name=dataset,
                kind=kind,
                modality=modality,
                contrast=contrast,
                actor=None,
            )
        except ImportArgumentError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"import job #{job.pk} queued ({len(found)} series)")
        if wait:
            job = wait_for(job, report=self.stdout.write)
            if job.error:
                raise CommandError(job.error)
