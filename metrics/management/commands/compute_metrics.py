"""Queue (or run) the image-distribution metrics of a model against a real CT dataset."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jobs.cli import wait_for
from jobs.models import JobStatus
from jobs.services import JobWaitTimeout
from metrics.models import MetricsJob
from metrics.services import MetricsArgumentError, create_metrics_job
from metrics.services.metric_runs import compute_now


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
            job = compute_now(job)
        elif wait:
            try:
                job = wait_for(job, report=self.stdout.write, interval_s=0.5, timeout_s=timeout, bar=True)
            except JobWaitTimeout as exc:
                raise CommandError(str(exc)) from None
        else:
            self.stdout.write(
                f"Metrics job #{job.pk} queued ({job.model} vs {job.real_dataset}); "
                "follow it in the admin (Metrics -> Metrics jobs) or run again with --wait."
            )
            return
        self._report(job)

    def _report(self, job: MetricsJob) -> None:
        if job.status == JobStatus.FAILED:
            raise CommandError(f"metrics job #{job.pk} failed: {job.error}")
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
