"""The training loop: resume from the run folder, train, log, save, and write the generators at the end."""

import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from generation.training.cyclegan import LOSS_NAMES, CycleGAN
from generation.training.data import TrainingData, augment
from generation.training.run_folder import (
    BACKWARD_GENERATOR_FILE,
    GENERATOR_FILE,
    LOSSES_CSV,
    LOSSES_PNG,
    RUN_JSON,
    STATE_FILE,
    Log,
    Progress,
    TrainingResult,
    _cpu,
    _save_state,
    _trim_log,
    _write_rows,
    plot_losses,
    read_losses,
)
from generation.training.setups import TrainingOptions, learning_rate


def train(
    options: TrainingOptions,
    data: TrainingData,
    run_dir: str | os.PathLike,
    *,
    device: torch.device,
    log: Log = print,
    progress: Progress | None = None,
    stop_after: int | None = None,
) -> TrainingResult:
    """Train (or resume) the run in `run_dir`; return where it stopped and, when finished, the generator file.

    `stop_after` ends this call after that many iterations of the run (with a saved state), to split a run.
    """
    data.check(options)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path, csv_path = run_dir / STATE_FILE, run_dir / LOSSES_CSV
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    model = CycleGAN(options, device)
    start = 0
    order = np.array([], dtype=np.int64)
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        saved_options = json.loads(state["options"])
        if saved_options != json.loads(json.dumps(options.as_dict(), sort_keys=True)):
            changed = sorted(k for k in saved_options if saved_options.get(k) != options.as_dict().get(k))
            raise ValueError(
                f"{run_dir} holds a run with other options ({', '.join(changed)}); use another folder"
            )
        model.load_state_dict(state["model"])
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = state["numpy_rng"]
        start = int(state["iteration"])
        order = state["mri_order"].numpy()
        _trim_log(csv_path, start)
        log(f"resuming {run_dir} at iteration {start}/{options.iterations}")
    summary = {"options": options.as_dict(), "mri_samples": len(data.mri), "ct_slices": len(data.ct)}
    (run_dir / RUN_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    per_epoch = data.iterations_per_epoch(options.batch_size)
    sums: dict[str, float] = dict.fromkeys(LOSS_NAMES, 0.0)
    counted = 0
    started = time.monotonic()
    end = options.iterations if stop_after is None else min(options.iterations, stop_after)
    losses: dict[str, float] = {}
    iteration = start
    for iteration in range(start + 1, end + 1):
        # Unpaired: MRI in shuffled order (new shuffle when used up), CT drawn independently at random.
        if len(order) < options.batch_size:
            order = np.concatenate([order, rng.permutation(len(data.mri))])
        mri_index, order = order[: options.batch_size], order[options.batch_size :]
        ct_index = rng.integers(0, len(data.ct), size=options.batch_size)
        mri = torch.from_numpy(augment(data.mri[mri_index], options, rng)).to(device)
        ct = torch.from_numpy(augment(data.ct[ct_index], options, rng)).to(device)
        lr = learning_rate(options, iteration - 1)
        losses = model.step(mri, ct, lr, rng)
        for name in LOSS_NAMES:
            sums[name] += losses[name]
        counted += 1
        if iteration % options.log_every == 0 or iteration == options.iterations:
            elapsed = time.monotonic() - started
            row = {
                "iteration": iteration,
                "epoch": round(iteration / per_epoch, 3),
                "lr": lr,
                **{k: v / counted for k, v in sums.items()},
                "seconds": round(elapsed, 2),
            }
            _write_rows(csv_path, [row])
            rate = (iteration - start) / elapsed if elapsed > 0 else 0.0
            eta = (options.iterations - iteration) / rate if rate > 0 else 0.0
            log(
                f"iteration {iteration}/{options.iterations} lr {lr:.2e} "
                + " ".join(
                    f"{k} {row[k]:.3f}"
                    for k in LOSS_NAMES
                    if options.uses_identity or not k.startswith("idt")
                )
                + f" ({rate:.2f} it/s, ETA {eta / 60:.1f} min)"
            )
            sums = dict.fromkeys(LOSS_NAMES, 0.0)
            counted = 0
        if iteration % options.save_every == 0 or iteration == end:
            _save_state(state_path, model, iteration, rng, order, options)
            plot_losses(
                csv_path, run_dir / LOSSES_PNG, f"CycleGAN {options.setup} ({', '.join(options.inputs)})"
            )
        if progress:
            progress(iteration, options.iterations)
    if start >= end:
        iteration = start
    result = TrainingResult(
        run_dir,
        iteration,
        iteration >= options.iterations,
        seconds=time.monotonic() - started,
        last_losses=losses,
    )
    if result.finished:
        metadata = {"format": "pt", "blindread_training": json.dumps(options.as_dict(), sort_keys=True)}
        save_file(_cpu(model.generator_mri_to_ct), run_dir / GENERATOR_FILE, metadata=metadata)
        save_file(_cpu(model.generator_ct_to_mri), run_dir / BACKWARD_GENERATOR_FILE, metadata=metadata)
        result.generator_path = run_dir / GENERATOR_FILE
        if not (run_dir / LOSSES_PNG).exists():
            plot_losses(csv_path, run_dir / LOSSES_PNG, f"CycleGAN {options.setup}")
        summary["finished"] = {
            "iterations": result.iteration,
            "seconds_this_call": round(result.seconds, 1),
            "last_losses": result.last_losses,
            "last_logged": read_losses(csv_path)[-1] if read_losses(csv_path) else None,
        }
        (run_dir / RUN_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    return result
