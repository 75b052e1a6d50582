import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from imaging.phantoms import (
    DEFAULT_CT_MATRIX,
    DEFAULT_CT_SLICES,
    DEFAULT_MR_MATRIX,
    DEFAULT_MR_SLICES,
    write_phantoms,
)


class Command(BaseCommand):
    help = (
        "Write procedural abdominal phantoms (contrast and non-contrast CT, T1 in/out-of-phase and T2 MRI) as DICOM "
        "series in the CHAOS layout under OUTDIR; the same seed writes the same files."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "outdir", help="Folder to write CT/, CT_noncontrast/ and MR/ into (created if missing)"
        )
        parser.add_argument("--patients", type=int, required=True, help="Number of patients (folders 1..N)")
        parser.add_argument("--seed", type=int, required=True, help="Seed of every random draw and UID")
        parser.add_argument("--ct-matrix", type=int, default=DEFAULT_CT_MATRIX, help="CT rows and columns")
        parser.add_argument("--mr-matrix", type=int, default=DEFAULT_MR_MATRIX, help="MR rows and columns")
        parser.add_argument("--ct-slices", type=int, default=DEFAULT_CT_SLICES, help="CT slices per series")
        parser.add_argument("--mr-slices", type=int, default=DEFAULT_MR_SLICES, help="MR slices per series")
        parser.add_argument(
            "--progress", action="store_true", help="Show a progress bar even when not on a tty"
        )

    def handle(
        self, *args, outdir, patients, seed, ct_matrix, mr_matrix, ct_slices, mr_slices, progress, **options
    ):
        show = progress or sys.stderr.isatty()
        bars = []

        def advance(done: int, total: int) -> None:
            if not bars:
                bars.append(
                    tqdm(total=total, unit="file", desc="phantoms", file=sys.stderr, disable=not show)
                )
            bars[0].update(done - bars[0].n)

        try:
            summary = write_phantoms(
                outdir,
                patients=patients,
                seed=seed,
                ct_matrix=ct_matrix,
                mr_matrix=mr_matrix,
                ct_slices=ct_slices,
                mr_slices=mr_slices,
                progress=advance,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write under {outdir}: {exc.strerror or exc}") from None
        finally:
            for bar in bars:
                bar.close()
        for patient in summary.patients:
            self.stdout.write(patient.line())
        self.stdout.write(
            f"{summary.files} files for {len(summary.patients)} patient(s) written to {summary.outdir}"
        )
