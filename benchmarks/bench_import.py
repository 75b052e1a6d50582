"""Import throughput: slices/s for 512x512 CT, uncompressed and JPEG 2000, through `import_images`.

Usage: python benchmarks/bench_import.py [--patients 2] [--slices 90] [--database-url URL]
Without --database-url it uses a fresh SQLite file in a temporary folder (the laptop default); with one
(e.g. postgres://postgres@127.0.0.1:5432/test) it migrates that database. Each repeat's import is removed again.
Pin to two cores with `taskset -c 0,1` to match the target machine.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe_machine  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2)
    parser.add_argument("--slices", type=int, default=90)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="blindread-bench-"))
    os.environ["BLINDREAD_VAR_DIR"] = str(workdir / "var")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    import pydicom
    from django.conf import settings
    from django.core.management import call_command
    from pydicom.uid import JPEG2000Lossless, generate_uid

    from imaging.models import Dataset
    from imaging.phantoms import write_phantoms
    from imaging.services import import_images
    from storage import delete_stored_files

    call_command("migrate", verbosity=0)
    phantoms = workdir / "phantoms"
    # A fresh seed gives fresh UIDs, so series left by an interrupted earlier run never count as duplicates.
    write_phantoms(
        phantoms, patients=args.patients, seed=time.time_ns() % 2**31, ct_slices=args.slices, mr_slices=8
    )
    plain = phantoms / "CT"
    j2k = workdir / "CT_j2k"
    new_uids = {}
    for path in sorted(plain.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        # A new series UID, or the second import would (rightly) skip the series as already imported.
        ds.SeriesInstanceUID = new_uids.setdefault(ds.SeriesInstanceUID, generate_uid())
        ds.compress(JPEG2000Lossless)
        target = j2k / path.relative_to(plain)
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target)

    print(f"machine: {describe_machine()}")
    print(
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, storage: {settings.MEDIA_ROOT}"
    )
    print(f"repeats: {args.repeat} (median shown)")
    print(f"{'transfer syntax':<24}{'slices':>8}{'seconds':>10}{'slices/s':>10}")
    for label, folder in (("explicit VR LE (raw)", plain), ("JPEG 2000 lossless", j2k)):
        timings = []
        for _ in range(args.repeat):
            name = f"bench {label} {time.time_ns()}"
            started = time.perf_counter()
            report = import_images(path=folder, dataset_name=name, kind="ct", contrast=True)
            timings.append(time.perf_counter() - started)
            assert report.ok and report.slices, report.rejected[:3]
            # Remove what was imported so the next repeat imports the same series again.
            dataset = Dataset.objects.get(name=name)
            for volume in dataset.volumes.all():
                delete_stored_files(list(volume.slices.values_list("pixels", flat=True)))
                volume.slices.all().delete()
                volume.delete()
            dataset.delete()
        elapsed = statistics.median(timings)
        print(f"{label:<24}{report.slices:>8}{elapsed:>10.2f}{report.slices / elapsed:>10.1f}")


if __name__ == "__main__":
    main()
