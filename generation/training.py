"""CycleGAN training with the paper's recipe. Pure PyTorch/NumPy, no Django.

Least-squares GAN losses, cycle-consistency weight 10, identity weight 0.5 (relative to the cycle weight)
where the generators map one channel to one channel (none for multimodal networks), a pool of the last 50
generated images for the discriminators, Adam at 2e-4 with betas (0.5, 0.999), the learning rate constant
for the first part of the run and then decaying linearly to zero, random crops and horizontal flips, and
unpaired sampling of the two domains.

A run lives in one folder: `state.pt` (everything needed to resume: networks, optimisers, image pools, random
number generator states, iteration), `losses.csv` (one row per logging interval), `losses.png`, `run.json`,
and at the end `generator_mri_to_ct.safetensors` / `generator_ct_to_mri.safetensors`. Starting a run in a
folder that has a state resumes it, refusing if the options differ.
"""

import csv
import itertools
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from generation.networks import (
    MULTIMODAL_BRANCH_BLOCKS,
    MultimodalBackwardGenerator,
    MultimodalGenerator,
    NLayerDiscriminator,
    ResnetGenerator,
    init_weights,
)

STATE_FILE = "state.pt"
LOSSES_CSV = "losses.csv"
LOSSES_PNG = "losses.png"
RUN_JSON = "run.json"
GENERATOR_FILE = "generator_mri_to_ct.safetensors"
BACKWARD_GENERATOR_FILE = "generator_ct_to_mri.safetensors"

LOSS_NAMES = ("d_ct", "d_mri", "g_ct", "g_mri", "cycle_mri", "cycle_ct", "idt_ct", "idt_mri")


@dataclass(frozen=True)
class Setup:
    """Which MRI modalities feed the generator, and which form the MRI domain of a single-input model."""

    name: str
    inputs: tuple[str, ...]
    mri_domain: tuple[str, ...]
    description: str


SETUPS: dict[str, Setup] = {
    setup.name: setup
    for setup in (
        Setup("in_phase", ("t1_in",), ("t1_in",), "single input: T1 in-phase"),
        Setup("all_in", ("t1_in",), ("t1_in", "t1_out"), "single input: T1 in-phase and out-of-phase pooled"),
        Setup("t2", ("t2",), ("t2",), "single input: T2"),
        Setup("in_n_out", ("t1_in", "t1_out"), ("t1_in", "t1_out"), "two inputs: T1 in-phase + out-of-phase"),
        Setup("triple", ("t1_in", "t1_out", "t2"), ("t1_in", "t1_out", "t2"), "three inputs: T1 in/out + T2"),
    )
}


def resolve_setup(name: str, inputs: tuple[str, ...] | None = None) -> Setup:
    """The named setup; 'custom' takes `inputs` (one input: a single-input model; more: multimodal)."""
    if name == "custom":
        if not inputs:
            raise ValueError("--setup custom needs --inputs, e.g. --inputs t1_out or --inputs t1_out,t2")
        return Setup("custom", tuple(inputs), tuple(inputs), f"custom: {', '.join(inputs)}")
    if name not in SETUPS:
        raise ValueError(f"--setup must be one of {', '.join([*SETUPS, 'custom'])}, not {name!r}")
    if inputs and tuple(inputs) != SETUPS[name].inputs:
        raise ValueError(f"--inputs is only for --setup custom ({name} uses {','.join(SETUPS[name].inputs)})")
    return SETUPS[name]


