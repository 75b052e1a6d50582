"""A run's folder: the resumable state, the loss log and its plot, the run summary and the generators' files."""

import csv
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from generation.training.cyclegan import LOSS_NAMES, CycleGAN
from generation.training.setups import TrainingOptions

STATE_FILE = "state.pt"
LOSSES_CSV = "losses.csv"
LOSSES_PNG = "losses.png"
RUN_JSON = "run.json"
GENERATOR_FILE = "generator_mri_to_ct.safetensors"
BACKWARD_GENERATOR_FILE = "generator_ct_to_mri.safetensors"


@dataclass
class TrainingResult:
    run_dir: Path
    iteration: int
    finished: bool
    generator_path: Path | None = None
    seconds: float = 0.0
    last_losses: dict[str, float] = field(default_factory=dict)


Log = Callable[[str], None]
Progress = Callable[[int, int], None]


def _rng_state(rng: np.random.Generator) -> dict:
    state = rng.bit_generator.state
    return {
        "bit_generator": state["bit_generator"],
        "state": {k: int(v) for k, v in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def _save_state(
    path: Path,
    model: CycleGAN,
    iteration: int,
    rng: np.random.Generator,
    order: np.ndarray,
    options: TrainingOptions,
) -> None:
    state = {
        "iteration": iteration,
        "mri_order": torch.from_numpy(np.asarray(order, dtype=np.int64)),
        "options": json.dumps(options.as_dict(), sort_keys=True),
        "model": model.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": _rng_state(rng),
    }
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def read_losses(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def plot_losses(csv_path: Path, png_path: Path, title: str) -> None:
    """Loss curves (discriminators, adversarial generator terms, cycle and identity terms) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = read_losses(csv_path)
    figure, axes = pyplot.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    panels = [
        ("Discriminators", ("d_ct", "d_mri")),
        ("Generators (adversarial)", ("g_ct", "g_mri")),
        ("Cycle / identity", ("cycle_mri", "cycle_ct", "idt_ct", "idt_mri")),
    ]
    iterations = [row["iteration"] for row in rows]
    for axis, (label, names) in zip(axes, panels, strict=True):
        for name in names:
            axis.plot(iterations, [row[name] for row in rows], label=name)
        axis.set_title(label)
        axis.set_xlabel("iteration")
        axis.legend(loc="upper right")
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.savefig(png_path, dpi=90)
    pyplot.close(figure)


def _trim_log(path: Path, iteration: int) -> None:
    """Keep only rows up to `iteration` (a run killed after its last save logged rows it will log again)."""
    rows = [row for row in read_losses(path) if row["iteration"] <= iteration]
    _write_rows(path, rows, mode="w")


def _write_rows(path: Path, rows: list[dict], mode: str = "a") -> None:
    fields = ["iteration", "epoch", "lr", *LOSS_NAMES, "seconds"]
    new = mode == "w" or not path.exists()
    with open(path, mode if not new else "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({key: (int(row[key]) if key == "iteration" else row[key]) for key in fields})


def _cpu(net: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().to("cpu").contiguous() for key, value in net.state_dict().items()}
