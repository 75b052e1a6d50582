"""Queue (or run) the machine observer of a model against a real CT dataset."""

from django.core.management.base import BaseCommand, CommandError

from jobs.cli import wait_for
from jobs.models import JobStatus
from jobs.services import JobWaitTimeout
from metrics.services import ObserverArgumentError, observe_now, start_machine_observer
from metrics.services.observer_jobs import CLASSIFIERS


class Command(BaseCommand):
    help = (
        "Train and evaluate classifiers that tell a model's synthetic CT slices from real CT slices (a logistic "
        "regression on image features, a small CNN and a logistic regression on 3-D features of the slab around "
        "each slice), cross-validated by patient over both whole pools as "
        "readers see them; AUC with a bootstrap CI overall and per axial layer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="Name of the synthetic CT dataset (the model)")
        parser.add_argument("--real-dataset", required=True, help="Name of the real CT dataset")
        parser.add_argument(
            "--classifier",
            action="append",
            choices=CLASSIFIERS,
            help="Only this classifier (repeatable; default: all three)",
        )
        parser.add_argument("--folds", type=int, default=None, help="Folds (default: 5, or one per patient)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--bootstrap", type=int, default=None, help="Patient resamples per CI")
        parser.add_argument("--cnn-steps", type=int, default=None, help="CNN training steps per fold")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--wait", action="store_true", help="Follow the queued jobs until they finish")
        how.add_argument("--inline", action="store_true", help="Run in this process instead of on a worker")
        parser.add_argument(
            "--timeout", type=float, default=None, help="With --wait: give up waiting after this many seconds"
        )

    def handle(self, *args, model, real_dataset, classifier, folds, seed, bootstrap, cnn_steps, wait, inline,
               timeout, **options):  # fmt: skip
        try:
            jobs = start_machine_observer(
                model_name=model,
                real_dataset_name=real_dataset,
                classifiers=classifier or CLASSIFIERS,
                folds=folds,
                seed=seed,
                bootstrap=bootstrap,
                cnn_steps=cnn_steps,
                enqueue=not inline,
            )
        except ObserverArgumentError as exc:
            raise CommandError(str(exc)) from None
        if not (wait or inline):
            for job in jobs:
                self.stdout.write(
                    f"Machine observer job #{job.pk} ({job.get_classifier_display()}) queued on the {job.queue} "
                    "queue; follow it in the admin (Metrics -> Machine observer jobs) or run again with --wait."
                )
            return
        finished = []
        for job in jobs:
            if inline:
                finished.append(observe_now(job))
                continue
            try:
                finished.append(
                    wait_for(job, report=self.stdout.write, interval_s=0.5, timeout_s=timeout, bar=True)
                )
            except JobWaitTimeout as exc:
                raise CommandError(str(exc)) from None
        failed = [job for job in finished if job.status == JobStatus.FAILED]
        for job in finished:
            if job.status == JobStatus.DONE:
                self.stdout.write(
                    f"Machine observer job #{job.pk} ({job.get_classifier_display()}): {job.message}"
                )
        if failed:
            raise CommandError(
                "; ".join(f"machine observer job #{job.pk} failed: {job.error}" for job in failed)
            )
