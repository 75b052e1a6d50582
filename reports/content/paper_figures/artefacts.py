"""A figure or table of the report as the files it is stored and downloaded as: PNG at 300 dpi (and SVG) for a
figure, CSV for a table, and the smaller PNG the PDF embeds."""

from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.figure import Figure

from reports.content import figures

DOWNLOAD_DPI = 300
PDF_DPI = 150


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


def drawn(
    figure: Figure, *, key: str, title: str, caption: str, svg: bool = False, csv: bytes | None = None
) -> DrawnFigure:
    """``figure`` rendered for download (PNG at 300 dpi, SVG when ``svg``: plots, whose lines and text stay
    vectors) and for the PDF."""
    files = {"png": figures.png_bytes(figure, dpi=DOWNLOAD_DPI)}
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
        pdf_png=figures.png_bytes(figure, dpi=PDF_DPI),
        size_inches=(float(width), float(height)),
    )


def table_artefact(*, key: str, title: str, caption: str, csv: bytes, in_pdf: bool = True) -> DrawnFigure:
    return DrawnFigure(key=key, title=title, caption=caption, files={"csv": csv}, in_pdf=in_pdf)
