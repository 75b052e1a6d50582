"""A real and a synthetic slice of the same axial layer side by side with their 2-D spectra and radial profiles
(the paper's Fig. 8), computed with the spectral score's own code (metrics.measures.distribution)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from metrics.measures.distribution import log_magnitude_spectrum, mean_log_spectrum
from reports.content.figures import STYLE, _wrap
from reports.content.paper_figures.panels import ShownSlice, _figure, _image

SPECTRUM_CMAP = "magma"


@dataclass(frozen=True)
class SpectralPair:
    """A real and a synthetic slice of one axial layer: as shown (windowed) and their HU."""

    model: str
    layer: int
    real: ShownSlice
    synthetic: ShownSlice
    real_hu: np.ndarray
    synthetic_hu: np.ndarray


def _spectrum(axes, hu: np.ndarray, title: str) -> None:
    spectrum = log_magnitude_spectrum(hu)
    axes.imshow(spectrum, cmap=SPECTRUM_CMAP, interpolation="antialiased")
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_title(title, fontsize=7)


def spectral_pairs_figure(pairs: Sequence[SpectralPair], *, title: str) -> Figure:
    """One row per pair: the real slice, its 2-D log spectrum, the synthetic slice, its spectrum, and both radial
    profiles (the radially averaged log(1 + |FFT|) of each slice, the quantity the spectral score correlates)."""
    rows = max(len(pairs), 1)
    row_height, title_height = 1.95, 0.45
    width, height = 9.6, title_height + rows * row_height + 0.1
    with matplotlib.rc_context(STYLE):
        figure = _figure(width, height)
        figure.text(0.1 / width, 1 - 0.1 / height, _wrap(title, 140, 2), va="top", fontsize=9)
        grid = figure.add_gridspec(
            rows,
            5,
            width_ratios=(1, 1, 1, 1, 1.7),
            left=0.35 / width,
            right=1 - 0.15 / width,
            top=1 - title_height / height,
            bottom=0.45 / height,
            wspace=0.3,
            hspace=0.75,
        )
        for index, pair in enumerate(pairs):
            model = _wrap(pair.model, 26, 1)
            _image(figure.add_subplot(grid[index, 0]), pair.real)
            figure.axes[-1].set_title(f"Real, layer {pair.layer}", fontsize=7)
            _spectrum(figure.add_subplot(grid[index, 1]), pair.real_hu, "its spectrum")
            _image(figure.add_subplot(grid[index, 2]), pair.synthetic)
            figure.axes[-1].set_title(_wrap(f"{model}, layer {pair.layer}", 24, 2), fontsize=7)
            _spectrum(figure.add_subplot(grid[index, 3]), pair.synthetic_hu, "its spectrum")
            profile = figure.add_subplot(grid[index, 4])
            for hu, label, colour in (
                (pair.real_hu, "real", "black"),
                (pair.synthetic_hu, "synthetic", "#c44e52"),
            ):
                curve = mean_log_spectrum(np.asarray(hu)[np.newaxis])
                profile.plot(np.arange(curve.size), curve, color=colour, linewidth=0.9, label=label)
            profile.set_xlabel("Cycles per image", fontsize=7)
            profile.set_ylabel("log(1 + |FFT|)", fontsize=7)
            profile.set_title("Radial profiles", fontsize=7)
            profile.legend(frameon=False, fontsize=6)
        if not pairs:
            axes = figure.add_subplot(grid[0, :])
            axes.axis("off")
            axes.text(
                0.5, 0.5, "no real and synthetic slices of a common layer", ha="center", color="#7f7f7f"
            )
    return figure
