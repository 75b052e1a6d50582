"""Two-alternative forced choice (2AFC): pairing a survey's items and each reader's frozen plan. Pure Python.

A 2AFC survey selects its n real and n synthetic items as every survey does (the same number on both sides in
every axial layer, studies.sampling), so they pair up inside each layer: :func:`pair_items` matches them by a draw
from the survey's seed. Each reader's plan (:func:`make_pair_plan`, drawn from the assignment's seed and stored in
`Assignment.pair_plan`) is a random order of the pairs and, for each pair, the side (left or right) that shows the
real item: balanced, half of the pairs real-left (with an odd number of pairs the odd one's side is drawn too), and
otherwise at random, so neither the position nor the side says anything about the truth.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import numpy as np

LEFT = "left"
RIGHT = "right"


class PairingError(ValueError):
    """Items that cannot be paired; the message is one line."""


class PlannedPair(NamedTuple):
    real_id: int
    synthetic_id: int
    layer: int


def pair_items(items: list[tuple[int, str, int]], seed: int) -> list[PlannedPair]:
    """Pairs from (item id, truth "real"/"synthetic", axial layer): every layer's real and synthetic items matched
    by a seeded draw. Refuses a layer with unequal numbers of real and synthetic items."""
    layers: dict[int, dict[str, list[int]]] = defaultdict(lambda: {"real": [], "synthetic": []})
    for item_id, truth, layer in items:
        if truth not in ("real", "synthetic"):
            raise PairingError(f"item {item_id} has an unknown truth {truth!r}")
        layers[layer][truth].append(item_id)
    rng = np.random.default_rng(seed)
    pairs = []
    for layer in sorted(layers):
        real, synthetic = sorted(layers[layer]["real"]), sorted(layers[layer]["synthetic"])
        if len(real) != len(synthetic):
            raise PairingError(
                f"axial layer {layer} has {len(real)} real and {len(synthetic)} synthetic items; 2AFC pairs "
                "them one to one"
            )
        matched = rng.permutation(len(synthetic))
        pairs += [PlannedPair(r, synthetic[j], layer) for r, j in zip(real, matched.tolist(), strict=True)]
    return pairs


def make_pair_plan(pair_ids: list[int], seed: int) -> list[list]:
    """A reader's plan: [pair id, real side] in reading order; the order a permutation of the sorted ids, the real
    side left for exactly half of the pairs (floor or ceiling, drawn, when the count is odd), which half drawn."""
    ordered = sorted(pair_ids)
    rng = np.random.default_rng([seed, 2])
    order = rng.permutation(len(ordered)).tolist()
    n = len(ordered)
    lefts = n // 2 + (int(rng.integers(2)) if n % 2 else 0)
    sides = [LEFT] * lefts + [RIGHT] * (n - lefts)
    sides = [sides[i] for i in rng.permutation(n).tolist()]
    return [[ordered[i], side] for i, side in zip(order, sides, strict=True)]


def other_side(side: str) -> str:
    return RIGHT if side == LEFT else LEFT
