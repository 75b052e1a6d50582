"""The CNN observer: a small convolutional network trained on random crops, cross-validated by patient.

Per fold a fresh network (seeded) is trained on random ``crop`` x ``crop`` crops of the training slices, half real
and half synthetic in every batch, with random horizontal flips; a test slice's score is the mean logit over a
fixed 3 x 3 grid of crops across its body. HU are scaled as ``(hu - 40) / 400`` (a soft-tissue window's centre and
width) and clipped to [-3, 5], so air, fat, organs and bone stay apart while noise of a few HU is still visible.
It runs on any torch device; on a 2-core CPU the demo's pools take about a minute (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from metrics.measures.observer._pools import ObserverInputError, ObserverPool
from metrics.measures.observer._validation import (
    BOOTSTRAP_REPLICATES,
    AUCEstimate,
    auc_estimates,
    patient_folds,
)
from studies.rendering import body_mask

__all__ = ["CNNObserverResult", "SliceCNN", "cnn_observer"]

CROP = 64
STEPS = 300
BATCH = 32
LEARNING_RATE = 1e-3
GRID = 3
HU_CENTRE, HU_SCALE = 40.0, 400.0
INPUT_CLIP = (-3.0, 5.0)


class SliceCNN(nn.Module):
    """Four 3x3 convolution blocks (16, 32, 64, 64 channels; batch norm, ReLU; the first three halve the size),
    global average pooling and one logit: about 70,000 parameters, any input size."""

    def __init__(self, width: int = 16):
        super().__init__()
        layers: list[nn.Module] = []
        channels = [1, width, 2 * width, 4 * width, 4 * width]
        for index, (inputs, outputs) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
            layers += [
                nn.Conv2d(inputs, outputs, 3, padding=1),
                nn.BatchNorm2d(outputs),
                nn.ReLU(inplace=True),
            ]
            if index < 3:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3))).squeeze(1)


@dataclass(frozen=True)
class CNNObserverResult:
    """Cross-validated AUCs (overall and per axial layer) of the CNN, with how it was trained."""

    overall: AUCEstimate
    by_layer: tuple[AUCEstimate, ...]
    folds: int
    fold_of_slice: np.ndarray
    scores: np.ndarray
    final_losses: tuple[float, ...]
    crop: int
    steps: int
    batch: int
    device: str
    seed: int

    def to_dict(self) -> dict:
        return {
            "model": "small CNN on random crops",
            "overall": self.overall.to_dict(),
            "by_layer": [estimate.to_dict() for estimate in self.by_layer],
            "folds": self.folds,
            "final_losses": list(self.final_losses),
            "crop": self.crop,
            "steps": self.steps,
            "batch": self.batch,
            "device": self.device,
            "seed": self.seed,
        }


def _body_boxes(pool: ObserverPool) -> np.ndarray:
    """(n, 4) row/column ranges [r0, r1, c0, c1) of each slice's body, the whole slice when it has none."""
    boxes = np.empty((len(pool), 4), dtype=np.int64)
    rows, columns = pool.hu.shape[1:]
    for index, hu in enumerate(pool.hu):
        mask = body_mask(hu.astype(np.float32), hu_min=pool.hu_min)
        if not mask.any():
            boxes[index] = (0, rows, 0, columns)
            continue
        r = np.flatnonzero(mask.any(axis=1))
        c = np.flatnonzero(mask.any(axis=0))
        boxes[index] = (r[0], r[-1] + 1, c[0], c[-1] + 1)
    return boxes


def _corner(low: int, high: int, crop: int, size: int, centre: float) -> int:
    """The crop's first row (or column) putting its centre at ``centre`` inside [low, high), kept in the image."""
    return int(np.clip(round(centre - crop / 2), 0, size - crop))


def _scaled(hu: np.ndarray) -> np.ndarray:
    return np.clip((hu.astype(np.float32) - HU_CENTRE) / HU_SCALE, *INPUT_CLIP)


def _random_crops(pool, boxes, indices, crop, rng) -> np.ndarray:
    rows, columns = pool.hu.shape[1:]
    batch = np.empty((len(indices), 1, crop, crop), dtype=np.float32)
    for out, index in enumerate(indices):
        r0, r1, c0, c1 = boxes[index]
        top = _corner(r0, r1, crop, rows, rng.uniform(r0, r1))
        left = _corner(c0, c1, crop, columns, rng.uniform(c0, c1))
        patch = pool.hu[index, top : top + crop, left : left + crop]
        batch[out, 0] = _scaled(patch[:, ::-1] if rng.random() < 0.5 else patch)
    return batch


