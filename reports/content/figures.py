"""Matplotlib figures of a report: accuracy with confidence intervals, confusion matrices, accuracy per axial
layer, layer-wise metric curves (the paper's Figs. 5-7) and mean spectra (Fig. 8); no Django, no pyplot.

Every function returns a :class:`matplotlib.figure.Figure`; :func:`png_bytes` and :func:`svg_text` render it.
Figures are built on the object API (no global pyplot state), so threads may draw at once.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from metrics.measures.vocabulary import LAYERS, LOWER_IS_BETTER, METRIC_LABELS
from readerstats import ANSWERS, TRUTHS, ProportionEstimate
from reports.content.exports import MetricRow
from reports.content.report import Report, clip_text

STYLE = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "svg.fonttype": "none",  # text stays text in SVG: smaller, searchable, styled by the page
    "text.parse_math": False,  # survey and model names are shown as written, never parsed as mathtext
    "svg.hashsalt": "blindread",  # stable element ids, so the same figure renders to the same bytes
    "axes.spines.top": False,
    "axes.spines.right": False,
}
SCOPE_COLOURS = {"all": "#4c72b0", "real": "#55a868", "synthetic": "#c44e52"}

LAYERWISE_TITLE = "Figs. 5-7: every metric per axial layer, divided by its real-vs-real baseline"


def png_bytes(figure: Figure, dpi: int = 130) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def svg_text(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        # no metadata block: no creation date (the same figure gives the same bytes) and no namespace URLs
        figure.savefig(
            buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
        )
    text = buffer.getvalue()
    # inline in HTML: drop the XML prolog and DOCTYPE, keep the <svg> element
    return text[text.index("<svg") :]


def svg_image(figure: Figure) -> str:
    """The figure as an ``<img>`` element holding its SVG (a data URI), for a page: Matplotlib's SVG draws with
    style attributes, which the pages' content security policy (no inline styles) strips from an inline ``<svg>``,
    leaving black boxes; inside an image they are the image's own. The alt text is the figure's titles."""
    titles = [figure.get_suptitle()] if figure.get_suptitle() else []
    titles += [axes.get_title() for axes in figure.axes if axes.get_title()]
    encoded = base64.b64encode(svg_text(figure).encode()).decode("ascii")
    alt = html.escape("; ".join(titles) or "plot", quote=True)
    return f'<img class="plot" alt="{alt}" src="data:image/svg+xml;base64,{encoded}">'


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout=None)


def _error(estimate: ProportionEstimate) -> tuple[float, float]:
    if estimate.proportion is None:
        return 0.0, 0.0
    # at 0% or 100% the Wilson bound equals the estimate up to rounding, which can fall a hair on the wrong side
    return (
        max(100 * (estimate.proportion - estimate.ci_low), 0.0),
        max(100 * (estimate.ci_high - estimate.proportion), 0.0),
    )


def _percent(estimate: ProportionEstimate) -> float:
    return np.nan if estimate.proportion is None else 100 * estimate.proportion


def accuracy_figure(report: Report) -> Figure:
    """Accuracy on all, real-only and synthetic-only items per survey (indeterminable excluded), 95% Wilson
    intervals, with 50% (chance) marked."""
    with matplotlib.rc_context(STYLE):
        rows = report.table2
        height = 3.4
        figure = _figure(max(4.5, 1.4 * len(rows) + 1.5), height)
        axes = figure.add_subplot()
        width = 0.26
        x = np.arange(len(rows))
        for offset, (scope, label) in zip(
            (-width, 0.0, width),
            (("all", "All items"), ("real", "Real items"), ("synthetic", "Synthetic items")),
            strict=True,
        ):
            estimates = [getattr(row, f"{scope}_items") for row in rows]
            errors = np.array([_error(estimate) for estimate in estimates]).T
            axes.bar(
                x + offset,
                [_percent(estimate) for estimate in estimates],
                width,
                yerr=errors if len(rows) else None,
                capsize=2,
                label=label,
                color=SCOPE_COLOURS[scope],
                error_kw={"elinewidth": 0.8},
            )
        axes.axhline(50, color="black", linestyle="--", linewidth=0.8, label="Chance (50%)")
        # survey and model names wrapped to the width of a group of bars, two lines each at most
        names = [
            _wrap(row.survey, 22, 2) + (f"\n({_wrap(row.model_alias, 20, 2)})" if row.model_alias else "")
            for row in rows
        ]
        axes.set_xticks(x, names)
        axes.set_ylim(0, 100)
        axes.set_ylabel("Correctly classified (%)")
        axes.set_title("Accuracy with 95% Wilson intervals (indeterminable excluded)")
        axes.legend(
            ncols=4,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.0),
            bbox_transform=figure.transFigure,
            frameon=False,
        )
        figure.subplots_adjust(left=0.1, right=0.98, top=1 - 0.35 / height, bottom=1.1 / height)
    return figure


def confusion_figure(report: Report) -> Figure:
    """Truth x answer counts per survey."""
    with matplotlib.rc_context(STYLE):
        names = list(report.confusion)
        columns = min(4, max(1, len(names)))
        rows = (len(names) + columns - 1) // columns
        figure = _figure(1.9 * columns + 0.4, 1.8 * rows + 0.3)
        for index, name in enumerate(names):
            counts = report.confusion[name]
            axes = figure.add_subplot(rows, columns, index + 1)
            axes.imshow(counts, cmap="Blues", vmin=0, vmax=max(1, counts.max()))
            for (row, column), count in np.ndenumerate(counts):
                dark = count > 0.6 * max(1, counts.max())
                axes.text(
                    column, row, str(count), ha="center", va="center", color="white" if dark else "black"
                )
            axes.set_xticks(range(len(ANSWERS)), ["real", "synth.", "indet."])
            axes.set_yticks(range(len(TRUTHS)), ["real", "synth."])
            axes.set_xlabel("Answer")
            axes.set_ylabel("Truth")
            axes.set_title(_wrap(name, 22, 2))
            for spine in axes.spines.values():
                spine.set_visible(False)
        figure.subplots_adjust(left=0.12, right=0.98, top=0.9, bottom=0.18, wspace=0.55, hspace=0.7)
    return figure


def layer_accuracy_figure(report: Report) -> Figure:
    """Accuracy per axial layer (indeterminable excluded) per survey; the pooled line carries its interval."""
    groups: dict[str, list] = {}
    for entry in report.layer_accuracy:
        groups.setdefault(entry.survey, []).append(entry)
    legend_rows = -(-len(groups) // 3)
    with matplotlib.rc_context(STYLE):
        height = 2.6 + 0.2 * legend_rows
        figure = _figure(6.4, height)
        axes = figure.add_subplot()
        for survey, entries in groups.items():
            layers = [entry.layer for entry in entries]
            values = [_percent(entry.estimate) for entry in entries]
            pooled = survey == "" or len(groups) == 1
            label = "All surveys" if survey == "" else clip_text(survey, 32)
            line = axes.plot(
                layers, values, marker="o", markersize=3, label=label, linewidth=1.6 if pooled else 1
            )
            if pooled:
                low = [np.nan if e.estimate.ci_low is None else 100 * e.estimate.ci_low for e in entries]
                high = [np.nan if e.estimate.ci_high is None else 100 * e.estimate.ci_high for e in entries]
                axes.fill_between(layers, low, high, color=line[0].get_color(), alpha=0.15, linewidth=0)
        axes.axhline(50, color="black", linestyle="--", linewidth=0.8)
        axes.set_xticks(list(LAYERS))
        axes.set_xlabel("Axial layer (1 = lower abdomen, 10 = lung bases)")
        axes.set_ylabel("Correctly classified (%)")
        axes.set_ylim(0, 100)
        axes.set_title("Accuracy by axial layer (indeterminable excluded; band: 95% Wilson interval)")
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=min(3, len(groups)), frameon=False)
        figure.subplots_adjust(
            left=0.09, right=0.98, top=1 - 0.3 / height, bottom=(0.55 + 0.2 * legend_rows) / height
        )
    return figure


def roc_figure(report: Report) -> Figure | None:
    """Empirical ROC curves from the confidence ratings, one panel per rated survey: each reader's curve (thin) and
    the reader-averaged curve (thick), chance on the diagonal. None when no survey of the report is rated."""
    if report.mrmc is None:
        return None
    entries = [entry for entry in report.mrmc.rated if entry.roc is not None]
    if not entries:
        return None
    columns = min(3, len(entries))
    grid_rows = -(-len(entries) // columns)
    with matplotlib.rc_context(STYLE):
        panel = 2.8
        width, height = panel * columns + 0.4, (panel + 0.5) * grid_rows + 0.45
        figure = _figure(width, height)
        figure.suptitle("ROC curves from the confidence ratings (thin: each reader; thick: reader average)")
        for index, entry in enumerate(entries):
            axes = figure.add_subplot(grid_rows, columns, index + 1)
            curves = entry.roc.readers
            if curves:
                segments = [np.column_stack([curve.fpf, curve.tpf]) for curve in curves]
                axes.add_collection(LineCollection(segments, colors="#9aa7b8", linewidths=0.6, alpha=0.7))
            if entry.roc.average is not None:
                average = entry.roc.average
                axes.plot(average.fpf, average.tpf, color=SCOPE_COLOURS["all"], linewidth=1.8)
                title = f"{_wrap(entry.survey, 26, 1)}\nmean AUC {average.auc:.3f}"
            else:
                axes.text(
                    0.5,
                    0.5,
                    _wrap(entry.roc.reason or "no curve", 30),
                    ha="center",
                    va="center",
                    color="#7f7f7f",
                )
                title = _wrap(entry.survey, 26, 1)
            axes.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=0.7)
            axes.set_xlim(0, 1)
            axes.set_ylim(0, 1)
            axes.set_aspect("equal")
            axes.set_xlabel("False positive fraction\n(real slices called synthetic)")
            axes.set_ylabel("True positive fraction")
            axes.set_title(title)
        figure.subplots_adjust(
            left=0.55 / width,
            right=1 - 0.15 / width,
            top=1 - 0.75 / height,
            bottom=0.7 / height,
            wspace=0.45,
            hspace=0.6,
        )
    return figure


def _rows_by_model(rows: Sequence[MetricRow], metric: str) -> dict[str, list[MetricRow]]:
    grouped: dict[str, list[MetricRow]] = {}
    for row in rows:
        if row.metric == metric:
            grouped.setdefault(f"{row.model} / {row.real_dataset}", []).append(row)
    return grouped


def metric_curves_figure(
    rows: Sequence[MetricRow], metrics: Sequence[str], title: str, *, columns: int | None = None
) -> Figure:
    """One panel per metric, ``columns`` per row (default: all in one row): each model's score per axial layer
    divided by its real-vs-real baseline, with 1 (a model as close to real CT as two real halves are to each
    other) marked; one colour per model. The legend takes a free panel, else the right margin."""
    columns = min(columns or len(metrics), len(metrics))
    grid_rows = -(-len(metrics) // columns)
    free_cell = grid_rows * columns > len(metrics)
    with matplotlib.rc_context(STYLE):
        panel_width, panel_height = 3.0, 2.1
        legend_width = 0.0 if free_cell else 2.4
        width, height = panel_width * columns + legend_width + 0.4, panel_height * grid_rows + 0.5
        figure = _figure(width, height)
        figure.suptitle(title)
        handles = {}
        for index, metric in enumerate(metrics):
            axes = figure.add_subplot(grid_rows, columns, index + 1)
            plotted = False
            for model, model_rows in _rows_by_model(rows, metric).items():
                by_layer = {row.layer: row for row in model_rows}
                values = [by_layer[layer].normalised if layer in by_layer else None for layer in LAYERS]
                values = np.array([np.nan if value is None else value for value in values], dtype=float)
                if np.all(np.isnan(values)):
                    continue
                colour = handles[model].get_color() if model in handles else None  # one colour per model
                (line,) = axes.plot(list(LAYERS), values, marker="o", markersize=3, linewidth=1, color=colour)
                handles.setdefault(model, line)
                plotted = True
            baseline = axes.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
            handles.setdefault("Baseline (real vs real) = 1", baseline)
            axes.set_xticks(list(LAYERS))
            axes.set_xlabel("Axial layer")
            axes.set_ylabel("score / baseline")
            better = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
            axes.set_title(_wrap(f"{METRIC_LABELS[metric]} ({better})", 38, 2))  # fits its panel
            if not plotted:
                notes = sorted({row.note for row in rows if row.metric == metric and row.note})
                axes.text(
                    0.5,
                    0.5,
                    _wrap(notes[0] if notes else "no results", 34),
                    transform=axes.transAxes,
                    ha="center",
                    va="center",
                    color="#7f7f7f",
                    fontsize=7,
                )
        labels = [_wrap(name, 34) for name in handles]
        if free_cell:
            legend_axes = figure.add_subplot(grid_rows, columns, grid_rows * columns)
            legend_axes.axis("off")
            legend_axes.legend(list(handles.values()), labels, loc="center", frameon=False)
        else:
            figure.legend(list(handles.values()), labels, loc="center right", frameon=False)
        figure.subplots_adjust(
            left=0.7 / width,
            right=1 - (legend_width + 0.1) / width,
            top=1 - 0.8 / height,
            bottom=0.45 / height,
            wspace=0.35,
            hspace=0.65,
        )
    return figure


def spectra_figure(rows: Sequence[MetricRow]) -> Figure:
    """Mean radially averaged log-magnitude spectra (averaged over layers): left, each real dataset's reference
    half and each model's synthetic slices; right, every curve minus its real reference, with the held-out real
    half as the yardstick: a synthetic curve that strays further from 0 than the held-out one shows a spectral
    artefact (noise or checkerboard patterns add high frequencies)."""
    averages = [
        row
        for row in rows
        if row.metric == "spectral_score" and row.is_average and row.detail.get("synthetic_spectrum")
    ]
    with matplotlib.rc_context(STYLE):
        width, legend_width = 8.8, 2.6
        figure = _figure(width, 2.9)
        figure.suptitle("Fig. 8: mean spectra, real vs synthetic (radial average of log(1 + |FFT|))")
        spectra, differences = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
        handles = {}
        for row in averages:
            reference = np.asarray(row.detail["reference_spectrum"], dtype=float)
            radius = np.arange(reference.size)
            real_label = f"Real: {clip_text(row.real_dataset, 30)} (reference half)"
            if real_label not in handles:
                (handles[real_label],) = spectra.plot(radius, reference, color="black", linewidth=1)
            held_out = row.detail.get("held_out_spectrum")
            if held_out and len(held_out) == reference.size:
                held_label = f"Real: {clip_text(row.real_dataset, 30)} (held-out half)"
                (line,) = differences.plot(
                    radius, np.asarray(held_out) - reference, color="#7f7f7f", linestyle=":", linewidth=0.8
                )
                handles.setdefault(held_label, line)
            synthetic = np.asarray(row.detail["synthetic_spectrum"], dtype=float)
            if synthetic.size != reference.size:
                continue
            score = "" if row.normalised is None else f" (normalised score {row.normalised:.3f})"
            (line,) = spectra.plot(radius, synthetic, linewidth=1)
            differences.plot(radius, synthetic - reference, color=line.get_color(), linewidth=0.8)
            handles[f"Synthetic: {clip_text(row.model, 30)}{score}"] = line
        if not averages:
            spectra.text(0.5, 0.5, "no spectra stored yet", ha="center", va="center", color="#7f7f7f")
        differences.axhline(0, color="black", linewidth=0.6)
        spectra.set_ylabel("Mean log(1 + |FFT|)")
        differences.set_ylabel("Minus the real reference half")
        for axes in (spectra, differences):
            axes.set_xlabel("Spatial frequency (cycles per image)")
        figure.legend(
            list(handles.values()), [_wrap(name, 34) for name in handles], loc="center right", frameon=False
        )
        figure.subplots_adjust(
            left=0.6 / width, right=1 - legend_width / width, top=0.85, bottom=0.16, wspace=0.35
        )
    return figure


Z_GRADIENT_TITLE = (
    "Realism along z: distribution of the z-gradient inside the body, real vs synthetic volumes"
)


def z_gradient_figure(rows: Sequence[MetricRow]) -> Figure:
    """One panel per model: the share of body pixels at each z-gradient (|HU difference| between neighbouring
    slices per mm, on the comparison's common grid) in the real volumes and in the model's synthetic volumes, from
    the ``z_gradient_w1`` rows' pooled histograms; the title gives the normalised 1-Wasserstein distance."""
    panels = [row for row in rows if row.metric == "z_gradient_w1" and row.detail.get("synthetic_histogram")]
    with matplotlib.rc_context(STYLE):
        columns = max(1, min(2, len(panels)))
        lines = max(1, (len(panels) + columns - 1) // columns)
        figure = _figure(8.8 if columns > 1 else 4.6, 1.0 + 2.3 * lines)
        figure.suptitle(_wrap(Z_GRADIENT_TITLE, 90 if columns > 1 else 48, 3))
        if not panels:
            axes = figure.add_subplot(1, 1, 1)
            axes.text(
                0.5, 0.5, "no whole-volume measure stored yet", ha="center", va="center", color="#7f7f7f"
            )
            axes.set_axis_off()
        for index, row in enumerate(panels, start=1):
            axes = figure.add_subplot(lines, columns, index)
            edges = np.asarray(row.detail["edges"], dtype=float)
            for key, label in (("real_histogram", "real"), ("synthetic_histogram", "synthetic")):
                share = np.asarray(row.detail[key], dtype=float)
                axes.stairs(share, edges, color=SCOPE_COLOURS[label], label=label.capitalize(), linewidth=1.1)
            score = "n/a" if row.normalised is None else f"{row.normalised:.2f}"
            axes.set_title(_wrap(f"{row.model} (W1 normalised {score})", 44, 2))
            # most of the mass lies in the first few HU/mm: a log scale shows the tails where models differ
            axes.set_yscale("log")
            axes.set_ylim(bottom=1e-5)
            # plain tick labels: the report's style turns mathtext (Matplotlib's default "10^k") off
            axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            axes.yaxis.set_minor_formatter(NullFormatter())
            axes.set_xlabel("z-gradient (HU/mm; the last bin holds larger ones)")
            axes.set_ylabel("Share of body pixels (log)")
            axes.legend(frameon=False)
        figure.tight_layout(rect=(0, 0, 1, (0.86 if columns == 1 else 0.9) if lines == 1 else 0.95))
    return figure


def _wrap(text: str, width: int, max_lines: int = 4) -> str:
    """``text`` in lines of at most ``width`` characters (long words such as paths broken), at most
    ``max_lines`` of them."""
    return textwrap.fill(text, width, break_long_words=True, max_lines=max_lines, placeholder=" \u2026")
