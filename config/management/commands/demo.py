"""Build the demo (idempotent): an admin account, phantom CT and MRI imported through the normal path, the paper's
four demo models and their synthetic CT, their metrics, reader studies with simulated readers whose skill follows each
model's realism, the machine observer (queued for the worker) and reports.

A second run finds everything in place and changes nothing. It lives in `config`, above every app, because it
uses them all.
"""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from generation import demo as generation_demo
from imaging import demo as imaging_demo
from imaging.selectors import dataset_named
from metrics import demo as metrics_demo
from reports import demo as reports_demo
from studies import demo as studies_demo

DEMO_ADMIN = ("admin", "blindread-demo")
DEMO_SEED = 2024


class Command(BaseCommand):
    help = "Create the demo data (idempotent): admin user, phantom CT/MRI datasets, models, surveys, reports."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=4)
        parser.add_argument("--seed", type=int, default=DEMO_SEED)
        parser.add_argument("--phantom-dir", default=None, help="Where the phantom DICOM files are written")

    def handle(self, *args, patients, seed, phantom_dir, **options):
        if getattr(settings, "SECURE", False):
            raise CommandError("refusing to build demo data with DJANGO_SECURE=1 (production settings)")
        self._ensure_admin()
        root = Path(phantom_dir or settings.VAR_DIR / "demo" / f"phantoms-{patients}-{seed}")
        try:
            imaging_demo.build_demo(stdout=self.stdout, root=root, patients=patients, seed=seed)
        except imaging_demo.DemoImportFailed as exc:
            raise CommandError(str(exc)) from None
        generation_demo.build_demo(stdout=self.stdout)
        metrics_demo.build_demo(stdout=self.stdout)
        models = [dataset_named(model.output_dataset) for model in generation_demo.DEMO_MODELS]
        studies_demo.build_demo(
            stdout=self.stdout,
            models=[m for m in models if m is not None] or None,
            skill_of=metrics_demo.reader_skill,
        )
        reports_demo.build_reports(stdout=self.stdout)
        metrics_demo.build_observers(stdout=self.stdout)
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
