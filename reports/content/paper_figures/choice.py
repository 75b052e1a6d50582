"""Which slices and items the image figures show: chosen by a random generator seeded from what is shown (a
dataset's name, the report's surveys), so the same data always give the same figures and nobody picks the
flattering examples."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

FIGURE_SEED = "blindread-figures/1"


class LayeredSlice(Protocol):
    layer: int | None
    patient: str
    index: int


Chosen = TypeVar("Chosen", bound=LayeredSlice)


def figure_rng(*parts: str) -> random.Random:
    """A generator seeded from ``parts`` (e.g. the figure and a dataset name): the same parts, the same draws."""
    text = "\x1f".join((FIGURE_SEED, *parts))
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def representative_by_layer(slices: Iterable[Chosen], rng: random.Random) -> dict[int, Chosen]:
    """One slice per axial layer: a patient drawn by ``rng`` among those with slices in the layer, and that
    patient's middle slice of the layer (the layer's centre rather than an edge, where it meets the next)."""
    by_layer: dict[int, dict[str, list[Chosen]]] = {}
    for stored in slices:
        if stored.layer is not None:
            by_layer.setdefault(stored.layer, {}).setdefault(stored.patient, []).append(stored)
    chosen = {}
    for layer in sorted(by_layer):
        patients = by_layer[layer]
        patient = rng.choice(sorted(patients))
        ordered = sorted(patients[patient], key=lambda stored: stored.index)
        chosen[layer] = ordered[(len(ordered) - 1) // 2]
    return chosen


def most_discussed(
    reason_counts: dict[tuple[str, str], int], count: int, rng: random.Random
) -> list[tuple[str, str]]:
    """The ``count`` (survey, item) keys with the most reasons (at least one), ties broken by ``rng``."""
    keys: Sequence[tuple[str, str]] = sorted(key for key, n in reason_counts.items() if n > 0)
    tie_break = {key: rng.random() for key in keys}
    return sorted(keys, key=lambda key: (-reason_counts[key], tie_break[key]))[:count]
