"""The report job's figures and tables as files of their own: the paper's image figures (Figs. 4, 8, 9, 10,
drawn here from slices chosen by seed), the report's plots (PNG at 300 dpi and SVG) and tables (CSV), stored
beside the report's other artefacts. Loads matplotlib: workers, commands and tests only, never a web process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from metrics.measures.vocabulary import METRICS
from reports import figure_selectors
from reports.content import figures
from reports.content.exports import AnswerRow
from reports.content.paper_figures import (
    DrawnFigure,
    comment_rows,
    comments_csv,
    discussed_items_figure,
    drawn,
    layer_slices_figure,
    mri_through_models_figure,
    spectral_pairs_figure,
    table_artefact,
)
from reports.content.paper_figures.tables import table1_csv, table2_csv, table3_csv
from reports.content.report import Report
from storage import store_file
from studies.models import Survey

FIG4_TITLE = "Fig. 4: a representative slice of each axial layer, real CT beside each model's synthetic CT"
FIG8_TITLE = (
    "Fig. 8: a real and a synthetic slice of the same axial layer, their 2-D spectra and radial profiles"
)
FIG9_TITLE = "Fig. 9: one MRI slice through every model that made a synthetic slice from it"
FIG10_TITLE = "Fig. 10: the most-discussed items as readers saw them, how they answered and why"


@dataclass(frozen=True)
class PaperFigures:
    """The paper's figures of a report and the comments table (every reason, ``in_figure_10`` marking those
    Fig. 10 shows)."""

    figures: list[DrawnFigure]
    comments: list[dict]


def paper_figures(surveys: Sequence[Survey], rows: Sequence[AnswerRow]) -> PaperFigures:
    """The paper's image figures of ``surveys`` and the comments table: slices chosen by seed, so recomputing
    the report draws the same ones."""
    pixels = figure_selectors.PixelCache()
    layers = figure_selectors.layer_slices(surveys, pixels)
    drawn_figures = [
        drawn(
            layer_slices_figure(layers.columns, title=FIG4_TITLE),
            key="fig4-axial-layers",
            title=FIG4_TITLE,
            caption="Per dataset and layer: a patient drawn by a seed of the dataset's name and that patient's "
            "middle slice of the layer; soft-tissue window (W 400 / L 40).",
        )
    ]
    pairs = figure_selectors.spectral_pairs(surveys, layers)
    drawn_figures.append(
        drawn(
            spectral_pairs_figure(pairs, title=FIG8_TITLE),
            key="fig8-spectra-of-two-slices",
            title=FIG8_TITLE,
            caption="Fig. 4's slices of one layer (drawn by a seed of the survey's name) per survey; spectra are "
            "log(1 + |FFT|) of the HU clipped as the spectral score clips them, profiles their radial average.",
            svg=True,
        )
    )
    through = figure_selectors.mri_through_models(surveys, pixels)
    if through is not None:
        layer = f", axial layer {through.layer}" if through.layer else ""
        drawn_figures.append(
            drawn(
                mri_through_models_figure(
                    through.rows,
                    title=f"{FIG9_TITLE} (patient {through.patient}, "
                    f"{figure_selectors.MODALITY_NAMES.get(through.modality, through.modality)}{layer})",
                ),
                key="fig9-one-mri-slice-through-every-model",
                title=FIG9_TITLE,
                caption="Inputs left (each MRI slice at its own 1st-99th percentile window, the same in every "
                "row), synthetic CT right (W 400 / L 40). The slice is the one most of this report's models "
                "were run on (a seed breaks ties).",
            )
        )
    items = figure_selectors.most_discussed_items(surveys, rows)
    if items:
        drawn_figures.append(
            drawn(
                discussed_items_figure(items, title=FIG10_TITLE),
                key="fig10-most-discussed-items",
                title=FIG10_TITLE,
                caption="The items with the most reasons (a seed breaks ties), each as readers were sent it at "
                "its survey's default window; the other comments are in the comments table.",
            )
        )
    comments = comment_rows(rows, {(item.survey, item.item) for item in items})
    drawn_figures.append(
        table_artefact(
            key="comments",
            title="Readers' comments",
            caption="Every reason a reader gave; in_figure_10 marks those Fig. 10 shows.",
            csv=comments_csv(comments),
            in_pdf=False,
        )
    )
    return PaperFigures(figures=drawn_figures, comments=comments)


def report_downloads(report: Report) -> list[DrawnFigure]:
    """The report's plots and tables as downloads of their own (the page and the PDF draw them already)."""
    plots = [
        ("accuracy", "Accuracy with 95% Wilson intervals", figures.accuracy_figure(report)),
        ("confusion-matrices", "Confusion matrices", figures.confusion_figure(report)),
        ("accuracy-by-axial-layer", "Accuracy by axial layer", figures.layer_accuracy_figure(report)),
    ]
    roc = figures.roc_figure(report)
    if roc is not None:
        plots.append(("roc-curves", "ROC curves from the confidence ratings", roc))
    if report.metric_rows:
        curves = figures.metric_curves_figure(report.metric_rows, METRICS, figures.LAYERWISE_TITLE, columns=2)
        plots.append(("fig5-7-metrics-by-layer", figures.LAYERWISE_TITLE, curves))
        plots.append(
            ("fig8-mean-spectra", "Fig. 8: mean spectra", figures.spectra_figure(report.metric_rows))
        )
    if report.realism_along_z:
        plots.append(
            ("realism-along-z", figures.Z_GRADIENT_TITLE, figures.z_gradient_figure(report.metric_rows))
        )
    downloads = [
        replace(drawn(figure, key=key, title=title, caption="", svg=True), in_pdf=False)
        for key, title, figure in plots
    ]
    tables = [
        ("table2-accuracy", "Table 2: accuracy", table2_csv(report)),
        ("table3-chi-squared", "Table 3: chi-squared tests", table3_csv(report)),
    ]
    if report.metric_rows:
        tables.insert(
            0,
            ("table1-metrics", "Table 1: image-distribution metrics (means over layers)", table1_csv(report)),
        )
    downloads += [
        table_artefact(key=key, title=title, caption="", csv=csv, in_pdf=False) for key, title, csv in tables
    ]
    return downloads


PAPER, DOWNLOAD = "paper", "download"


def store_figures(job_pk: int, sections: dict[str, Sequence[DrawnFigure]], written: list[str]) -> list[dict]:
    """Store every file of the figures of each section (PAPER: the paper's figures, shown on the page;
    DOWNLOAD: the report's plots and tables, downloads only) under the job's folder, appending each stored name
    to ``written`` for the caller's clean-up, and return the manifest the job keeps: key, title, caption,
    section, whether the PDF shows it, and its stored files by extension."""
    manifest = []
    for section, drawn_figures in sections.items():
        for figure in drawn_figures:
            files = {}
            for extension, content in figure.files.items():
                name = store_file(f"reports/{job_pk}/figures/{figure.key}.{extension}", content)
                written.append(name)
                files[extension] = name
            manifest.append(
                {
                    "key": figure.key,
                    "title": figure.title,
                    "caption": figure.caption,
                    "section": section,
                    "in_pdf": figure.in_pdf and not figure.is_table,
                    "files": files,
                }
            )
    return manifest
