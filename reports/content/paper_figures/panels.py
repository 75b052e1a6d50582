"""Grids of slices: a representative slice of each axial layer beside each model's (the paper's Fig. 4), and one
MRI slice through every model that accepts it, inputs left, output right (Fig. 9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from imaging.rendering import window_to_uint8
from metrics.measures.vocabulary import LAYERS
from reports.content.figures import STYLE, _wrap

PANEL_INCHES = 1.3
LAYER_NAMES = {1: "lower abdomen", 10: "lung bases"}


@dataclass(frozen=True)
class ShownSlice:
    """One slice as a figure shows it: its pixels windowed to 8 bits, what it is, and the window used."""

    label: str
    pixels: np.ndarray  # uint8, 2-D
    window: str = ""

    @classmethod
    def windowed(cls, values: np.ndarray, *, label: str, width: float, level: float) -> ShownSlice:
        """``values`` (HU, or MRI intensity) under the window ``width``/``level``."""
        return cls(
            label=label,
            pixels=window_to_uint8(np.asarray(values), width=width, level=level),
            window=f"W {width:g} / L {level:g}",
        )


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout=None)


def _image(axes, shown: ShownSlice | None, empty: str = "none") -> None:
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_visible(False)
    if shown is None:
        axes.set_facecolor("#f2f2f2")
        axes.text(0.5, 0.5, empty, transform=axes.transAxes, ha="center", va="center", color="#7f7f7f")
        return
    axes.imshow(shown.pixels, cmap="gray", vmin=0, vmax=255, interpolation="antialiased")


def _placed(figure: Figure, left: float, bottom: float, width: float, height: float):
    """Axes at a place given in inches from the figure's bottom left."""
    figure_width, figure_height = figure.get_size_inches()
    return figure.add_axes(
        (left / figure_width, bottom / figure_height, width / figure_width, height / figure_height)
    )


def layer_slices_figure(columns: Sequence[tuple[str, dict[int, ShownSlice]]], *, title: str) -> Figure:
    """One row per axial layer 1..10 (top to bottom), one column per dataset: ``columns`` is (its title, its
    slice of each layer); a layer a dataset has no slice of shows an empty panel."""
    label_width, title_height, gap = 1.0, 0.95, 0.06
    width = label_width + len(columns) * (PANEL_INCHES + gap) + 0.1
    height = title_height + len(LAYERS) * (PANEL_INCHES + gap) + 0.1
    with matplotlib.rc_context(STYLE):
        figure = _figure(width, height)
        figure.text(0.1 / width, 1 - 0.12 / height, _wrap(title, int(width * 13), 2), va="top", fontsize=9)
        for column, (name, by_layer) in enumerate(columns):
            left = label_width + column * (PANEL_INCHES + gap)
            figure.text(
                (left + PANEL_INCHES / 2) / width,
                1 - (title_height - 0.05) / height,
                _wrap(name, 20, 3),
                ha="center",
                va="bottom",
                fontsize=7,
            )
            for row, layer in enumerate(LAYERS):
                bottom = height - title_height - (row + 1) * (PANEL_INCHES + gap)
                _image(_placed(figure, left, bottom, PANEL_INCHES, PANEL_INCHES), by_layer.get(layer))
        for row, layer in enumerate(LAYERS):
            middle = height - title_height - (row + 1) * (PANEL_INCHES + gap) + PANEL_INCHES / 2
            name = f"Layer {layer}" + (f"\n({LAYER_NAMES[layer]})" if layer in LAYER_NAMES else "")
            figure.text(0.1 / width, middle / height, name, va="center", fontsize=7)
    return figure


@dataclass(frozen=True)
class ModelOutput:
    """One model's row of Fig. 9: its name, its MRI inputs in input order and its synthetic CT."""

    model: str
    inputs: tuple[ShownSlice, ...]
    output: ShownSlice


def mri_through_models_figure(rows: Sequence[ModelOutput], *, title: str) -> Figure:
    """One row per model: its MRI input(s) left (blank where a model takes fewer inputs than another), its
    synthetic CT right, each panel labelled below."""
    input_columns = max((len(row.inputs) for row in rows), default=1)
    label_width, title_height, caption_height, gap, output_gap = 1.3, 0.55, 0.42, 0.08, 0.3
    width = label_width + (input_columns + 1) * (PANEL_INCHES + gap) + output_gap + 0.1
    row_height = PANEL_INCHES + caption_height
    height = title_height + max(len(rows), 1) * row_height + 0.1
    with matplotlib.rc_context(STYLE):
        figure = _figure(width, height)
        figure.text(0.1 / width, 1 - 0.12 / height, _wrap(title, int(width * 13), 2), va="top", fontsize=9)
        for index, row in enumerate(rows):
            bottom = height - title_height - (index + 1) * row_height + caption_height
            figure.text(
                0.1 / width,
                (bottom + PANEL_INCHES / 2) / height,
                _wrap(row.model, 20, 4),
                va="center",
                fontsize=7,
            )
            panels = [*row.inputs, *[None] * (input_columns - len(row.inputs)), row.output]
            for column, shown in enumerate(panels):
                left = (
                    label_width
                    + column * (PANEL_INCHES + gap)
                    + (output_gap if column == input_columns else 0)
                )
                axes = _placed(figure, left, bottom, PANEL_INCHES, PANEL_INCHES)
                if shown is None:
                    axes.axis("off")
                    continue
                _image(axes, shown)
                figure.text(
                    (left + PANEL_INCHES / 2) / width,
                    (bottom - 0.04) / height,
                    "\n".join(_wrap(part, 24, 2) for part in (shown.label, shown.window) if part),
                    ha="center",
                    va="top",
                    fontsize=6,
                )
    return figure
