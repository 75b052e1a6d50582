"""Catch items: synthetic slices with a plainly visible artefact, whose only right answer is "synthetic". Pure
Python (NumPy).

A survey with ``catch_items`` = c in its design (:class:`studies.design.StudyDesign`) gets c catch items at
creation: slices of the model's synthetic pool that are neither test nor practice items, drawn by the survey's seed
(:func:`select_catch`). Each is an ordinary item row (``Item.catch``), rendered through the same display pipeline
into a payload of the same size, and only then marked by :func:`draw_artefact`: on every slice of the item (a
stack's too), a square of ``ARTEFACT_FRACTION`` of the matrix side, centred, of horizontal stripes
``STRIPE_PIXELS`` pixels high alternating between the display policy's highest and lowest HU (``hu_max``,
``hu_min``: by default 3071 and -1024). The stripes span more than any window, so they show as black and white bars
under every window preset, grey-scale inversion and zoom, and stay inside the policy's HU range like every pixel. No real CT carries them, so the answer is certain; readers may be told so in the instructions.

Catch items are mixed into every reader's frozen order like any item and answered the same way; they are never
part of a statistic or an export of test answers (``Item.objects.scored()``), and feed reader quality control only
(:mod:`studies.quality`).
"""

from __future__ import annotations

import numpy as np

from studies.sampling import Candidate, SelectionError

ARTEFACT_FRACTION = 0.25  # the side of the striped square, as a fraction of the matrix side
STRIPE_PIXELS = 4  # the height of each stripe, in displayed pixels


def artefact_box(matrix: int) -> tuple[int, int]:
    """The first row/column and the side (pixels) of the striped square on a matrix x matrix slice."""
    side = max(STRIPE_PIXELS * 2, int(round(matrix * ARTEFACT_FRACTION)))
    return (matrix - side) // 2, side


def draw_artefact(stack: np.ndarray, *, low: int, high: int) -> np.ndarray:
    """A copy of ``stack`` ((slices, matrix, matrix) or (matrix, matrix), int16 HU as rendered) with the striped
    square drawn on every slice, stripes of ``high`` and ``low`` HU (the policy's hu_max and hu_min); the shape and
    dtype stay the same."""
    marked = np.array(stack, copy=True)
    matrix = marked.shape[-1]
    start, side = artefact_box(matrix)
    rows = np.arange(side)
    stripes = np.where((rows // STRIPE_PIXELS) % 2 == 0, high, low).astype(marked.dtype)
    marked[..., start : start + side, start : start + side] = stripes[:, np.newaxis]
    return marked


def has_artefact(stack: np.ndarray, *, low: int, high: int) -> bool:
    """Whether every slice of ``stack`` carries the striped square exactly (what the blinding audit and tests
    check)."""
    return bool(np.array_equal(draw_artefact(stack, low=low, high=high), stack))


def select_catch(*, synthetic: list[Candidate], exclude: set[int], count: int, seed: int) -> list[Candidate]:
    """``count`` synthetic slices, none of them in ``exclude`` (the test and practice items), drawn by ``seed``."""
    if count == 0:
        return []
    pool = sorted((c for c in synthetic if c.slice_id not in exclude), key=lambda c: (c.volume_key, c.index))
    if len(pool) < count:
        raise SelectionError(
            f"{count} catch item(s) need synthetic slices not used as test or practice items; "
            f"only {len(pool)} are left"
        )
    rng = np.random.default_rng([seed, 3])
    return [pool[int(i)] for i in sorted(rng.choice(len(pool), size=count, replace=False))]
