from django.core.management.base import BaseCommand, CommandError

from generation.volume_export import FORMATS, ExportError, export_volume
from imaging.selectors import dataset_named, volume_by_reference, volumes_of


class Command(BaseCommand):
    help = (
        "Export CT volumes, real or synthetic, as DICOM series (CT Image Storage, ImageType "
        "DERIVED\\SECONDARY, a DerivationDescription naming the source or the checkpoint) or NIfTI (.nii.gz): "
        "one volume (--volume) or every volume of a CT dataset (--dataset, optionally --patient)."
    )

    def add_arguments(self, parser):
        parser.add_argument("outdir", help="Folder to write into (created if missing)")
        parser.add_argument("--format", required=True, choices=FORMATS)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--volume", help="Volume uid")
        which.add_argument("--dataset", help="CT dataset name (real or synthetic)")
        parser.add_argument("--patient", help="With --dataset: only this patient's volumes")

    def handle(self, *args, outdir, format, volume, dataset, patient, **options):
        if volume:
            found = volume_by_reference(volume)
            if found is None:
                raise CommandError(f"no volume with uid or series key {volume!r}")
            volumes = [found]
        else:
            found_dataset = dataset_named(dataset)
            if found_dataset is None:
                raise CommandError(f"no dataset named {dataset!r}")
            volumes = [v for v in volumes_of(found_dataset) if not patient or v.patient == patient]
            if not volumes:
                raise CommandError(
                    f"dataset {dataset!r} has no volumes" + (f" of patient {patient!r}" if patient else "")
                )
        written = 0
        try:
            for item in volumes:
                paths, warnings = export_volume(item, fmt=format, outdir=outdir)
                for warning in warnings:
                    self.stderr.write(f"warning: {warning}")
                written += len(paths)
                self.stdout.write(f"{item.patient} {item.uid}: {len(paths)} file(s) under {paths[0].parent}")
        except (ExportError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{written} file(s) for {len(volumes)} volume(s) written to {outdir}")