@dataclass(frozen=True)
class TrainingOptions:
    setup: str
    inputs: tuple[str, ...]
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 9  # single input: residual blocks; multimodal: blocks after the fusion
    branch_blocks: int = MULTIMODAL_BRANCH_BLOCKS
    image_size: int = 256
    crop_size: int = 256
    batch_size: int = 1
    iterations: int = 1000
    decay_iterations: int = 500
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50
    seed: int = 0
    flip: bool = True
    normalisation: str = "percentile_0_5_99_5"
    hu_min: int = -1024
    hu_max: int = 3071
    log_every: int = 50
    save_every: int = 500

    def __post_init__(self):
        checks = [
            (self.ngf >= 1 and self.ndf >= 1, "--ngf and --ndf must be at least 1"),
            (self.n_blocks >= 0 and self.branch_blocks >= 0, "--n-blocks must not be negative"),
            (
                self.image_size % 4 == 0 and 16 <= self.image_size <= 2048,
                "--image-size must be a multiple of 4 in 16..2048",
            ),
            (
                self.crop_size % 4 == 0 and 16 <= self.crop_size <= self.image_size,
                "--crop-size must be a multiple of 4 in 16..--image-size",
            ),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.iterations >= 1, "the run needs at least one iteration"),
            (0 <= self.decay_iterations <= self.iterations, "decay iterations must be within the run"),
            (self.lr > 0, "--lr must be positive"),
            (self.lambda_cycle >= 0 and self.lambda_identity >= 0, "loss weights must not be negative"),
            (self.pool_size >= 0, "--pool-size must not be negative"),
            (self.log_every >= 1 and self.save_every >= 1, "--log-every and --save-every must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def multimodal(self) -> bool:
        return len(self.inputs) > 1

    @property
    def uses_identity(self) -> bool:
        return not self.multimodal and self.lambda_identity > 0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["inputs"] = list(self.inputs)
        return data


def learning_rate(options: TrainingOptions, iteration: int) -> float:
    """Constant until the decay starts, then linear towards zero (the reference's 'linear' policy)."""
    decay_start = options.iterations - options.decay_iterations
    passed = max(0, iteration - decay_start)
    return options.lr * (1.0 - passed / float(options.decay_iterations + 1))


@dataclass
class TrainingData:
    """Both domains in memory at image_size: MRI (N, n_inputs, S, S) and CT (M, 1, S, S), float32 in [-1, 1]."""

    mri: np.ndarray
    ct: np.ndarray

    def check(self, options: TrainingOptions) -> None:
        size = options.image_size
        if self.mri.ndim != 4 or self.mri.shape[1:] != (len(options.inputs), size, size):
            raise ValueError(
                f"MRI training array has shape {self.mri.shape}, expected (N, {len(options.inputs)}, {size}, {size})"
            )
        if self.ct.ndim != 4 or self.ct.shape[1:] != (1, size, size):
            raise ValueError(f"CT training array has shape {self.ct.shape}, expected (M, 1, {size}, {size})")
        if len(self.mri) == 0 or len(self.ct) == 0:
            raise ValueError(
                f"training needs MRI and CT slices; got {len(self.mri)} MRI and {len(self.ct)} CT"
            )

    def iterations_per_epoch(self, batch_size: int) -> int:
        return math.ceil(max(len(self.mri), len(self.ct)) / batch_size)


def augment(images: np.ndarray, options: TrainingOptions, rng: np.random.Generator) -> np.ndarray:
    """Random crop (with a margin of background when the crop is the full size) and horizontal flip."""
    count, channels, size, _ = images.shape
    crop = options.crop_size
    if crop == size:
        margin = size // 16
        padded = np.pad(images, ((0, 0), (0, 0), (margin, margin), (margin, margin)), constant_values=-1.0)
        span = 2 * margin
    else:
        padded, span = images, size - crop
    out = np.empty((count, channels, crop, crop), dtype=np.float32)
    for i in range(count):
        top, left = (int(v) for v in rng.integers(0, span + 1, size=2))
        patch = padded[i, :, top : top + crop, left : left + crop]
        out[i] = patch[:, :, ::-1] if options.flip and rng.random() < 0.5 else patch
    return out


class ImagePool:
    """The last `size` generated images; half of each query is answered from the pool (Shrivastava et al.)."""

    def __init__(self, size: int):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        if self.size == 0:
            return images
        answered = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                answered.append(image)
            elif rng.random() < 0.5:
                slot = int(rng.integers(0, self.size))
                answered.append(self.images[slot].clone())
                self.images[slot] = image.clone()
            else:
                answered.append(image)
        return torch.cat(answered, dim=0)


def _lsgan(scores: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(scores) if real else torch.zeros_like(scores)
    return nn.functional.mse_loss(scores, target)


class CycleGAN:
    """Both generators, the CT discriminator and one discriminator per MRI modality, with their optimisers."""

    def __init__(self, options: TrainingOptions, device: torch.device):
        self.options = options
        self.device = device
        n = len(options.inputs)
        if options.multimodal:
            self.generator_mri_to_ct: nn.Module = MultimodalGenerator(
                n, 1, options.ngf, n_branch_blocks=options.branch_blocks, n_decoder_blocks=options.n_blocks
            )
            self.generator_ct_to_mri: nn.Module = MultimodalBackwardGenerator(
                n, 1, options.ngf, n_encoder_blocks=options.n_blocks, n_head_blocks=options.branch_blocks
            )
        else:
            self.generator_mri_to_ct = ResnetGenerator(1, 1, options.ngf, options.n_blocks)
            self.generator_ct_to_mri = ResnetGenerator(1, 1, options.ngf, options.n_blocks)
        self.discriminator_ct = NLayerDiscriminator(1, options.ndf)
        self.discriminators_mri = nn.ModuleList(NLayerDiscriminator(1, options.ndf) for _ in range(n))
        for net in self.networks.values():
            init_weights(net).to(device).train()
        betas = (options.beta1, options.beta2)
        self.optimizer_g = torch.optim.Adam(
            itertools.chain(self.generator_mri_to_ct.parameters(), self.generator_ct_to_mri.parameters()),
            lr=options.lr,
            betas=betas,
        )
        self.optimizer_d = torch.optim.Adam(
            itertools.chain(self.discriminator_ct.parameters(), self.discriminators_mri.parameters()),
            lr=options.lr,
            betas=betas,
        )
        self.pool_ct = ImagePool(options.pool_size)
        self.pool_mri = ImagePool(options.pool_size)

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {
            "generator_mri_to_ct": self.generator_mri_to_ct,
            "generator_ct_to_mri": self.generator_ct_to_mri,
            "discriminator_ct": self.discriminator_ct,
            "discriminators_mri": self.discriminators_mri,
        }

    def _set_discriminators_trainable(self, trainable: bool) -> None:
        for net in (self.discriminator_ct, self.discriminators_mri):
            for parameter in net.parameters():
                parameter.requires_grad_(trainable)

    def step(
        self, mri: torch.Tensor, ct: torch.Tensor, lr: float, rng: np.random.Generator
    ) -> dict[str, float]:
        """One optimisation step of the generators, then of the discriminators; returns the losses."""
        options = self.options
        for optimizer in (self.optimizer_g, self.optimizer_d):
            for group in optimizer.param_groups:
                group["lr"] = lr
        fake_ct = self.generator_mri_to_ct(mri)
        reconstructed_mri = self.generator_ct_to_mri(fake_ct)
        fake_mri = self.generator_ct_to_mri(ct)
        reconstructed_ct = self.generator_mri_to_ct(fake_mri)

        self._set_discriminators_trainable(False)
        self.optimizer_g.zero_grad(set_to_none=True)
        loss_g_ct = _lsgan(self.discriminator_ct(fake_ct), True)
        loss_g_mri = sum(
            _lsgan(discriminator(fake_mri[:, i : i + 1]), True)
            for i, discriminator in enumerate(self.discriminators_mri)
        )
        loss_cycle_mri = nn.functional.l1_loss(reconstructed_mri, mri) * options.lambda_cycle
        loss_cycle_ct = nn.functional.l1_loss(reconstructed_ct, ct) * options.lambda_cycle
        loss_idt_ct = loss_idt_mri = torch.zeros((), device=self.device)
        if options.uses_identity:
            weight = options.lambda_cycle * options.lambda_identity
            loss_idt_ct = nn.functional.l1_loss(self.generator_mri_to_ct(ct), ct) * weight
            loss_idt_mri = nn.functional.l1_loss(self.generator_ct_to_mri(mri), mri) * weight
        loss_g = loss_g_ct + loss_g_mri + loss_cycle_mri + loss_cycle_ct + loss_idt_ct + loss_idt_mri
        loss_g.backward()
        self.optimizer_g.step()

        self._set_discriminators_trainable(True)
        self.optimizer_d.zero_grad(set_to_none=True)
        pooled_ct = self.pool_ct.query(fake_ct, rng)
        loss_d_ct = 0.5 * (
            _lsgan(self.discriminator_ct(ct), True) + _lsgan(self.discriminator_ct(pooled_ct), False)
        )
        pooled_mri = self.pool_mri.query(fake_mri, rng)
        loss_d_mri = sum(
            0.5
            * (
                _lsgan(discriminator(mri[:, i : i + 1]), True)
                + _lsgan(discriminator(pooled_mri[:, i : i + 1]), False)
            )
            for i, discriminator in enumerate(self.discriminators_mri)
        )
        (loss_d_ct + loss_d_mri).backward()
        self.optimizer_d.step()
        values = (
            loss_d_ct,
            loss_d_mri,
            loss_g_ct,
            loss_g_mri,
            loss_cycle_mri,
            loss_cycle_ct,
            loss_idt_ct,
            loss_idt_mri,
        )
        return {name: float(value.detach()) for name, value in zip(LOSS_NAMES, values, strict=True)}

    def state_dict(self) -> dict:
        return {
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "pool_ct": [image.cpu() for image in self.pool_ct.images],
            "pool_mri": [image.cpu() for image in self.pool_mri.images],
        }

    def load_state_dict(self, state: dict) -> None:
        for name, net in self.networks.items():
            net.load_state_dict(state["networks"][name])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        self.pool_ct.images = [image.to(self.device) for image in state["pool_ct"]]
        self.pool_mri.images = [image.to(self.device) for image in state["pool_mri"]]


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


def _cpu(net: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().to("cpu").contiguous() for key, value in net.state_dict().items()}
