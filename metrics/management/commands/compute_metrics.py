"""Queue (or run) the image-distribution metrics of a model against a real CT dataset."""

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from metrics.models import MetricsJob
from metrics.services import MetricsArgumentError, create_metrics_job, run_metrics_job


class Command(BaseCommand):
    help = (
        "Compute FID, KID, KL (256 and 3 bins), histogram correlation/intersection and the spectral score of a "
        "model (a synthetic CT dataset) per axial layer, each normalised by a real-vs-real baseline."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="Name of the synthetic CT dataset (the model)")
        parser.add_argument("--real-dataset", required=True, help="Name of the real CT dataset")
        parser.add_argument(
            "--max-per-layer",
            type=int,
            default=settings.METRICS_MAX_PER_LAYER,
            help="Cap on slices drawn per layer and set (default: all of the model's slices)",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the held-out split and the samples")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--wait", action="store_true", help="Follow the queued job until it finishes")
        how.add_argument(
            "--inline", action="store_true", help="Compute in this process instead of on a worker"
        )
        parser.add_argument(
            "--timeout", type=float, default=None, help="With --wait: give up waiting after this many seconds"
        )

    def handle(self, *args, model, real_dataset, max_per_layer, seed, wait, inline, timeout, **options):
        try:
            job = create_metrics_job(
                model_name=model,
                real_dataset_name=real_dataset,
                max_per_layer=max_per_layer,
                seed=seed,
                queue=not inline,
            )
        except MetricsArgumentError as exc:
            raise CommandError(str(exc)) from None
        if inline:
            job = run_metrics_job(job.pk)
        elif wait:
            job = self._follow(job, timeout)
        else:
            self.stdout.write(
                f"Metrics job #{job.pk} queued ({job.model} vs {job.real_dataset}); "
                "follow it in the admin (Metrics -> Metrics jobs) or run again with --wait."
            )
            return
        self._report(job)

    def _follow(self, job: MetricsJob, timeout: float | None) -> MetricsJob:
        """Show the job's progress (a bar on a terminal, else a line per change) until it finishes."""
        began = time.monotonic()
        bar = (
            tqdm(total=1, desc=f"metrics #{job.pk}", unit="slice", file=sys.stderr)
            if sys.stderr.isatty()
            else None
        )
        last_line = ""
        try:
            while True:
                job.refresh_from_db()
                line = f"metrics #{job.pk} {job.get_status_display()}: {job.done}/{job.total} slices; {job.message}"
                if bar is not None:
                    bar.total = max(job.total, 1)
                    bar.n = job.total if job.is_finished else job.done
                    bar.set_postfix_str(job.message[:60], refresh=True)
                elif line != last_line:
                    self.stdout.write(line)
                    last_line = line
                if job.is_finished:
                    return job
                if timeout is not None and time.monotonic() - began > timeout:
                    raise CommandError(
                        f"metrics job #{job.pk} still {job.status} after {timeout:g} s "
                        f"({job.done}/{job.total} slices); is a worker running on the default queue?"
                    )
                time.sleep(0.5)
        finally:
            if bar is not None:
                bar.close()

    def _report(self, job: MetricsJob) -> None:
        if job.status == MetricsJob.Status.FAILED:
            raise CommandError(f"metrics job #{job.pk} failed: {job.message}")
        self.stdout.write(f"Metrics job #{job.pk} done: {job.message}")
        for result in job.results.filter(layer=0).order_by("metric"):
            if result.value is None:
                self.stdout.write(f"  {result.get_metric_display():<26} {result.note}")
                continue
            normalised = "n/a" if result.normalised is None else f"{result.normalised:.4g}"
            self.stdout.write(
                f"  {result.get_metric_display():<26} {result.value:.4g}  baseline {result.baseline:.4g}  "
                f"normalised {normalised}"
            )
