"""Writes of the metrics app: metric jobs and their results, and the log of report downloads.

A metrics job compares a model (a synthetic CT dataset) with a real CT dataset layer by layer (see
:mod:`metrics.layerwise`); its results replace the pair's previous results in one transaction, with the job's
final status and an audit row. Every report download is one :class:`DownloadLog` row plus an audit row.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record_event
from imaging.models import Dataset
from imaging.pixels import load_slice_pixels
from metrics import selectors
from metrics.layerwise import (
    AVERAGE_LAYER,
    FeatureExtractor,
    LayerwiseError,
    MetricScore,
    average_over_layers,
    held_out_split,
    match_shape,
    most_common_shape,
    plan_layers,
    score_layer,
    summarise_set,
    unavailable_scores,
)
from metrics.models import DownloadLog, MetricResult, MetricsJob
from metrics.selectors import StoredSlice

logger = logging.getLogger(__name__)

READ_CHUNK_SLICES = 32
Progress = Callable[[int, int, str], None]


class MetricsArgumentError(ValueError):
    """A metrics job asked for something that cannot be done (unknown dataset, wrong kind); one line."""


def _dataset(name: str, kind: str, role: str) -> Dataset:
    dataset = selectors.dataset_named(name, kind)
    if dataset is not None:
        return dataset
    label = Dataset.Kind(kind).label
    other = Dataset.objects.filter(name=name).first()
    if other is not None:
        raise MetricsArgumentError(f"{role} {name!r} is {other.get_kind_display()}, not {label}")
    known = ", ".join(repr(known) for known in selectors.dataset_names(kind)) or "none"
    raise MetricsArgumentError(f"no {label} dataset named {name!r} (known: {known})")


def check_metrics_arguments(
    *, model_name: str, real_dataset_name: str, max_per_layer: int | None = None
) -> tuple[Dataset, Dataset]:
    """The model and real datasets named, or :class:`MetricsArgumentError` saying what is wrong."""
    model = _dataset(model_name, Dataset.Kind.SYNTHETIC_CT, "model")
    real = _dataset(real_dataset_name, Dataset.Kind.REAL_CT, "real dataset")
    if (
        model.contrast_enhanced is not None
        and real.contrast_enhanced is not None
        and model.contrast_enhanced != real.contrast_enhanced
    ):

        def word(dataset):
            return "contrast-enhanced" if dataset.contrast_enhanced else "non-contrast"

        raise MetricsArgumentError(
            f"model {model.name!r} makes {word(model)} CT but {real.name!r} is {word(real)} CT; "
            "normalise a model by real CT of its own kind"
        )
    if max_per_layer is not None and max_per_layer < 2:
        raise MetricsArgumentError(f"--max-per-layer must be at least 2, got {max_per_layer}")
    return model, real


def create_metrics_job(
    *,
    model_name: str,
    real_dataset_name: str,
    actor=None,
    max_per_layer: int | None = None,
    seed: int = 0,
    queue: bool = True,
) -> MetricsJob:
    """Record a metrics job and, once committed, queue it on the default queue (unless ``queue`` is off)."""
    from metrics import tasks

    model, real = check_metrics_arguments(
        model_name=model_name, real_dataset_name=real_dataset_name, max_per_layer=max_per_layer
    )
    with transaction.atomic():
        job = MetricsJob.objects.create(
            model=model,
            real_dataset=real,
            max_per_layer=max_per_layer,
            seed=seed,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        record_event(
            actor=actor,
            verb="metrics.queued",
            target=job,
            details={
                "model": model.name,
                "real_dataset": real.name,
                "max_per_layer": max_per_layer,
                "seed": seed,
            },
        )
        if queue:
            transaction.on_commit(lambda: tasks.run_metrics_job.delay(job.pk))
    return job


def requeue_metrics_job(*, job: MetricsJob, actor=None) -> MetricsJob:
    """A new job with the same model, real dataset and options as ``job``."""
    return create_metrics_job(
        model_name=job.model.name,
        real_dataset_name=job.real_dataset.name,
        actor=actor,
        max_per_layer=job.max_per_layer,
        seed=job.seed,
    )


# --- Running a job -------------------------------------------------------------------------------------------


def load_feature_extractor() -> tuple[FeatureExtractor | None, str | None]:
    """The Inception feature extractor from ``settings.FID_INCEPTION_WEIGHTS``, or ``None`` and a one-line
    reason (the missing or unreadable file) when it cannot be loaded. Never downloads anything."""
    from metrics.inception import InceptionWeightsError, inception_features, load_fid_inception

    path = settings.FID_INCEPTION_WEIGHTS
    try:
        model = load_fid_inception(path)
    except (FileNotFoundError, InceptionWeightsError) as exc:
        return None, str(exc).splitlines()[0]

    def extract(chunk: np.ndarray) -> np.ndarray:
        return inception_features(model, chunk, batch_size=settings.METRICS_INCEPTION_BATCH)

    return extract, None


class JobProgress:
    """Writes a job's done/total and message at most a few times a second."""

    def __init__(self, job: MetricsJob, interval_s: float = 0.5):
        self.job = job
        self.interval_s = interval_s
        self.last = 0.0
        self.done = 0
        self.total = 0

    def start(self, total: int, message: str) -> None:
        self.total = total
        MetricsJob.objects.filter(pk=self.job.pk).update(done=0, total=total, message=message)

    def advance(self, slices: int, message: str) -> None:
        self.done += slices
        now = time.monotonic()
        if self.done < self.total and now - self.last < self.interval_s:
            return
        self.last = now
        MetricsJob.objects.filter(pk=self.job.pk).update(done=self.done, message=message)


