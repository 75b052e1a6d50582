from django.core.management.base import BaseCommand, CommandError

from generation.inference import resolve_device
from generation.selectors import checkpoint_by_name
from generation.services import GenerationError, generate_now, start_generation
from imaging.selectors import dataset_named
from jobs.cli import wait_for
from jobs.models import JobStatus
from jobs.services import JobWaitTimeout, progress_of


class Command(BaseCommand):
    help = (
        "Make synthetic CT from an MRI dataset with a registered checkpoint: queues a task on the gpu queue "
        "(--wait prints progress until it finishes) or runs here with --foreground. Running it again resumes "
        "or extends the same job; slices already made are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", required=True, help="Registered checkpoint name")
        parser.add_argument("--mri-dataset", required=True, help="MRI dataset name")
        parser.add_argument(
            "--output-dataset", help="Synthetic CT dataset name (default '<checkpoint> synthetic CT')"
        )
        parser.add_argument(
            "--z-tolerance", type=float, help="Pairing tolerance in mm (default half the spacing)"
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", help="Wait for the worker and print progress")
        mode.add_argument("--foreground", action="store_true", help="Run in this process instead of a worker")
        parser.add_argument("--device", help="With --foreground: auto, cpu, cuda, cuda:N")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between progress lines (--wait)"
        )

    def handle(
        self,
        *args,
        checkpoint,
        mri_dataset,
        output_dataset,
        z_tolerance,
        wait,
        foreground,
        device,
        interval,
        **o,
    ):
        found = checkpoint_by_name(checkpoint)
        if found is None:
            raise CommandError(f"no checkpoint named {checkpoint!r} (see the admin or register_checkpoint)")
        dataset = dataset_named(mri_dataset)
        if dataset is None:
            raise CommandError(f"no dataset named {mri_dataset!r}")
        if device and not foreground:
            raise CommandError("--device applies to --foreground runs; workers use GENERATION_DEVICE")
        if device:
            try:
                resolve_device(device)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        try:
            job = start_generation(
                checkpoint=found,
                mri_dataset=dataset,
                output_dataset_name=output_dataset,
                z_tolerance_mm=z_tolerance,
                enqueue=not foreground,
            )
            if foreground:
                last = []

                def report(current):
                    line = progress_of(current).line()
                    if line != (last[-1] if last else None):
                        self.stdout.write(line)
                        last.append(line)

                result = generate_now(job, device=device, report=report)
                if result is None:
                    raise CommandError(f"job #{job.pk} is being run by another worker ({job.task_id})")
                job = result
            else:
                self.stdout.write(f"generation job #{job.pk} queued on the gpu queue")
                if wait:
                    job = wait_for(job, report=self.stdout.write, interval_s=interval)
        except (GenerationError, JobWaitTimeout) as exc:
            raise CommandError(str(exc)) from None
        if job.unpaired_count:
            self.stdout.write(f"{job.unpaired_count} MRI slice(s) had no partner, for example:")
            for item in job.unpaired[:10]:
                self.stdout.write(
                    f"  patient {item['patient']} {item['modality']} #{item['index']} z={item['z_mm']}: {item['reason']}"
                )
        if job.is_finished:
            self.stdout.write(f"job #{job.pk}: {job.status_label}: {job.error or job.message}")
            if job.status == JobStatus.FAILED:
                raise CommandError(f"generation failed: {job.error}")
