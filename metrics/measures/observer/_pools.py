"""The slices a machine observer learns from: displayed HU slices with their patient, axial layer and truth."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from imaging.constants import LAYERS
from studies.rendering import DisplayPolicy, render_slice

__all__ = ["ObserverInputError", "ObserverPool", "RawSlice", "prepare_pool"]


class ObserverInputError(ValueError):
    """The observer cannot be run on these slices (too few patients for the folds, one class missing, arrays that
    do not match); the message is one line saying why."""


@dataclass(frozen=True, eq=False)
class ObserverPool:
    """Slices as the readers see them, one row per slice.

    ``hu``: ``(n, m, m)`` int16 HU after the display pipeline (:func:`studies.rendering.render_slice`);
    ``patients``: ``(n,)`` patient pseudonyms, the unit of cross-validation and of the bootstrap (a real and a
    synthetic slice with the same pseudonym are the same patient and always fall in the same fold);
    ``layers``: ``(n,)`` axial layers 1..10; ``synthetic``: ``(n,)`` truth, True for the model's slices;
    ``hu_min``: the bottom of the display range, which fills everything outside the body.
    """

    hu: np.ndarray
    patients: np.ndarray
    layers: np.ndarray
    synthetic: np.ndarray
    hu_min: int = -1024

    def __post_init__(self):
        hu = np.asarray(self.hu)
        if hu.ndim != 3 or hu.shape[1] < 8 or hu.shape[2] < 8:
            raise ObserverInputError(f"slices must be an (n, rows, columns) array, got shape {hu.shape}")
        if not np.issubdtype(hu.dtype, np.integer):
            raise ObserverInputError(
                f"slices must be integer HU (the display pipeline's int16), got {hu.dtype}"
            )
        n = hu.shape[0]
        patients = np.asarray(self.patients).astype(str)
        layers = np.asarray(self.layers)
        synthetic = np.asarray(self.synthetic)
        for name, values in (("patients", patients), ("layers", layers), ("synthetic", synthetic)):
            if values.shape != (n,):
                raise ObserverInputError(
                    f"{name} must have one entry per slice ({n}), got shape {values.shape}"
                )
        if synthetic.dtype != bool and not np.isin(synthetic, (0, 1)).all():
            raise ObserverInputError("synthetic must be True (the model's slices) or False (real CT)")
        if n and not np.isin(layers, LAYERS).all():
            bad = sorted({int(layer) for layer in layers if layer not in LAYERS})
            raise ObserverInputError(f"axial layers must be 1..10, got {bad[:5]}")
        object.__setattr__(self, "hu", hu)
        object.__setattr__(self, "patients", patients)
        object.__setattr__(self, "layers", layers.astype(int))
        object.__setattr__(self, "synthetic", synthetic.astype(bool))

    def __len__(self) -> int:
        return int(self.hu.shape[0])

    @property
    def n_real(self) -> int:
        return int((~self.synthetic).sum())

    @property
    def n_synthetic(self) -> int:
        return int(self.synthetic.sum())

    @property
    def n_patients(self) -> int:
        return len(np.unique(self.patients))


@dataclass(frozen=True)
class RawSlice:
    """One slice as stored (HU at its own matrix and pixel spacing), with what the observer needs to know."""

    hu: np.ndarray
    row_spacing_mm: float
    column_spacing_mm: float
    patient: str
    layer: int
    synthetic: bool


def prepare_pool(slices: Iterable[RawSlice], *, policy: DisplayPolicy) -> ObserverPool:
    """Every slice through the readers' display pipeline (:func:`studies.rendering.render_slice` under
    ``policy``: clip, crop or pad, resample, mask, round), so the observer sees exactly what readers see.

    The policy must be resolved (its field of view chosen, as a survey's is at creation): a classifier fed
    slices at their own scale would learn the scale, which readers never see."""
    if not policy.is_resolved:
        raise ObserverInputError(
            "the display policy has no field of view: give field_of_view_mm (as the survey's) or per_slice"
        )
    rendered, patients, layers, synthetic = [], [], [], []
    for raw in slices:
        rendered.append(
            render_slice(
                np.asarray(raw.hu),
                row_spacing_mm=raw.row_spacing_mm,
                column_spacing_mm=raw.column_spacing_mm,
                policy=policy,
            )
        )
        patients.append(str(raw.patient))
        layers.append(int(raw.layer))
        synthetic.append(bool(raw.synthetic))
    if not rendered:
        raise ObserverInputError("no slices to prepare")
    return ObserverPool(
        hu=np.stack(rendered),
        patients=np.array(patients),
        layers=np.array(layers),
        synthetic=np.array(synthetic),
        hu_min=policy.hu_min,
    )
