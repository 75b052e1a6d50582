"""Build the demo: an admin account, phantom CT and MRI written as DICOM and imported through the normal path.

Idempotent: a second run finds everything in place and changes nothing.
"""

from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from imaging.phantoms import write_phantoms
from imaging.services import import_images

DEMO_ADMIN = ("admin", "blindread-demo")
DEMO_SEED = 2024
# Later parts of the demo, in order; each module has build_demo(*, stdout) and is idempotent.
DEMO_STEPS = ["generation.demo", "studies.demo", "metrics.demo"]
# (folder under the phantom root, dataset name, import options)
DEMO_IMPORTS = [
    ("CT", "Phantom CT (contrast)", {"kind": "ct", "contrast": True}),
    ("CT_noncontrast", "Phantom CT (non-contrast)", {"kind": "ct", "contrast": False}),
    ("MR", "Phantom MRI", {"kind": "mr"}),
]


class Command(BaseCommand):
    help = "Create the demo data (idempotent): admin user, phantom CT/MRI datasets."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=4)
        parser.add_argument("--seed", type=int, default=DEMO_SEED)
        parser.add_argument("--phantom-dir", default=None, help="Where the phantom DICOM files are written")

    def handle(self, *args, patients, seed, phantom_dir, **options):
        if getattr(settings, "SECURE", False):
            raise CommandError("refusing to build demo data with DJANGO_SECURE=1 (production settings)")
        self._ensure_admin()
        root = Path(phantom_dir or settings.VAR_DIR / "demo" / f"phantoms-{patients}-{seed}")
        if not (root / "complete").exists():
            self.stdout.write(f"Writing {patients} phantom patients to {root} ...")
            write_phantoms(root, patients=patients, seed=seed)
            (root / "complete").write_text("phantoms written\n")
        for folder, dataset, options in DEMO_IMPORTS:
            report = import_images(path=root / folder, dataset_name=dataset, **options)
            if report.rejected:
                raise CommandError(f"demo import of {folder} rejected {report.rejected[0]}")
            self.stdout.write(
                f"{dataset}: {len(report.imported)} series imported, {len(report.duplicates)} already there"
            )
        for step in DEMO_STEPS:
            if find_spec(step) is not None:
                import_module(step).build_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _ensure_admin(self):
        username, password = DEMO_ADMIN
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(
                username=username,
                defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.org"},
            )
            if created:
                user.set_password(password)
                user.save()
                self.stdout.write(f"Created the demo admin '{username}' (password '{password}').")
