"""Training runs: reading the two datasets into memory, running `generation.training.train`, registering the
generator. A run is a `TrainingRun` job (on the gpu queue) plus its folder; running it again resumes from the
folder's latest state.
"""

import math
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from django.db import transaction

from generation.checkpoints import CheckpointRefused, sha256_hex
from generation.inference import resolve_device
from generation.models import Checkpoint, TrainingRun
from generation.pairing import pair_slices
from generation.preprocessing import hu_to_tanh, normalise_volume, resize_batch
from generation.selectors import volume_refs
from generation.services.registry import register_checkpoint
from generation.training import GENERATOR_FILE, TrainingData, TrainingOptions, resolve_setup, train
from imaging import selectors as images
from imaging.constants import CT, DatasetKind
from imaging.pixels import load_slice_pixels
from jobs.services import JobOutcome, JobRefused, Progress, execute, queue_job, send_on_commit

Log = Callable[[str], None]


class TrainingError(JobRefused):
    """A training request that cannot be served; the message is one line saying why."""


def default_run_dir(name: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
    return Path(settings.GENERATION_TRAINING_DIR) / slug


def _dataset(name: str, kind: str, flag: str):
    dataset = images.dataset_named(name)
    if dataset is None:
        raise TrainingError(f"{flag}: no dataset named {name!r}")
    if dataset.kind != kind:
        raise TrainingError(f"{flag}: dataset {name!r} holds {dataset.get_kind_display()}")
    return dataset


def sample_counts(*, mri_dataset, ct_dataset, setup) -> tuple[int, int]:
    """Training samples per domain without reading pixels: MRI slices (or slice pairs), CT slices."""
    if len(setup.inputs) > 1:
        mri = pair_slices(volume_refs(mri_dataset, list(setup.inputs)), list(setup.inputs)).pair_count
    else:
        mri = images.slice_count(mri_dataset, modalities=setup.mri_domain)
    ct = images.slice_count(ct_dataset)
    return mri, ct


def _resized(volume: np.ndarray, size: int) -> np.ndarray:
    return resize_batch(torch.from_numpy(np.ascontiguousarray(volume)).unsqueeze(1), size).squeeze(1).numpy()


def _volume_pixels(volume) -> np.ndarray:
    return np.stack([load_slice_pixels(s.pixels) for s in volume.slices])


def load_training_data(*, mri_dataset, ct_dataset, options: TrainingOptions, log: Log) -> TrainingData:
    """Both domains at options.image_size in [-1, 1]: MRI normalised per volume, CT by the HU range."""
    setup = resolve_setup(options.setup, options.inputs if options.setup == "custom" else None)
    size = options.image_size
    mri_parts: list[np.ndarray] = []
    if len(setup.inputs) > 1:
        plan = pair_slices(volume_refs(mri_dataset, list(setup.inputs)), list(setup.inputs))
        for group in plan.groups:
            channels = []
            for position, volume in enumerate(group.volumes):
                row = {s.slice_id: i for i, s in enumerate(volume.slices)}
                normalised = _resized(normalise_volume(_volume_pixels(volume), options.normalisation), size)
                channels.append(normalised[[row[pair.slices[position].slice_id] for pair in group.pairs]])
            mri_parts.append(np.stack(channels, axis=1))
    else:
        for volume in volume_refs(mri_dataset, list(setup.mri_domain)):
            normalised = _resized(normalise_volume(_volume_pixels(volume), options.normalisation), size)
            mri_parts.append(normalised[:, None])
    ct_parts = []
    for volume in volume_refs(ct_dataset, [CT]):
        ct_parts.append(
            _resized(hu_to_tanh(_volume_pixels(volume), options.hu_min, options.hu_max), size)[:, None]
        )
    channels = len(setup.inputs)
    data = TrainingData(
        mri=np.concatenate(mri_parts).astype(np.float32)
        if mri_parts
        else np.zeros((0, channels, size, size), np.float32),
        ct=np.concatenate(ct_parts).astype(np.float32)
        if ct_parts
        else np.zeros((0, 1, size, size), np.float32),
    )
    log(
        f"training data: {len(data.mri)} MRI samples ({', '.join(setup.mri_domain)}), {len(data.ct)} CT slices at {size}x{size}"
    )
    return data


def create_training_run(
    *,
    name: str,
    mri_dataset_name: str,
    ct_dataset_name: str,
    options: TrainingOptions,
    epochs: tuple[int, int] | None = None,
    run_dir: str | None = None,
    device: str = "auto",
    register: bool = True,
    actor=None,
) -> TrainingRun:
    """A new run, or the existing one of that name if it was asked for with the same options (to resume it).

    `epochs` (constant, decaying) overrides options.iterations / decay_iterations by the datasets' size.
    """
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise TrainingError("a training run needs a name of 1 to 128 characters (--name)")
    mri_dataset = _dataset(mri_dataset_name, DatasetKind.MRI, "--mri-dataset")
    ct_dataset = _dataset(ct_dataset_name, DatasetKind.REAL_CT, "--ct-dataset")
    setup = resolve_setup(options.setup, options.inputs or None)
    options = replace(options, inputs=setup.inputs)
    mri_count, ct_count = sample_counts(mri_dataset=mri_dataset, ct_dataset=ct_dataset, setup=setup)
    if not mri_count:
        raise TrainingError(
            f"dataset {mri_dataset.name!r} has no {'/'.join(setup.mri_domain)} slices to train on"
        )
    if not ct_count:
        raise TrainingError(f"dataset {ct_dataset.name!r} has no CT slices")
    if epochs is not None:
        constant, decay = epochs
        per_epoch = math.ceil(max(mri_count, ct_count) / options.batch_size)
        options = replace(
            options, iterations=(constant + decay) * per_epoch, decay_iterations=decay * per_epoch
        )
    stored = {
        **options.as_dict(),
        "mri_dataset": mri_dataset.name,
        "ct_dataset": ct_dataset.name,
        "device": device,
        "register": register,
    }
    folder = str(Path(run_dir) if run_dir else default_run_dir(name))
    with transaction.atomic():
        existing = TrainingRun.objects.select_for_update().filter(name=name).first()
        if existing is not None:
            if existing.options != stored or existing.run_dir != folder:
                changed = sorted(k for k in stored if existing.options.get(k) != stored[k])
                what = ", ".join(changed) if changed else "run folder"
                raise TrainingError(
                    f"training run {name!r} exists with other options ({what}); choose another --name"
                )
            return existing
        return queue_job(
            TrainingRun,
            actor=actor,
            enqueue=False,
            details={"setup": options.setup, "run_dir": folder},
            name=name,
            setup=options.setup,
            options=stored,
            run_dir=folder,
            total=options.iterations,
        )


def queue_training(run: TrainingRun) -> None:
    """Send the run to the gpu queue once the current transaction commits."""
    send_on_commit(run)


def train_now(run: TrainingRun, **options) -> TrainingRun:
    """Run the training here (`train_cyclegan` without --queue); `options`: log, stop_after."""
    execute(TrainingRun.label(), run.pk, **options)
    return TrainingRun.objects.get(pk=run.pk)


def options_of(run: TrainingRun) -> TrainingOptions:
    fields = {
        k: v for k, v in run.options.items() if k not in ("mri_dataset", "ct_dataset", "device", "register")
    }
    fields["inputs"] = tuple(fields["inputs"])
    return TrainingOptions(**fields)


def run_training(
    run: TrainingRun, progress: Progress, *, log: Log | None = None, stop_after: int | None = None
) -> JobOutcome:
    """The run's job runner: train (resuming from the run folder), then register the generator under its name."""
    log = log or (lambda line: None)
    progress.phase("loading data")
    options = options_of(run)
    mri_dataset = _dataset(run.options["mri_dataset"], DatasetKind.MRI, "--mri-dataset")
    ct_dataset = _dataset(run.options["ct_dataset"], DatasetKind.REAL_CT, "--ct-dataset")
    data = load_training_data(mri_dataset=mri_dataset, ct_dataset=ct_dataset, options=options, log=log)
    device = resolve_device(run.options.get("device", "auto"))
    log(f"training on {device} for {options.iterations} iterations into {run.run_dir}")
    progress.set(run.done, options.iterations, "training")

    def on_iteration(iteration: int, total: int) -> None:
        progress.set(iteration, total)

    result = train(
        options, data, run.run_dir, device=device, log=log, progress=on_iteration, stop_after=stop_after
    )
    if not result.finished:
        progress.set(result.iteration)
        return JobOutcome(message=f"stopped at {result.iteration}", paused=True)
    checkpoint = None
    if run.options.get("register", True):
        checkpoint = _register(run, options, ct_dataset, result.generator_path)
        log(f"registered checkpoint {checkpoint.name!r} (sha256 {checkpoint.sha256[:12]}...)")
        TrainingRun.objects.filter(pk=run.pk).update(checkpoint=checkpoint)
    progress.set(result.iteration)
    return JobOutcome(
        message=f"finished: {Path(run.run_dir) / GENERATOR_FILE}",
        result={"iterations": result.iteration, "checkpoint": checkpoint.name if checkpoint else None},
    )


def _register(run: TrainingRun, options: TrainingOptions, ct_dataset, path: Path) -> Checkpoint:
    data = Path(path).read_bytes()
    existing = Checkpoint.objects.filter(name=run.name).first()
    if existing is not None:
        if existing.provenance.get("source_sha256") == sha256_hex(data):
            return existing
        raise CheckpointRefused(f"a different checkpoint named {run.name!r} is already registered")
    return register_checkpoint(
        name=run.name,
        data=data,
        inputs=list(options.inputs),
        contrast=bool(ct_dataset.contrast_enhanced),
        hu_range=(options.hu_min, options.hu_max),
        arch="multimodal" if options.multimodal else "resnet",
        normalisation=options.normalisation,
        input_size=options.image_size,
        provenance={
            "trained_by": "train_cyclegan",
            "training_run": run.pk,
            "setup": options.setup,
            "options": run.options,
            "run_dir": run.run_dir,
            "mri_dataset": run.options["mri_dataset"],
            "ct_dataset": ct_dataset.name,
            "volumes": images.volume_count(ct_dataset),
        },
    )