def _grid_crops(pool, boxes, index, crop) -> np.ndarray:
    rows, columns = pool.hu.shape[1:]
    r0, r1, c0, c1 = boxes[index]
    crops = []
    for fy in (np.arange(GRID) + 0.5) / GRID:
        for fx in (np.arange(GRID) + 0.5) / GRID:
            top = _corner(r0, r1, crop, rows, r0 + fy * (r1 - r0))
            left = _corner(c0, c1, crop, columns, c0 + fx * (c1 - c0))
            crops.append(_scaled(pool.hu[index, top : top + crop, left : left + crop]))
    return np.stack(crops)[:, None]


def _train_fold(pool, boxes, train, *, crop, steps, batch, device, seed, on_step) -> tuple[SliceCNN, float]:
    rng = np.random.default_rng([seed, 11])
    real, synthetic = np.flatnonzero(train & ~pool.synthetic), np.flatnonzero(train & pool.synthetic)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = SliceCNN().to(device)
    optimiser = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    loss_function = nn.BCEWithLogitsLoss()
    targets = torch.cat([torch.zeros(batch // 2), torch.ones(batch - batch // 2)]).to(device)
    network.train()
    recent = []
    for _ in range(steps):
        indices = np.concatenate([rng.choice(real, batch // 2), rng.choice(synthetic, batch - batch // 2)])
        crops = torch.from_numpy(_random_crops(pool, boxes, indices, crop, rng)).to(device)
        optimiser.zero_grad(set_to_none=True)
        loss = loss_function(network(crops), targets)
        loss.backward()
        optimiser.step()
        recent.append(float(loss.detach()))
        on_step()
    return network, float(np.mean(recent[-20:]))


@torch.inference_mode()
def _score(network, pool, boxes, indices, crop, device) -> np.ndarray:
    network.eval()
    scores = np.empty(len(indices))
    for out, index in enumerate(indices):
        crops = torch.from_numpy(_grid_crops(pool, boxes, index, crop)).to(device)
        scores[out] = float(network(crops).mean())
    return scores


def cnn_observer(
    pool: ObserverPool,
    *,
    folds: int | None = None,
    seed: int = 0,
    bootstrap: int = BOOTSTRAP_REPLICATES,
    crop: int = CROP,
    steps: int = STEPS,
    batch: int = BATCH,
    device: str | torch.device = "cpu",
    on_step: Callable[[int, int], None] | None = None,
) -> CNNObserverResult:
    """Train and evaluate :class:`SliceCNN` per fold (folds grouped by patient, :func:`patient_folds`) and return
    the AUCs of its out-of-fold scores. Seeded: the same pool, seed and device give the same scores.
    ``on_step(done, total)`` is called after every training step (``total``: folds x steps)."""
    rows, columns = pool.hu.shape[1:]
    if not 16 <= crop <= min(rows, columns):
        raise ObserverInputError(f"the crop must be 16..{min(rows, columns)} pixels, got {crop}")
    if steps < 1 or batch < 2:
        raise ObserverInputError("the CNN needs at least one step and batches of at least 2 crops")
    device = torch.device(device)
    fold_of = patient_folds(pool, folds=folds, seed=seed)
    n_folds = int(fold_of.max()) + 1
    boxes = _body_boxes(pool)
    scores = np.empty(len(pool))
    losses = []
    trained = 0

    def stepped():
        nonlocal trained
        trained += 1
        if on_step is not None:
            on_step(trained, n_folds * steps)

    for fold in range(n_folds):
        test = fold_of == fold
        network, loss = _train_fold(
            pool,
            boxes,
            ~test,
            crop=crop,
            steps=steps,
            batch=batch,
            device=device,
            seed=seed * 1000 + fold,
            on_step=stepped,
        )
        losses.append(loss)
        scores[test] = _score(network, pool, boxes, np.flatnonzero(test), crop, device)
    overall, by_layer = auc_estimates(pool, scores, replicates=bootstrap, seed=seed)
    return CNNObserverResult(
        overall=overall,
        by_layer=by_layer,
        folds=n_folds,
        fold_of_slice=fold_of,
        scores=scores,
        final_losses=tuple(losses),
        crop=crop,
        steps=steps,
        batch=batch,
        device=str(device),
        seed=seed,
    )