def _read_chunks(
    slices: Sequence[StoredSlice], shape: tuple[int, int], progress: JobProgress, message: str
) -> Iterator[np.ndarray]:
    for start in range(0, len(slices), READ_CHUNK_SLICES):
        part = slices[start : start + READ_CHUNK_SLICES]
        chunk = np.stack([match_shape(load_slice_pixels(stored.pixels), shape) for stored in part])
        yield chunk
        progress.advance(len(part), message)


def compute_scores(
    job: MetricsJob, *, progress: JobProgress, extractor_loader=load_feature_extractor
) -> tuple[list[MetricScore], list[str]]:
    """Every metric of the job's model in every layer and on average, and notes for the job's message."""
    real = selectors.layered_ct_slices(job.real_dataset)
    synthetic = selectors.layered_ct_slices(job.model)
    if not synthetic:
        raise LayerwiseError(f"model {job.model.name!r} has no CT slices with an axial layer")
    if not real:
        raise LayerwiseError(f"real dataset {job.real_dataset.name!r} has no CT slices with an axial layer")
    notes = []
    units = {stored.patient for stored in real}
    unit_of = "patient"
    if len(units) < 2:
        units = {stored.volume for stored in real}
        unit_of = "volume"
        notes.append(f"{job.real_dataset.name} has one patient: its volumes were split instead")
    reference_units, held_out_units = held_out_split(units, seed=job.seed)
    reference_set = set(reference_units)

    def unit(stored: StoredSlice) -> str:
        return stored.patient if unit_of == "patient" else stored.volume

    plans = plan_layers(
        selectors.by_layer(synthetic),
        selectors.by_layer(stored for stored in real if unit(stored) in reference_set),
        selectors.by_layer(stored for stored in real if unit(stored) not in reference_set),
        max_per_layer=job.max_per_layer,
        seed=job.seed,
    )
    shape = most_common_shape(stored.shape for stored in real)
    progress.start(sum(plan.slice_count for plan in plans), "loading the Inception network")
    extractor, features_unavailable = (None, None)
    if any(plan.reason is None for plan in plans):
        extractor, features_unavailable = extractor_loader()
    if features_unavailable:
        notes.append(f"FID/KID unavailable: {features_unavailable}")
    split_detail = {
        "split_by": unit_of,
        "reference_units": len(reference_units),
        "held_out_units": len(held_out_units),
        "matrix": list(shape),
    }
    scores: list[MetricScore] = []
    for plan in plans:
        available = {
            "available_synthetic": plan.available_synthetic,
            "available_reference": plan.available_reference,
            "available_held_out": plan.available_held_out,
        }
        if plan.reason:
            scores.extend(unavailable_scores(plan.layer, plan.reason, detail=available))
            continue
        message = f"layer {plan.layer}: {plan.sample_size} slices per set"
        summaries = [
            summarise_set(
                _read_chunks(keys, shape, progress, message),
                extract_features=extractor,
                workers=settings.METRICS_WORKERS,
            )
            for keys in (plan.reference, plan.held_out, plan.synthetic)
        ]
        for score in score_layer(
            plan.layer, *summaries, features_unavailable=features_unavailable, seed=job.seed
        ):
            score.detail.update(available)
            scores.append(score)
    averages = average_over_layers(scores)
    for score in averages:
        score.detail.update(split_detail)
    skipped = [plan.layer for plan in plans if plan.reason]
    if skipped:
        notes.append(f"layers without a score: {', '.join(map(str, skipped))}")
    return scores + averages, notes


