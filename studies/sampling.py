"""Choosing a survey's slices (n real and n synthetic, stratified by axial layer) and each reader's order of
them. Pure Python/NumPy, no Django.

Both sides get the same number of slices in every axial layer, spread as evenly as the layers both pools cover
allow. Inside a layer each slice comes from a different volume while there are enough volumes; when a pool is too
small for that, slices share a volume and the selection says so in `notes`. The same seed and the same pools give
the same selection: candidates are ordered by their volume's stable key and slice index before any draw.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np


class SelectionError(ValueError):
    """The pools cannot give the survey asked for; the message is one line saying why."""


@dataclass(frozen=True)
class Candidate:
    slice_id: int
    volume_key: str  # stable across databases: the series key, not a database id
    index: int
    layer: int
    z_mm: float = 0.0  # patient z of the slice (where a slab around it lies)


@dataclass
class Selection:
    real: list[Candidate]
    synthetic: list[Candidate]
    per_layer: dict[int, int]
    notes: list[str] = field(default_factory=list)


def select_balanced(
    *, real: list[Candidate], synthetic: list[Candidate], per_side: int, seed: int
) -> Selection:
    """`per_side` real and `per_side` synthetic candidates covering the same layers in the same numbers."""
    if per_side < 1:
        raise SelectionError("a survey needs at least one real and one synthetic slice")
    rng = np.random.default_rng(seed)
    pools = {"real": _by_layer(real), "synthetic": _by_layer(synthetic)}
    common = sorted(set(pools["real"]) & set(pools["synthetic"]))
    if not common:
        raise SelectionError("the real and the synthetic slices share no axial layer")
    volumes_cap = {layer: min(len(_by_volume(pools[side][layer])) for side in pools) for layer in common}
    slices_cap = {layer: min(len(pools[side][layer]) for side in pools) for layer in common}
    available = sum(slices_cap.values())
    if available < per_side:
        raise SelectionError(
            f"only {available} slice(s) per side lie in axial layers both datasets cover; {per_side} needed"
        )
    allocation = _spread(common, per_side, volumes_cap, slices_cap, rng)
    notes = []
    chosen: dict[str, list[Candidate]] = {"real": [], "synthetic": []}
    for layer in common:
        wanted = allocation[layer]
        if wanted == 0:
            continue
        for side in ("real", "synthetic"):
            picked, shared = _pick_in_layer(pools[side][layer], wanted, rng)
            chosen[side].extend(picked)
            if shared:
                volumes = len(_by_volume(pools[side][layer]))
                notes.append(
                    f"layer {layer}: {wanted} {side} slices needed but only {volumes} {side} volume(s) reach "
                    f"this layer, so {shared} slice(s) share a volume"
                )
    return Selection(
        real=chosen["real"],
        synthetic=chosen["synthetic"],
        per_layer={layer: count for layer, count in allocation.items() if count},
        notes=notes,
    )


def _by_layer(candidates: list[Candidate]) -> dict[int, list[Candidate]]:
    layers: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in sorted(candidates, key=lambda c: (c.volume_key, c.index, c.slice_id)):
        layers[candidate.layer].append(candidate)
    return dict(layers)


def _by_volume(candidates: list[Candidate]) -> dict[str, list[Candidate]]:
    volumes: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        volumes[candidate.volume_key].append(candidate)
    return dict(sorted(volumes.items()))


def _spread(
    layers: list[int], total: int, volumes_cap: dict[int, int], slices_cap: dict[int, int], rng
) -> dict[int, int]:
    """Give `total` slices to layers one at a time, always to a least-filled layer (ties by a seeded draw),
    first only up to one slice per volume, then, if that is not enough, up to the slices there are."""
    allocation = dict.fromkeys(layers, 0)
    tie_break = {layer: rank for rank, layer in enumerate(rng.permutation(layers).tolist())}
    for cap in (volumes_cap, slices_cap):
        while sum(allocation.values()) < total:
            open_layers = [layer for layer in layers if allocation[layer] < cap[layer]]
            if not open_layers:
                break
            layer = min(open_layers, key=lambda item: (allocation[item], tie_break[item]))
            allocation[layer] += 1
    return allocation


def _pick_in_layer(candidates: list[Candidate], wanted: int, rng) -> tuple[list[Candidate], int]:
    """`wanted` slices of one layer, one per volume while volumes last; returns them and how many share one."""
    volumes = _by_volume(candidates)
    keys = list(volumes)
    first_round = rng.choice(len(keys), size=min(wanted, len(keys)), replace=False)
    picked = [volumes[keys[i]][int(rng.integers(len(volumes[keys[i]])))] for i in sorted(first_round)]
    shared = wanted - len(picked)
    if shared:
        rest = [c for c in candidates if c not in picked]
        extra = rng.choice(len(rest), size=shared, replace=False)
        picked.extend(rest[i] for i in sorted(extra))
    return picked, shared


def with_room_for_stack(
    candidates: list[Candidate], indices_by_volume: dict[str, set[int]], stack_k: int
) -> list[Candidate]:
    """The candidates that have `stack_k` neighbouring slices on both sides in their own volume (every index
    from index - k to index + k present in `indices_by_volume[candidate.volume_key]`)."""
    if stack_k == 0:
        return list(candidates)
    return [
        c
        for c in candidates
        if all(
            c.index + offset in indices_by_volume.get(c.volume_key, ())
            for offset in range(-stack_k, stack_k + 1)
        )
    ]


def stack_room_gaps(pools: dict[str, tuple[list[Candidate], list[Candidate]]], stack_k: int) -> list[str]:
    """The axial layers both pools cover where one pool has no slice with room for the stack, one line each
    ("stack of 7 needs 3 neighbours each side: layer 4 has no such slice in 'Model'"); `pools` is
    {pool name: (all candidates, candidates with room)}, the two pools of a survey."""
    if stack_k == 0:
        return []
    return room_gaps(pools, f"stack of {2 * stack_k + 1} needs {stack_k} neighbours each side")


def room_gaps(pools: dict[str, tuple[list[Candidate], list[Candidate]]], need: str) -> list[str]:
    """For every axial layer both pools cover where one pool has no candidate with room for what an item `needs`
    (a stack's neighbours, a slab's reach), the line "`need`: layer L has no such slice in POOL"."""
    covered = set.intersection(*({c.layer for c in every} for every, _ in pools.values()))
    return [
        f"{need}: layer {layer} has no such slice in {name}"
        for layer in sorted(covered)
        for name, (_, with_room) in pools.items()
        if not any(c.layer == layer for c in with_room)
    ]


def select_practice(
    *, real: list[Candidate], synthetic: list[Candidate], exclude: set[int], count: int, seed: int
) -> list[tuple[str, Candidate]]:
    """`count` practice slices, ("real" | "synthetic", candidate), none of them in `exclude` (the test items):
    half from each pool, the odd one from a side drawn by the seed, each slice drawn at random from its pool."""
    if count == 0:
        return []
    rng = np.random.default_rng([seed, 1])
    pools = {
        side: sorted((c for c in pool if c.slice_id not in exclude), key=lambda c: (c.volume_key, c.index))
        for side, pool in (("real", real), ("synthetic", synthetic))
    }
    wanted = {"real": count // 2, "synthetic": count // 2}
    if count % 2:
        wanted[("real", "synthetic")[int(rng.integers(2))]] += 1
    chosen = []
    for side in ("real", "synthetic"):
        if len(pools[side]) < wanted[side]:
            raise SelectionError(
                f"{count} practice item(s) need {wanted[side]} {side} slice(s) not used as test items; "
                f"only {len(pools[side])} are left"
            )
        picks = rng.choice(len(pools[side]), size=wanted[side], replace=False)
        chosen += [(side, pools[side][int(i)]) for i in sorted(picks)]
    return chosen


def select_repeated(truths: dict[int, str], count: int, seed: int) -> list[int]:
    """The items of a second reading, in a new order drawn from `seed`: `count` of the items (id -> truth),
    half of each truth (the odd one from a side drawn by the seed), or all of them."""
    ordered = sorted(truths)
    rng = np.random.default_rng([seed, 2])
    if count >= len(ordered):
        chosen = ordered
    else:
        by_truth = {t: [i for i in ordered if truths[i] == t] for t in sorted(set(truths.values()))}
        sides = list(by_truth)
        wanted = dict.fromkeys(sides, count // len(sides))
        for extra in rng.permutation(len(sides))[: count - sum(wanted.values())]:
            wanted[sides[int(extra)]] += 1
        chosen = []
        for side in sides:
            take = min(wanted[side], len(by_truth[side]))
            chosen += [
                by_truth[side][int(i)] for i in rng.choice(len(by_truth[side]), size=take, replace=False)
            ]
    return [chosen[i] for i in rng.permutation(len(chosen))]


def make_item_order(item_ids: list[int], seed: int) -> list[int]:
    """A reader's order of items: a permutation of the sorted ids drawn from the assignment's seed."""
    ordered = sorted(item_ids)
    permutation = np.random.default_rng(seed).permutation(len(ordered))
    return [ordered[i] for i in permutation]
