"""Reading, checking and fingerprinting generator checkpoint files. Pure PyTorch/safetensors, no Django.

A file is accepted only if it is plain tensors: safetensors, or a `.pth` that `torch.load(weights_only=True)`
reads (a state dict saved with `torch.save(net.state_dict(), ...)`, as the reference CycleGAN code does).
Anything that would need to import or call code to load (a pickled whole model, a crafted pickle) is refused
before any of it runs. Every refusal is a `CheckpointRefused` whose message is one line naming the problem.
"""

import hashlib
import io
import json
import pickle
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save
from torch import nn

from generation.networks import (
    MultimodalGenerator,
    ResnetGenerator,
    count_parameters,
    drop_instance_norm_running_stats,
    infer_multimodal_generator_config,
    infer_resnet_generator_config,
)
from generation.vocabulary import MULTIMODAL, RESNET, CheckpointRefused
from jobs.errors import first_line

# What --arch accepts: a family, "auto", or the reference's generator names such as resnet_9blocks.
_ARCH_PATTERN = re.compile(r"(?P<family>auto|resnet|multimodal)(?:_(?P<blocks>\d+)blocks)?")

FINGERPRINT_INPUT = "sinusoids-v1"
# Outputs agreeing to this absolute difference (in tanh units, about 1 HU over a 4095 HU range) match.
FINGERPRINT_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Architecture:
    """A generator family and the constructor arguments that rebuild it."""

    kind: str  # resnet | multimodal
    config: dict[str, int]

    @property
    def n_inputs(self) -> int:
        return self.config["input_nc"] if self.kind == RESNET else self.config["n_inputs"]

    @property
    def output_nc(self) -> int:
        return self.config["output_nc"]

    @property
    def residual_blocks(self) -> int:
        if self.kind == RESNET:
            return self.config["n_blocks"]
        return self.config["n_branch_blocks"] + self.config["n_decoder_blocks"]

    def build(self) -> nn.Module:
        if self.kind == RESNET:
            return ResnetGenerator(**self.config)
        if self.kind == MULTIMODAL:
            return MultimodalGenerator(**self.config)
        raise ValueError(f"unknown architecture {self.kind!r}")

    def describe(self) -> str:
        arguments = ", ".join(f"{key}={value}" for key, value in self.config.items())
        name = "ResnetGenerator" if self.kind == RESNET else "MultimodalGenerator"
        return f"{name}({arguments})"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "config": dict(self.config)}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Architecture":
        return cls(kind=data["kind"], config={key: int(value) for key, value in data["config"].items()})


@dataclass
class PreparedCheckpoint:
    """A checked generator ready to store: its clean weights as safetensors bytes and what was measured."""

    architecture: Architecture
    weights: bytes
    sha256: str
    parameter_count: int
    fingerprint: dict
    source_format: str
    source_sha256: str
    notes: list[str] = field(default_factory=list)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- Reading a file ------------------------------------------------------------------------------------------


def _is_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    (header_length,) = struct.unpack("<Q", data[:8])
    return data[8:9] == b"{" and header_length < (1 << 27)


def _unpickling_refusal(exc: pickle.UnpicklingError) -> CheckpointRefused:
    text = str(exc)
    imported = re.search(r"GLOBAL ([\w.]+)", text)
    if imported:
        return CheckpointRefused(
            f"refused: loading the file would import {imported.group(1)} - it is not a plain state dict of "
            "tensors (save it with torch.save(net.state_dict(), path))"
        )
    opcode = re.search(r"Unsupported operand (\d+)", text)
    detail = f" (pickle opcode {opcode.group(1)})" if opcode else ""
    return CheckpointRefused(
        f"refused: the file is a pickle that a plain state dict of tensors does not need{detail}"
    )