def run_metrics_job(job_id: int, *, extractor_loader=load_feature_extractor) -> MetricsJob:
    """Compute a queued job (called by the worker, or in-process); a finished job is returned unchanged."""
    job = MetricsJob.objects.select_related("model", "real_dataset", "created_by").get(pk=job_id)
    if job.is_finished:
        return job
    MetricsJob.objects.filter(pk=job.pk).update(
        status=MetricsJob.Status.RUNNING, started_at=timezone.now(), message="reading the slice lists"
    )
    progress = JobProgress(job)
    try:
        scores, notes = compute_scores(job, progress=progress, extractor_loader=extractor_loader)
    except LayerwiseError as exc:
        return _finish_failed(job, str(exc))
    except Exception as exc:  # the job row must say what happened; the traceback goes to the log
        logger.exception("metrics job %s failed", job.pk)
        return _finish_failed(job, f"{type(exc).__name__}: {_first_line(exc)}")
    try:
        return store_metric_results(job=job, scores=scores, notes=notes)
    except Exception as exc:
        # the previous results are still in place (one transaction); the job must not stay "running"
        _finish_failed(job, f"could not store the results: {type(exc).__name__}: {_first_line(exc)}")
        raise


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _finish_failed(job: MetricsJob, message: str) -> MetricsJob:
    with transaction.atomic():
        job = MetricsJob.objects.select_for_update().get(pk=job.pk)
        job.status = MetricsJob.Status.FAILED
        job.message = message
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at"])
        record_event(actor=job.created_by, verb="metrics.failed", target=job, details={"message": message})
    return job


def store_metric_results(
    *, job: MetricsJob, scores: Sequence[MetricScore], notes: Sequence[str] = ()
) -> MetricsJob:
    """Replace the (model, real dataset) pair's results with ``scores`` and finish the job, in one transaction."""
    now = timezone.now()
    feature_note = next((note for note in notes if note.startswith("FID/KID unavailable")), "")
    scored = sum(1 for score in scores if score.layer != AVERAGE_LAYER and score.value is not None)
    summary = "; ".join([f"{scored} layer scores stored", *notes])
    with transaction.atomic():
        job = MetricsJob.objects.select_for_update().get(pk=job.pk)
        MetricResult.objects.filter(model=job.model, real_dataset=job.real_dataset).delete()
        MetricResult.objects.bulk_create(
            MetricResult(
                model=job.model,
                real_dataset=job.real_dataset,
                layer=score.layer,
                metric=score.metric,
                value=score.value,
                baseline=score.baseline,
                normalised=score.normalised,
                n_synthetic=score.n_synthetic,
                n_reference=score.n_reference,
                n_held_out=score.n_held_out,
                note=score.note,
                detail=score.detail,
                job=job,
                computed_at=now,
            )
            for score in scores
        )
        job.status = MetricsJob.Status.DONE
        job.message = summary
        job.feature_metrics_note = feature_note
        job.done = job.total = max(job.total, job.done)
        job.finished_at = now
        job.save()
        record_event(
            actor=job.created_by,
            verb="metrics.computed",
            target=job,
            details={"model": job.model.name, "real_dataset": job.real_dataset.name, "results": len(scores)},
        )
    return job


# --- Downloads ---------------------------------------------------------------------------------------------


def record_download(
    *,
    user,
    what: str,
    content: bytes,
    surveys: Sequence[str] = (),
    models: Sequence[str] = (),
    via: str = DownloadLog.Via.WEB,
) -> DownloadLog:
    """Log one download (who, what, of which surveys and models, its size and sha256) with its audit row."""
    with transaction.atomic():
        log = DownloadLog.objects.create(
            user=user if user is not None and user.is_authenticated else None,
            what=what,
            via=via,
            surveys=list(surveys),
            models_compared=list(models),
            byte_size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        record_event(
            actor=user,
            verb="report.downloaded",
            target=log,
            details={"what": what, "via": via, "surveys": list(surveys), "models": list(models)},
        )
    return log
