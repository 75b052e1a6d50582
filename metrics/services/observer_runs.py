"""The machine observer job's runner: both pools rendered as readers see them, the job's classifier trained and
evaluated, its result stored. It loads PyTorch (the CNN) and scikit-learn; only workers, commands and the demo
import it, through the job's `runner` path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.conf import settings

from imaging import selectors as images
from imaging.pixels import load_slice_pixels
from imaging.selectors import StoredSlice
from jobs.services import JobFailed, Progress, one_line
from metrics.measures.observer import (
    ObserverInputError,
    RawSlice,
    interpretable_observer,
    observer_features,
    prepare_pool,
    slab_around,
    slab_features,
    volumetric_observer,
)
from metrics.measures.observer.cnn import CROP, cnn_observer
from metrics.models import MachineObserverJob, ObserverClassifier
from metrics.services.observer_jobs import ObserverArgumentError, observer_pools, store_observer_result
from metrics.services.whole_volumes import grid_index, on_grid, whole_volumes
from studies.policy import DisplayPolicy


def _raw_slices(
    stored: Sequence[StoredSlice], spacings: dict, *, synthetic: bool, progress: Progress
) -> Iterator[RawSlice]:
    for entry in stored:
        row_mm, column_mm = spacings[entry.volume]
        yield RawSlice(
            hu=load_slice_pixels(entry.pixels),
            row_spacing_mm=row_mm,
            column_spacing_mm=column_mm,
            patient=entry.patient,
            layer=entry.layer,
            synthetic=synthetic,
        )
        progress.advance(1, "rendering both pools under the display policy")


def _cnn_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run_machine_observer_job(job: MachineObserverJob, progress: Progress) -> None:
    """The job's runner: render both pools, train and evaluate the job's classifier, store its result and finish
    the job in one transaction."""
    job = MachineObserverJob.objects.select_related("model", "real_dataset").get(pk=job.pk)
    progress.job = job
    progress.phase("reading the slice lists")
    synthetic, real = observer_pools(job.model, job.real_dataset)
    policy = DisplayPolicy.from_dict(job.display_policy)
    spacings = {**images.ct_pixel_spacings_mm(job.real_dataset), **images.ct_pixel_spacings_mm(job.model)}
    # One step per slice rendered, then (the CNN) one per training step of each fold.
    progress.start(len(real) + len(synthetic), "rendering both pools under the display policy")
    try:
        pool = prepare_pool(
            [
                *_raw_slices(real, spacings, synthetic=False, progress=progress),
                *_raw_slices(synthetic, spacings, synthetic=True, progress=progress),
            ],
            policy=policy,
        )
        progress.flush()
        if job.classifier == ObserverClassifier.VOLUMETRIC:
            progress.phase("reading whole volumes for the slabs around each slice")
            features = volumetric_features(job, [*real, *synthetic], progress=progress)
            progress.phase(
                f"cross-validating the logistic regression on slabs ({job.bootstrap} patient resamples)"
            )
            result = volumetric_observer(
                pool, features, folds=job.folds, seed=job.seed, bootstrap=job.bootstrap
            )
        elif job.classifier == ObserverClassifier.INTERPRETABLE:
            progress.phase("computing the image features")
            features = observer_features(pool.hu, hu_min=pool.hu_min, workers=settings.METRICS_WORKERS)
            progress.phase(f"cross-validating the logistic regression ({job.bootstrap} patient resamples)")
            result = interpretable_observer(
                pool, folds=job.folds, seed=job.seed, bootstrap=job.bootstrap, features=features
            )
        else:
            device = _cnn_device()
            rendered = progress.done
            message = f"training the CNN on {device} ({job.cnn_steps} steps per fold)"
            progress.phase(message)

            def trained(done: int, total: int) -> None:
                # The training steps count after the rendered slices: the bar moves while the CNN learns.
                progress.set(rendered + done, rendered + total, message)

            result = cnn_observer(
                pool,
                folds=job.folds,
                seed=job.seed,
                bootstrap=job.bootstrap,
                steps=job.cnn_steps,
                crop=min(CROP, policy.matrix_size),
                device=device,
                on_step=trained,
            )
    except ObserverInputError as exc:
        raise ObserverArgumentError(str(exc)) from None
    try:
        store_observer_result(job=job, result=result, policy=policy)
    except Exception as exc:  # the previous result is still in place (one transaction)
        raise JobFailed(f"could not store the result: {one_line(exc)}") from exc


def volumetric_features(job: MachineObserverJob, pool_slices: Sequence[StoredSlice], *, progress: Progress):
    """``VOLUME_FEATURES`` of the slab around each of ``pool_slices`` (the pool's order), every volume of both
    datasets resampled to their coarsest common grid (:func:`metrics.measures.zconsistency.common_grid`)."""
    import numpy as np

    from metrics.measures.observer import VOLUME_FEATURES
    from metrics.measures.zconsistency import common_grid

    volumes = {volume.uid: volume for volume in (*whole_volumes(job.real_dataset), *whole_volumes(job.model))}
    missing = sorted({stored.volume for stored in pool_slices} - set(volumes))
    if missing:
        raise ObserverInputError(
            f"{len(missing)} volume(s) have too few slices or no slice spacing for slabs, e.g. {missing[0]}"
        )
    grid = common_grid([(v.slice_mm, v.row_mm, v.column_mm) for v in volumes.values()])
    by_volume: dict[str, list[int]] = {}
    for row, stored in enumerate(pool_slices):
        by_volume.setdefault(stored.volume, []).append(row)
    features = np.zeros((len(pool_slices), len(VOLUME_FEATURES)))
    for number, (uid, rows) in enumerate(by_volume.items(), start=1):
        progress.phase(f"slabs of volume {number} of {len(by_volume)}")
        volume = volumes[uid]
        hu = on_grid(volume, grid)
        position = {stored.slice_id: place for place, stored in enumerate(volume.slices)}
        for row in rows:
            centre = grid_index(volume, position[pool_slices[row].slice_id], grid)
            features[row] = slab_features(slab_around(hu, centre), grid)
    return features