def read_state_dict(data: bytes) -> tuple[dict[str, torch.Tensor], str]:
    """The tensors in a safetensors or `.pth` file's bytes, and which of the two formats it was.

    `.pth` files go through `torch.load(weights_only=True)` only, which refuses any pickled class or
    function before calling it. A `{"state_dict": {...}}` wrapper is unwrapped; anything that is not a
    mapping of names to tensors is refused.
    """
    if not data:
        raise CheckpointRefused("the file is empty")
    if _is_safetensors(data):
        try:
            return dict(safetensors_load(data)), "safetensors"
        except (SafetensorError, ValueError, RuntimeError) as exc:
            raise CheckpointRefused(
                f"the safetensors file is truncated or corrupt ({first_line(exc)})"
            ) from None
    if not (data[:4] == b"PK\x03\x04" or data[:1] == b"\x80"):
        raise CheckpointRefused("not a PyTorch (.pth) or safetensors file")
    try:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _unpickling_refusal(exc) from None
    except Exception as exc:  # torch raises RuntimeError, EOFError, KeyError... for cut or damaged files
        raise CheckpointRefused(
            f"the file is truncated or corrupt ({exc.__class__.__name__}: {first_line(exc)})"
        ) from None
    if isinstance(loaded, Mapping) and len(loaded) == 1:
        (only_key,) = loaded
        if only_key in ("state_dict", "model_state_dict", "model") and isinstance(loaded[only_key], Mapping):
            loaded = loaded[only_key]
    if not isinstance(loaded, Mapping):
        raise CheckpointRefused(f"the file holds a {type(loaded).__name__}, not a state dict of tensors")
    for key, value in loaded.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointRefused(
                f"the file's dict has {type(value).__name__} at key {key!r}; a state dict holds only tensors"
            )
    return dict(loaded), "pth"


