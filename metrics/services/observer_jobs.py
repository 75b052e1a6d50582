"""Machine observer jobs: classifiers trained to tell a model's synthetic CT slices from real CT slices.

Both whole pools are read through :mod:`imaging.selectors`, rendered under a resolved display policy (the survey's
policy when the model has a survey against that real CT, else the field of view `create_survey` would choose) and
handed to the pure observers of :mod:`metrics.measures.observer`. One job per classifier: the interpretable observer on
the default queue, the CNN on ``settings.MACHINE_OBSERVER_CNN_QUEUE``. A result replaces the (model, real
dataset, classifier) result in one transaction with the job's finish and its audit row; once committed,
:data:`metrics.signals.observer_result_stored` says so (the reports app then queues the stored reports of the
model's surveys again, so they show it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from imaging import selectors as images
from imaging.selectors import StoredSlice
from jobs.services import JobRefused, execute, finish, queue_job
from metrics.models import MachineObserverJob, MachineObserverResult, ObserverClassifier
from metrics.services.metric_jobs import MetricsArgumentError, check_metrics_arguments
from metrics.signals import observer_result_stored
from studies.models import Survey
from studies.policy import DisplayPolicy
from studies.services import StudyError, choose_field_of_view

CLASSIFIERS = (ObserverClassifier.INTERPRETABLE, ObserverClassifier.CNN, ObserverClassifier.VOLUMETRIC)
QUEUES = ("default", "gpu")
MIN_CNN_CROP = 16


class ObserverArgumentError(JobRefused):
    """A machine observer that cannot be run as asked (unknown dataset, empty pool, too few patients); one line."""


def observer_policy(model, real) -> tuple[DisplayPolicy, str]:
    """The display policy the observer renders under, and where it came from: the latest survey of this model
    against this real CT (what readers saw), else the default policy with the field of view `create_survey`
    would choose from the real pool."""
    survey = (
        Survey.objects.filter(model_dataset=model, real_dataset=real).order_by("-created_at", "-id").first()
    )
    if survey is not None and survey.display_policy is not None and survey.display_policy.is_resolved:
        return survey.display_policy, f"the display policy of survey {survey.name!r}"
    try:
        policy, notes = choose_field_of_view(DisplayPolicy(), real)
    except StudyError as exc:
        raise ObserverArgumentError(str(exc)) from None
    return policy, notes[0] if notes else "the default display policy"


def observer_pools(model, real) -> tuple[list[StoredSlice], list[StoredSlice]]:
    synthetic = images.layered_ct_slices(model)
    real_slices = images.layered_ct_slices(real)
    if not synthetic:
        raise ObserverArgumentError(f"model {model.name!r} has no CT slices with an axial layer")
    if not real_slices:
        raise ObserverArgumentError(f"real dataset {real.name!r} has no CT slices with an axial layer")
    return synthetic, real_slices


def check_observer_arguments(
    *, model_name: str, real_dataset_name: str, folds: int | None = None, seed: int = 0
) -> tuple:
    """The model and real datasets named, or :class:`ObserverArgumentError` saying what is wrong: unknown or
    wrong-kind datasets, an empty pool, or patients too few to fill the cross-validation folds."""
    try:
        model, real = check_metrics_arguments(model_name=model_name, real_dataset_name=real_dataset_name)
    except MetricsArgumentError as exc:
        raise ObserverArgumentError(str(exc)) from None
    if folds is not None and folds < 2:
        raise ObserverArgumentError(f"--folds must be at least 2, got {folds}")
    synthetic, real_slices = observer_pools(model, real)
    both = [*real_slices, *synthetic]
    # Here, not at the top: the observers load SciPy and scikit-learn, which web processes never import.
    from metrics.measures.observer import ObserverInputError, grouped_folds

    try:
        grouped_folds(
            np.array([stored.patient for stored in both]),
            np.array([stored.layer for stored in both]),
            np.array([False] * len(real_slices) + [True] * len(synthetic)),
            folds=folds,
            seed=seed,
        )
    except ObserverInputError as exc:
        raise ObserverArgumentError(f"{model.name!r} vs {real.name!r}: {exc}") from None
    return model, real


def start_machine_observer(
    *,
    model_name: str,
    real_dataset_name: str,
    actor=None,
    classifiers: Sequence[str] = CLASSIFIERS,
    folds: int | None = None,
    seed: int = 0,
    bootstrap: int | None = None,
    cnn_steps: int | None = None,
    policy: DisplayPolicy | None = None,
    enqueue: bool = True,
) -> list[MachineObserverJob]:
    """Queue one machine observer job per classifier for the model against the real CT, in one transaction
    (each with its audit row); sent to their queues once committed (unless ``enqueue`` is off)."""
    unknown = [name for name in classifiers if name not in CLASSIFIERS]
    if unknown or not classifiers:
        raise ObserverArgumentError(
            f"unknown classifier {unknown[0] if unknown else ''!r}; choose from {', '.join(CLASSIFIERS)}"
        )
    if bootstrap is not None and bootstrap < 10:
        raise ObserverArgumentError(f"--bootstrap must be at least 10 resamples, got {bootstrap}")
    steps = settings.MACHINE_OBSERVER_CNN_STEPS if cnn_steps is None else cnn_steps
    if steps < 1:
        raise ObserverArgumentError(f"--cnn-steps must be at least 1, got {steps}")
    cnn_queue = settings.MACHINE_OBSERVER_CNN_QUEUE
    if cnn_queue not in QUEUES:
        raise ObserverArgumentError(f"MACHINE_OBSERVER_CNN_QUEUE must be one of {QUEUES}, not {cnn_queue!r}")
    model, real = check_observer_arguments(
        model_name=model_name, real_dataset_name=real_dataset_name, folds=folds, seed=seed
    )
    if policy is None:
        policy, policy_source = observer_policy(model, real)
    elif not policy.is_resolved:
        raise ObserverArgumentError("the display policy has no field of view; give one (as a survey's)")
    else:
        policy_source = "the display policy given"
    if ObserverClassifier.CNN in classifiers and policy.matrix_size < MIN_CNN_CROP:
        raise ObserverArgumentError(f"the CNN needs a matrix of at least {MIN_CNN_CROP} pixels")
    from metrics.measures.observer import BOOTSTRAP_REPLICATES, REFIT_REPLICATES

    jobs = []
    with transaction.atomic():
        for classifier in dict.fromkeys(classifiers):
            default_bootstrap = (
                BOOTSTRAP_REPLICATES if classifier == ObserverClassifier.CNN else REFIT_REPLICATES
            )
            options = {
                "classifier": classifier,
                "queue": cnn_queue if classifier == ObserverClassifier.CNN else "default",
                "folds": folds,
                "seed": seed,
                "bootstrap": bootstrap or default_bootstrap,
                "cnn_steps": steps,
            }
            jobs.append(
                queue_job(
                    MachineObserverJob,
                    actor=actor,
                    enqueue=enqueue,
                    details={
                        "model": model.name,
                        "real_dataset": real.name,
                        "display_policy": policy.to_dict(),
                        "policy_from": policy_source,
                        **options,
                    },
                    model=model,
                    real_dataset=real,
                    display_policy=policy.to_dict(),
                    **options,
                )
            )
    return jobs


def requeue_machine_observer(*, job: MachineObserverJob, actor=None) -> MachineObserverJob:
    """A new job with the same model, real dataset, classifier, policy and options as ``job``."""
    return start_machine_observer(
        model_name=job.model.name,
        real_dataset_name=job.real_dataset.name,
        actor=actor,
        classifiers=[job.classifier],
        folds=job.folds,
        seed=job.seed,
        bootstrap=job.bootstrap,
        cnn_steps=job.cnn_steps,
        policy=DisplayPolicy.from_dict(job.display_policy),
    )[0]


# --- Running a job -------------------------------------------------------------------------------------------


def telling_summary(telling: Sequence[dict]) -> str:
    """The sentence of the most telling feature ("synthetic slices are smoother: noise 3 HU vs 21 HU")."""
    return telling[0]["sentence"] if telling else ""


def store_observer_result(*, job: MachineObserverJob, result, policy: DisplayPolicy) -> MachineObserverJob:
    """Replace the (model, real dataset, classifier) result with ``result`` and finish the job, in one
    transaction."""
    data = result.to_dict()
    telling = [
        {
            "name": entry["name"],
            "label": entry["label"],
            "sentence": entry["sentence"],
            "auc": entry["auc"],
            "real_median": entry["real"]["median"],
            "synthetic_median": entry["synthetic"]["median"],
            "unit": entry["unit"],
        }
        for entry in data.get("telling", [])
    ]
    overall = result.overall
    with transaction.atomic():
        job = (
            MachineObserverJob.objects.select_for_update(of=("self",))
            .select_related("model", "real_dataset")
            .get(pk=job.pk)
        )
        MachineObserverResult.objects.filter(
            model=job.model, real_dataset=job.real_dataset, classifier=job.classifier
        ).delete()
        stored = MachineObserverResult.objects.create(
            model=job.model,
            real_dataset=job.real_dataset,
            classifier=job.classifier,
            auc=overall.auc,
            ci_low=overall.ci_low,
            ci_high=overall.ci_high,
            n_real=overall.n_real,
            n_synthetic=overall.n_synthetic,
            n_patients=overall.n_patients,
            folds=result.folds,
            by_layer=data["by_layer"],
            telling=telling,
            summary=telling_summary(telling),
            display_policy=policy.to_dict(),
            detail=data,
            job=job,
            computed_at=timezone.now(),
        )
        auc = "n/a" if overall.auc is None else f"{overall.auc:.3f}"
        ci = "" if overall.ci_low is None else f" [{overall.ci_low:.3f}, {overall.ci_high:.3f}]"
        finish(
            job,
            message=f"AUC {auc}{ci} over {overall.n_real} real and {overall.n_synthetic} synthetic slices"
            + (f"; {stored.summary}" if stored.summary else ""),
            result={
                "model": job.model.name,
                "real_dataset": job.real_dataset.name,
                "classifier": job.classifier,
                "auc": overall.auc,
                "ci": [overall.ci_low, overall.ci_high],
            },
        )
        model = job.model
        transaction.on_commit(lambda: observer_result_stored.send(sender=MachineObserverResult, model=model))
    job.refresh_from_db()
    return job


def observe_now(job: MachineObserverJob) -> MachineObserverJob:
    """Run the job in this process (tests, `machine_observer --inline`)."""
    execute(MachineObserverJob.label(), job.pk)
    return MachineObserverJob.objects.get(pk=job.pk)
