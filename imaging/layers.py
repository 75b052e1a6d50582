"""Axial layers: the abdomen split into ten bands from the lower kidneys (1) to the lung bases (10)."""

from dataclasses import dataclass

import numpy as np

from imaging.constants import AXIAL_LAYERS


def default_axial_layers(z_mm: np.ndarray) -> np.ndarray:
    """Layer 1..10 by normalised z inside the volume: equal tenths from the lowest slice to the highest."""
    z = np.asarray(z_mm, dtype=np.float64)
    if z.size == 0:
        return np.zeros(0, dtype=np.int64)
    span = z.max() - z.min()
    if span <= 0:
        return np.full(z.shape, (AXIAL_LAYERS + 1) // 2, dtype=np.int64)
    fraction = (z - z.min()) / span
    return np.minimum(np.floor(fraction * AXIAL_LAYERS).astype(np.int64) + 1, AXIAL_LAYERS)


@dataclass(frozen=True)
class LayerBounds:
    layer: int
    z_min_mm: float
    z_max_mm: float


def validate_layer_bounds(bounds: list[LayerBounds]) -> None:
    """Raise ValueError (one line) unless the bounds are layers 1..10 at most once each, ordered and disjoint."""
    seen = set()
    for bound in bounds:
        if not 1 <= bound.layer <= AXIAL_LAYERS:
            raise ValueError(f"layer {bound.layer} is outside 1..{AXIAL_LAYERS}")
        if bound.layer in seen:
            raise ValueError(f"layer {bound.layer} is given twice")
        if not bound.z_min_mm < bound.z_max_mm:
            raise ValueError(
                f"layer {bound.layer}: z_min {bound.z_min_mm} is not below z_max {bound.z_max_mm}"
            )
        seen.add(bound.layer)
    ordered = sorted(bounds, key=lambda b: b.layer)
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if upper.z_min_mm < lower.z_max_mm:
            raise ValueError(
                f"layers {lower.layer} and {upper.layer} overlap or are out of order "
                f"({lower.z_max_mm} > {upper.z_min_mm}); layer 1 is the most inferior"
            )


def layers_from_bounds(z_mm: np.ndarray, bounds: list[LayerBounds]) -> np.ndarray:
    """Layer of each z by the given bounds (inclusive); 0 where no bound covers the slice."""
    z = np.asarray(z_mm, dtype=np.float64)
    layers = np.zeros(z.shape, dtype=np.int64)
    for bound in bounds:
        inside = (z >= bound.z_min_mm) & (z <= bound.z_max_mm) & (layers == 0)
        layers[inside] = bound.layer
    return layers
