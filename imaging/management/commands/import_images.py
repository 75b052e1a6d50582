import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from imaging.constants import MR_MODALITIES
from imaging.services import ImportArgumentError, import_images, nifti_patient_pseudonym
from projects.commands import add_project_argument, named_project
from storage import StorageFailed


class TqdmProgress:
    """Progress bars on stderr, one per phase; silent when stderr is not a terminal unless forced."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.phase = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, desc=phase, unit="file", file=sys.stderr, leave=True)
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = "Import DICOM series (folder trees, the CHAOS layout) and NIfTI volumes into a dataset."

    def add_arguments(self, parser):
        parser.add_argument("path", help="A file or a folder")
        parser.add_argument("--dataset", required=True, help="Dataset name (created on first import)")
        parser.add_argument(
            "--kind",
            required=True,
            choices=["ct", "sct", "mr"],
            help="ct: real CT, sct: synthetic CT, mr: MRI",
        )
        parser.add_argument(
            "--modality", choices=MR_MODALITIES, help="MRI modality when the layout does not say"
        )
        contrast = parser.add_mutually_exclusive_group()
        contrast.add_argument("--contrast", dest="contrast", action="store_true", default=None)
        contrast.add_argument("--no-contrast", dest="contrast", action="store_false")
        parser.add_argument(
            "--patient",
            default="",
            help="For NIfTI files: a name for their patient (only its pseudonym is kept); without it each NIfTI "
            "file is a patient of its own",
        )
        parser.add_argument(
            "--progress", action="store_true", help="Show progress bars even when not on a tty"
        )
        add_project_argument(parser, "a dataset this import creates (default: the default project)")

    def handle(self, *args, path, dataset, kind, modality, contrast, patient, progress, **options):
        project = named_project(options)
        bars = TqdmProgress(enabled=progress or sys.stderr.isatty())
        try:
            report = import_images(
                path=path,
                dataset_name=dataset,
                kind=kind,
                modality=modality,
                contrast=contrast,
                progress=bars,
                nifti_pseudonym=nifti_patient_pseudonym(patient),
                project=project,
            )
        except ImportArgumentError as exc:
            raise CommandError(str(exc)) from None
        except StorageFailed as exc:
            # The disk is full (or storage fails): the series being stored left nothing; earlier ones are kept.
            raise CommandError(f"import stopped: {exc} (series imported before it are kept)") from None
        finally:
            bars.close()
        for label in report.imported:
            self.stdout.write(f"imported  {label}")
        for label in report.duplicates:
            self.stdout.write(f"skipped   {label}: already imported")
        for ignored in report.ignored:
            self.stdout.write(f"ignored   {ignored.path}: {ignored.reason}")
        for rejection in report.rejected:
            self.stderr.write(f"rejected  {rejection.path}: {rejection.reason}")
        self.stdout.write(
            f"{len(report.imported)} series imported ({report.slices} slices), {len(report.duplicates)} already "
            f"there, {len(report.rejected)} file(s) rejected, {len(report.ignored)} ignored"
        )
        if report.rejected:
            raise CommandError(f"{len(report.rejected)} file(s) rejected", returncode=2)
