"""A figure or table of the report as the files it is stored and downloaded as: PNG at 300 dpi (and SVG) for a
figure, CSV for a table, and the smaller PNG the PDF embeds."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from reports.content import figures

DOWNLOAD_DPI = 300
PDF_DPI = 150
PNG_COMPRESSION = 3
"""zlib level of the PNGs: CT slices hardly compress further above it, and the default (6) takes twice as long."""


@dataclass(frozen=True)
class DrawnFigure:
    """One figure or table of the report: ``key`` names its files (``<key>.png``, ``<key>.svg``,
    ``<key>.csv``), ``files`` holds their bytes by extension; ``pdf_png`` (None for a table) is what the PDF
    embeds, ``size_inches`` its drawn size; ``in_pdf`` False for what the PDF leaves out."""

    key: str
    title: str
    caption: str
    files: dict[str, bytes] = field(default_factory=dict)
    pdf_png: bytes | None = None
    size_inches: tuple[float, float] = (0.0, 0.0)
    in_pdf: bool = True

    @property
    def is_table(self) -> bool:
        return self.pdf_png is None


def _png(image: Image.Image, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi), compress_level=PNG_COMPRESSION)
    return buffer.getvalue()


def raster(figure: Figure) -> tuple[bytes, bytes]:
    """``figure`` as PNG at DOWNLOAD_DPI and at PDF_DPI, drawn once: grey levels only when it has no colour (a
    grid of CT slices), RGB otherwise, never the alpha channel (the background is opaque)."""
    with matplotlib.rc_context(figures.STYLE):
        figure.set_dpi(DOWNLOAD_DPI)
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        pixels = np.asarray(canvas.buffer_rgba())[..., :3]
    grey = bool(np.all(pixels[..., 0] == pixels[..., 1]) and np.all(pixels[..., 1] == pixels[..., 2]))
    image = Image.fromarray(np.ascontiguousarray(pixels[..., 0] if grey else pixels))
    scale = PDF_DPI / DOWNLOAD_DPI
    smaller = image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
    )
    return _png(image, DOWNLOAD_DPI), _png(smaller, PDF_DPI)


def drawn(
    figure: Figure, *, key: str, title: str, caption: str, svg: bool = False, csv: bytes | None = None
) -> DrawnFigure:
    """``figure`` rendered for download (PNG at 300 dpi, SVG when ``svg``: plots, whose lines and text stay
    vectors) and for the PDF."""
    download_png, pdf_png = raster(figure)
    files = {"png": download_png}
    if svg:
        files["svg"] = figures.svg_text(figure).encode()
    if csv is not None:
        files["csv"] = csv
    width, height = figure.get_size_inches()
    return DrawnFigure(
        key=key,
        title=title,
        caption=caption,
        files=files,
        pdf_png=pdf_png,
        size_inches=(float(width), float(height)),
    )


def table_artefact(*, key: str, title: str, caption: str, csv: bytes, in_pdf: bool = True) -> DrawnFigure:
    return DrawnFigure(key=key, title=title, caption=caption, files={"csv": csv}, in_pdf=in_pdf)
