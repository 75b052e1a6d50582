"""Running a metric job (workers only: it loads the distribution metrics, scikit-image and, with the FID weights,
PyTorch): the layer-by-layer scores of a model against a real CT dataset, stored in one transaction with the job's
final status and an audit row."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from imaging import selectors as images
from imaging.pixels import load_slice_pixels
from imaging.selectors import StoredSlice, by_layer
from jobs.services import JobFailed, Progress, execute, finish, one_line
from metrics.measures.layerwise import (
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
from metrics.measures.vocabulary import VOLUME_METRICS
from metrics.measures.zconsistency import (
    MIN_SLICES,
    VolumeZProfile,
    ZConsistencyError,
    common_grid,
    volume_scores,
    volume_z_profile,
)
from metrics.models import MetricResult, MetricsJob
from metrics.services.metric_jobs import MetricsArgumentError
from metrics.services.whole_volumes import WholeVolume, on_grid, whole_volumes

logger = logging.getLogger(__name__)

READ_CHUNK_SLICES = 32


# --- Running a job -------------------------------------------------------------------------------------------


def load_feature_extractor() -> tuple[FeatureExtractor | None, str | None]:
    """The Inception feature extractor from ``settings.FID_INCEPTION_WEIGHTS``, or ``None`` and a one-line
    reason (the missing or unreadable file) when it cannot be loaded. Never downloads anything."""
    from metrics.measures.inception import InceptionWeightsError, inception_features, load_fid_inception

    path = settings.FID_INCEPTION_WEIGHTS
    try:
        model = load_fid_inception(path)
    except (FileNotFoundError, InceptionWeightsError) as exc:
        return None, str(exc).splitlines()[0]

    def extract(chunk: np.ndarray) -> np.ndarray:
        return inception_features(model, chunk, batch_size=settings.METRICS_INCEPTION_BATCH)

    return extract, None


def _read_chunks(
    slices: Sequence[StoredSlice], shape: tuple[int, int], progress: Progress, message: str
) -> Iterator[np.ndarray]:
    for start in range(0, len(slices), READ_CHUNK_SLICES):
        part = slices[start : start + READ_CHUNK_SLICES]
        chunk = np.stack([match_shape(load_slice_pixels(stored.pixels), shape) for stored in part])
        yield chunk
        progress.advance(len(part), message)


def compute_scores(
    job: MetricsJob, *, progress: Progress, extractor_loader=load_feature_extractor, radiomics_cache=None
) -> tuple[list[MetricScore], list[str]]:
    """Every metric of the job's model in every layer and on average, and notes for the job's message.
    ``radiomics_cache``: a dict kept by the caller across jobs whose real slices are the same (the demo's models
    compared with one real dataset), so their radiomic features are computed once."""
    real = images.layered_ct_slices(job.real_dataset)
    synthetic = images.layered_ct_slices(job.model)
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
        by_layer(synthetic),
        by_layer(stored for stored in real if unit(stored) in reference_set),
        by_layer(stored for stored in real if unit(stored) not in reference_set),
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
                radiomics_cache=radiomics_cache,
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
    along_z = z_consistency_scores(job, reference_set=reference_set, unit_of=unit_of, progress=progress)
    along_z_notes = sorted({score.note for score in along_z if score.note})
    notes.extend(f"realism along z: {note}" for note in along_z_notes)
    return scores + averages + along_z, notes


# --- Realism along z: whole volumes ------------------------------------------------------------------------


def z_consistency_scores(
    job: MetricsJob, *, reference_set: set[str], unit_of: str, progress: Progress
) -> list[MetricScore]:
    """The ``VOLUME_METRICS`` rows of the job's model: every whole CT volume of both datasets resampled to their
    coarsest common grid, profiled along z, the real ones split by the job's held-out split."""
    real = whole_volumes(job.real_dataset)
    synthetic = whole_volumes(job.model)
    spacings = [(v.slice_mm, v.row_mm, v.column_mm) for v in (*real, *synthetic)]
    if not real or not synthetic:
        missing = job.real_dataset.name if not real else job.model.name
        reason = f"{missing} has no CT volume of at least {MIN_SLICES} slices with a slice spacing"
        return unavailable_scores(
            AVERAGE_LAYER, reason, metrics=VOLUME_METRICS, detail={"scope": "whole volumes"}
        )
    grid = common_grid(spacings)
    profiles: dict[int, VolumeZProfile] = {}
    skipped = []
    for number, volume in enumerate((*real, *synthetic), start=1):
        progress.phase(f"realism along z: volume {number} of {len(spacings)}")
        try:
            profiles[volume.volume_id] = volume_z_profile(on_grid(volume, grid), grid)
        except ZConsistencyError as exc:
            skipped.append(f"{volume.uid}: {exc}")

    def unit(volume: WholeVolume) -> str:
        return volume.patient if unit_of == "patient" else volume.uid

    def kept(volumes):
        return [profiles[v.volume_id] for v in volumes if v.volume_id in profiles]

    scores = volume_scores(
        kept(v for v in real if unit(v) in reference_set),
        kept(v for v in real if unit(v) not in reference_set),
        kept(synthetic),
        grid=grid,
        seed=job.seed,
    )
    if skipped:
        for score in scores:
            score.detail["skipped_volumes"] = skipped
    return scores


def run_metrics_job(
    job: MetricsJob, progress: Progress, *, extractor_loader=load_feature_extractor, radiomics_cache=None
) -> None:
    """The job's runner: compute every metric and store the results (replacing the pair's previous ones) and
    finish the job, in one transaction."""
    job = MetricsJob.objects.select_related("model", "real_dataset", "created_by").get(pk=job.pk)
    progress.job = job
    progress.phase("reading the slice lists")
    try:
        scores, notes = compute_scores(
            job, progress=progress, extractor_loader=extractor_loader, radiomics_cache=radiomics_cache
        )
    except LayerwiseError as exc:
        raise MetricsArgumentError(str(exc)) from None
    progress.flush()
    try:
        store_metric_results(job=job, scores=scores, notes=notes)
    except Exception as exc:  # the previous results are still in place (one transaction)
        raise JobFailed(f"could not store the results: {one_line(exc)}") from exc


def compute_now(job: MetricsJob, **options) -> MetricsJob:
    """Run the job in this process (`compute_metrics --inline`, the demo, tests)."""
    execute(MetricsJob.label(), job.pk, **options)
    return MetricsJob.objects.get(pk=job.pk)


def store_metric_results(
    *, job: MetricsJob, scores: Sequence[MetricScore], notes: Sequence[str] = ()
) -> MetricsJob:
    """Replace the (model, real dataset) pair's results with ``scores`` and finish the job, in one transaction."""
    now = timezone.now()
    feature_note = next((note for note in notes if note.startswith("FID/KID unavailable")), "")
    scored = sum(1 for score in scores if score.layer != AVERAGE_LAYER and score.value is not None)
    along_z = [score for score in scores if score.metric in VOLUME_METRICS and score.value is not None]
    stored = f"{scored} layer scores stored"
    if along_z:
        stored += f", realism along z on {along_z[0].n_synthetic} synthetic volume(s)"
    summary = "; ".join([stored, *notes])
    with transaction.atomic():
        job = (
            MetricsJob.objects.select_for_update(of=("self",))
            .select_related("model", "real_dataset")
            .get(pk=job.pk)
        )
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
        MetricsJob.objects.filter(pk=job.pk).update(feature_metrics_note=feature_note)
        job = finish(
            job,
            message=summary,
            result={"model": job.model.name, "real_dataset": job.real_dataset.name, "results": len(scores)},
        )
    return job