def clean_state_dict(state_dict: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Strip a DataParallel `module.` prefix and drop instance-norm running statistics (never used here).

    Returns the cleaned dict and notes saying what was changed.
    """
    notes = []
    cleaned = dict(state_dict)
    if cleaned and all(key.startswith("module.") for key in cleaned):
        cleaned = {key.removeprefix("module."): value for key, value in cleaned.items()}
        notes.append("stripped the 'module.' prefix")
    before = len(cleaned)
    cleaned = drop_instance_norm_running_stats(cleaned)
    if len(cleaned) < before:
        notes.append(f"dropped {before - len(cleaned)} instance-norm running statistics")
    return cleaned, notes


def as_float32(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous float32 CPU copies; CheckpointRefused for a tensor that is not floating point."""
    for key, value in state_dict.items():
        if not value.is_floating_point():
            raise CheckpointRefused(f"tensor {key!r} has dtype {value.dtype}, not floating point")
    return {key: value.detach().to("cpu", torch.float32).contiguous() for key, value in state_dict.items()}


def infer_architecture(state_dict: Mapping[str, torch.Tensor]) -> Architecture:
    """The generator the tensor shapes describe; CheckpointRefused (one line) if they describe none."""
    try:
        if any(key.startswith("branches.") for key in state_dict):
            return Architecture(MULTIMODAL, infer_multimodal_generator_config(state_dict))
        return Architecture(RESNET, infer_resnet_generator_config(state_dict))
    except ValueError as exc:
        raise CheckpointRefused(str(exc)) from None


def parse_arch(text: str) -> tuple[str, int | None]:
    """'auto', 'resnet', 'multimodal' or a reference name like 'resnet_9blocks' -> (family, blocks or None)."""
    match = _ARCH_PATTERN.fullmatch((text or "auto").strip().lower())
    if not match:
        raise CheckpointRefused(
            f"--arch must be auto, resnet, multimodal or resnet_<N>blocks (as resnet_9blocks), not {text!r}"
        )
    blocks = match.group("blocks")
    return match.group("family"), int(blocks) if blocks else None


def check_declaration(architecture: Architecture, *, inputs: list[str], arch: str = "auto") -> None:
    """CheckpointRefused unless the file's generator fits the declared inputs and architecture."""
    family, blocks = parse_arch(arch)
    if family != "auto" and family != architecture.kind:
        raise CheckpointRefused(f"declared --arch {arch}, but the file holds {architecture.describe()}")
    if blocks is not None and blocks != architecture.residual_blocks:
        raise CheckpointRefused(
            f"declared --arch {arch}, but the file has {architecture.residual_blocks} residual blocks"
        )
    if architecture.output_nc != 1:
        raise CheckpointRefused(
            f"the file's generator outputs {architecture.output_nc} channels; a CT generator outputs 1"
        )
    if architecture.n_inputs != len(inputs):
        plural = "s" if len(inputs) != 1 else ""
        raise CheckpointRefused(
            f"declared inputs {','.join(inputs)} expect {len(inputs)} input channel{plural}, "
            f"file has {architecture.n_inputs}"
        )


def build_generator(architecture: Architecture, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """The generator with `state_dict` loaded strictly, in eval mode on the CPU."""
    model = architecture.build()
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise CheckpointRefused(f"strict load failed: {first_line(exc)}") from None
    return model.eval()


# --- Fingerprint -------------------------------------------------------------------------------------------


def fingerprint_input(n_inputs: int, size: int) -> torch.Tensor:
    """A fixed smooth test pattern (1, n_inputs, size, size) in [-1, 1], the same on every machine."""
    coordinates = torch.linspace(-1.0, 1.0, size, dtype=torch.float64)
    y, x = torch.meshgrid(coordinates, coordinates, indexing="ij")
    channels = [
        torch.sin(3.0 * (channel + 1) * x + 2.0 * y) * torch.cos(2.0 * (channel + 1) * y - x)
        for channel in range(n_inputs)
    ]
    return torch.stack(channels).unsqueeze(0).to(torch.float32)


def _sample_positions(size: int) -> list[tuple[int, int]]:
    steps = np.linspace(0, size - 1, 4).round().astype(int)
    return [(int(row), int(column)) for row in steps for column in steps]


def fingerprint(output: torch.Tensor) -> dict:
    """Summary of a generator's output on `fingerprint_input`: statistics and 16 sampled values."""
    image = output.detach().to("cpu", torch.float64)[0, 0]
    size = image.shape[-1]
    return {
        "input": FINGERPRINT_INPUT,
        "size": int(size),
        "mean": round(float(image.mean()), 6),
        "std": round(float(image.std()), 6),
        "min": round(float(image.min()), 6),
        "max": round(float(image.max()), 6),
        "samples": [round(float(image[row, column]), 6) for row, column in _sample_positions(size)],
    }


def fingerprint_difference(expected: Mapping, found: Mapping) -> float:
    """Largest absolute difference between two fingerprints' sampled values and statistics."""
    values = ["mean", "std", "min", "max"]
    differences = [abs(expected[key] - found[key]) for key in values]
    differences += [abs(a - b) for a, b in zip(expected["samples"], found["samples"], strict=True)]
    return max(differences)


def smoke_test(model: nn.Module, *, n_inputs: int, size: int) -> dict:
    """Run the fixed input through `model`; the output must be finite, in [-1, 1], shaped (1, 1, size, size).

    Returns its fingerprint.
    """
    with torch.inference_mode():
        try:
            output = model(fingerprint_input(n_inputs, size))
        except RuntimeError as exc:
            raise CheckpointRefused(f"smoke forward pass failed: {first_line(exc)}") from None
    if tuple(output.shape) != (1, 1, size, size):
        raise CheckpointRefused(
            f"smoke forward pass gave shape {tuple(output.shape)}, expected {(1, 1, size, size)}"
        )
    if not torch.isfinite(output).all():
        raise CheckpointRefused("smoke forward pass gave NaN or infinite values")
    low, high = float(output.min()), float(output.max())
    if low < -1.0 or high > 1.0:
        raise CheckpointRefused(f"smoke forward pass gave values {low:.3f}..{high:.3f}, outside [-1, 1]")
    return fingerprint(output)


# --- The whole check ---------------------------------------------------------------------------------------


def weights_bytes(state_dict: Mapping[str, torch.Tensor], architecture: Architecture) -> bytes:
    """The clean state dict as safetensors, with the architecture in the metadata (deterministic bytes)."""
    # One metadata key only: safetensors writes several in no fixed order, which would change the sha256.
    metadata = {"blindread_architecture": json.dumps(architecture.as_dict(), sort_keys=True)}
    return safetensors_save(dict(sorted(state_dict.items())), metadata=metadata)


def load_weights(data: bytes) -> dict[str, torch.Tensor]:
    """Tensors of stored safetensors weights."""
    return dict(safetensors_load(data))


def check_input_size(size: int) -> None:
    if not isinstance(size, int) or size < 16 or size > 2048 or size % 4:
        raise CheckpointRefused(f"input size must be a multiple of 4 between 16 and 2048, not {size!r}")


def prepare_checkpoint(data: bytes, *, inputs: list[str], arch: str = "auto", input_size: int = 256):
    """Check a checkpoint file's bytes against its declaration; return what registration stores.

    Order: read (safely), clean, infer the architecture from shapes, compare with the declaration, load
    strictly, run the smoke forward pass, serialise to safetensors.
    """
    check_input_size(input_size)
    state_dict, source_format = read_state_dict(data)
    state_dict, notes = clean_state_dict(state_dict)
    architecture = infer_architecture(state_dict)
    state_dict = as_float32(state_dict)
    check_declaration(architecture, inputs=inputs, arch=arch)
    model = build_generator(architecture, state_dict)
    result_fingerprint = smoke_test(model, n_inputs=architecture.n_inputs, size=input_size)
    weights = weights_bytes(state_dict, architecture)
    return PreparedCheckpoint(
        architecture=architecture,
        weights=weights,
        sha256=sha256_hex(weights),
        parameter_count=count_parameters(model),
        fingerprint=result_fingerprint,
        source_format=source_format,
        source_sha256=sha256_hex(data),
        notes=notes,
    )
