"""Readers' experience bands: the labels for band edges in years and the band of a reader (plain Python: the web
pages that take a report's bands check them without loading the statistics)."""

from __future__ import annotations

import math
from collections.abc import Sequence

DEFAULT_EXPERIENCE_BANDS = (5, 15)


def experience_bands(edges: Sequence[float] = DEFAULT_EXPERIENCE_BANDS) -> tuple[str, ...]:
    """The band labels for the given edges: (5, 15) -> ("< 5", "5-15", "> 15")."""
    edges = tuple(edges)
    if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] <= 0:
        raise ValueError(f"experience band edges must be positive and increasing, got {edges}")
    labels = [f"< {edges[0]:g}"]
    labels += [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:], strict=False)]
    return (*labels, f"> {edges[-1]:g}")


def experience_band(years, edges: Sequence[float] = DEFAULT_EXPERIENCE_BANDS) -> str | None:
    """The band of ``years`` of experience (None or NaN: None); the last inner edge belongs to the band below it."""
    labels = experience_bands(edges)
    if years is None or (isinstance(years, float) and math.isnan(years)):
        return None
    years = float(years)
    if years < 0:
        raise ValueError(f"years of experience must be >= 0, got {years:g}")
    edges = tuple(edges)
    if years < edges[0]:
        return labels[0]
    if years > edges[-1]:
        return labels[-1]
    for k in range(len(edges) - 1):
        if years < edges[k + 1] or k == len(edges) - 2:
            return labels[k + 1]
    return labels[-1]  # one edge: a reader with exactly that many years is above it
