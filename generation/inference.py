"""Running a generator on batches of normalised MRI: device choice, per-process model cache, tanh to HU.

Pure PyTorch, no Django. Nothing here touches CUDA until a batch is actually run, so a Celery prefork parent
that imports this module never initialises CUDA before it forks its workers.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from generation.checkpoints import (
    FINGERPRINT_TOLERANCE,
    Architecture,
    fingerprint,
    fingerprint_difference,
    fingerprint_input,
)
from generation.preprocessing import resize_batch, tanh_to_hu

PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Reduced precision moves a tanh output by more than fp32 rounding does; this is what still counts as the model.
REDUCED_PRECISION_FINGERPRINT_TOLERANCE = 0.05


class GeneratorMismatch(RuntimeError):
    """Stored weights that no longer give the output measured at registration."""


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> the first CUDA device if there is one, else the CPU; otherwise the named device."""
    if name in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available")
    return device


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return f"cpu ({torch.get_num_threads()} threads)"


@dataclass
class LoadedGenerator:
    model: nn.Module
    architecture: Architecture
    device: torch.device
    precision: str
    channels_last: bool

    def launch(self, inputs: list[torch.Tensor], *, size: int, hu_min: int, hu_max: int) -> torch.Tensor:
        """Start one batch: a (B, H_i, W_i) float32 MRI tensor in [-1, 1] per input modality in, (B, size, size)
        int16 HU out, left on the device (on CUDA the call returns before the work is done).

        Each modality is moved to the device and resized there to the model's input size, then stacked as
        channels in input order.
        """
        cuda = self.device.type == "cuda"
        with torch.inference_mode():
            channels = [
                resize_batch(
                    (images.pin_memory() if cuda else images).to(self.device, non_blocking=True).unsqueeze(1),
                    size,
                )
                for images in inputs
            ]
            batch = torch.cat(channels, dim=1)
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            return tanh_to_hu(self.forward(batch)[:, 0], hu_min, hu_max)

    def translate(self, inputs: list[torch.Tensor], *, size: int, hu_min: int, hu_max: int) -> torch.Tensor:
        """`launch`, waiting for the result: (B, size, size) int16 HU on the CPU."""
        return self.launch(inputs, size=size, hu_min=hu_min, hu_max=hu_max).cpu()

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """The bare generator on a prepared batch (already on the device, resized), as float32 tanh output."""
        with torch.inference_mode():
            if self.precision == "fp32":
                return self.model(batch)
            with torch.autocast(device_type=self.device.type, dtype=_DTYPES[self.precision]):
                return self.model(batch).float()


def load_generator(
    architecture: Architecture,
    state_dict: dict[str, torch.Tensor],
    *,
    device: torch.device,
    precision: str = "fp32",
    channels_last: bool = False,
    compile_model: bool = False,
) -> LoadedGenerator:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    model = architecture.build()
    model.load_state_dict(state_dict, strict=True)
    model = model.eval().to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compile_model:
        model = torch.compile(model)
    return LoadedGenerator(model, architecture, device, precision, channels_last)


def verify_fingerprint(generator: LoadedGenerator, expected: dict) -> float:
    """Run the registration's fixed input; GeneratorMismatch if the output moved beyond tolerance."""
    size = int(expected["size"])
    batch = fingerprint_input(generator.architecture.n_inputs, size).to(generator.device)
    found = fingerprint(generator.forward(batch))
    difference = fingerprint_difference(expected, found)
    tolerance = (
        FINGERPRINT_TOLERANCE if generator.precision == "fp32" else REDUCED_PRECISION_FINGERPRINT_TOLERANCE
    )
    if difference > tolerance:
        raise GeneratorMismatch(
            f"output on the fixed input differs from the registered fingerprint by {difference:.4g} "
            f"(tolerance {tolerance:g}) on {generator.device} in {generator.precision}"
        )
    return difference


class GeneratorCache:
    """Loaded generators of this process by (weights sha256, device, precision), the last `size` used.

    A worker process loads a checkpoint once and reuses it for every job; the loader runs only on a miss.
    """

    def __init__(self, size: int = 4):
        self.size = size
        self._models: OrderedDict[tuple, LoadedGenerator] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0

    def get(
        self,
        sha256: str,
        *,
        device: torch.device,
        precision: str,
        loader: Callable[[], tuple[Architecture, dict[str, torch.Tensor], dict]],
    ) -> LoadedGenerator:
        key = (sha256, str(device), precision)
        with self._lock:
            cached = self._models.get(key)
            if cached is not None:
                self._models.move_to_end(key)
                return cached
            architecture, state_dict, expected_fingerprint = loader()
            generator = load_generator(architecture, state_dict, device=device, precision=precision)
            verify_fingerprint(generator, expected_fingerprint)
            self._models[key] = generator
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            self.loads += 1
            return generator

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


GENERATORS = GeneratorCache()
