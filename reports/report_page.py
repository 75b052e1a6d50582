"""The body of a report page: the tables, figures and words of a Report, rendered to HTML by the report job."""

from collections.abc import Sequence

from django.template.loader import render_to_string
from django.urls import reverse

from metrics.measures.vocabulary import METRICS
from reports.content import figures
from reports.content.exposure import EXPOSURE_NOTE, EXPOSURE_TITLE, staircase_figure
from reports.content.formats import TABLE3_MARKS
from reports.content.model_ranking import LEAD_NOTE, LEAD_TITLE
from reports.content.reader_groups import GROUPS_NOTE, GROUPS_TITLE
from reports.content.reader_quality import (
    QUALITY_HEADER,
    QUALITY_NOTE,
    QUALITY_TITLE,
    VERDICT_ALL_LABEL,
    VERDICT_KEPT_LABEL,
)
from reports.content.realism_along_z import MEASURE_NOTE as Z_MEASURE_NOTE
from reports.content.realism_along_z import THRESHOLDS_NOTE as Z_THRESHOLDS_NOTE
from reports.content.realism_along_z import TITLE as Z_TITLE
from reports.content.report import (
    HYPOTHESES_IN_WORDS,
    TABLE2_TITLE,
    TABLE3_TITLE,
    Report,
    table2_variants,
)
from reports.content.report_mrmc import (
    AUC_HEADER,
    AUC_NOTE,
    AUC_TITLE,
    DETAILS_HEADER,
    DETAILS_NOTE,
    DETAILS_TITLE,
    INTRA_HEADER,
    INTRA_NOTE,
    INTRA_TITLE,
    MRMC_HEADER,
    MRMC_NOTE,
    MRMC_TITLE,
)
from reports.content.two_afc import TWO_AFC_NOTE, TWO_AFC_TITLE


def metric_figures(rows) -> list[str]:
    """The layer-wise curves of every metric (the paper's Figs. 5-7) and the mean spectra (Fig. 8), as SVG images."""
    if not rows:
        return []
    curves = figures.metric_curves_figure(rows, METRICS, figures.LAYERWISE_TITLE, columns=2)
    return [figures.svg_image(curves), figures.svg_image(figures.spectra_figure(rows))]


def figure_links(job_pk: int, manifest) -> list[dict]:
    """The stored figures and tables of report job ``job_pk`` (its manifest) with the address of each file."""
    return [
        {
            **entry,
            "urls": {
                extension: reverse("reports:figure", args=[job_pk, f"{entry['key']}.{extension}"])
                for extension in entry["files"]
            },
        }
        for entry in manifest
    ]


def exposure_entries(report: Report) -> list[dict]:
    """The exposure sections worth a place on the page (a time-limited exposure, or answers with unlimited time),
    each with its staircase figure (SVG) where a staircase ran."""
    entries = []
    for section in report.exposure:
        figure = staircase_figure(section)
        entries.append({"section": section, "figure": None if figure is None else figures.svg_image(figure)})
    return entries


def report_body(report: Report, *, stored_figures: Sequence[dict] = (), comments: Sequence[dict] = ()) -> str:
    """The report page's body (everything below its header, downloads and freshness note); ``stored_figures``:
    the stored figures and tables with their addresses (:func:`figure_links`); ``comments``: every reason
    given, those not in Fig. 10 listed in the page's searchable table."""
    roc = figures.roc_figure(report)
    context = {
        "report": report,
        "hypotheses": HYPOTHESES_IN_WORDS,
        "table2_title": TABLE2_TITLE,
        "table2_variants": table2_variants(report),
        "table3_title": TABLE3_TITLE,
        "table3_marks": TABLE3_MARKS,
        "figures": {
            "accuracy": figures.svg_image(figures.accuracy_figure(report)),
            "confusion": figures.svg_image(figures.confusion_figure(report)),
            "layers": figures.svg_image(figures.layer_accuracy_figure(report)),
        },
        "metric_figures": metric_figures(report.metric_rows),
        "z_title": Z_TITLE,
        "z_thresholds": Z_THRESHOLDS_NOTE,
        "z_measure": Z_MEASURE_NOTE,
        "z_figure": figures.svg_image(figures.z_gradient_figure(report.metric_rows))
        if report.realism_along_z
        else None,
        "mrmc_title": MRMC_TITLE,
        "mrmc_header": MRMC_HEADER,
        "mrmc_note": MRMC_NOTE,
        "details_title": DETAILS_TITLE,
        "details_header": DETAILS_HEADER,
        "details_note": DETAILS_NOTE,
        "ranking_title": LEAD_TITLE,
        "ranking_note": LEAD_NOTE,
        "groups_title": GROUPS_TITLE,
        "groups_note": GROUPS_NOTE,
        "quality_title": QUALITY_TITLE,
        "quality_header": QUALITY_HEADER,
        "quality_note": QUALITY_NOTE,
        "verdict_all_label": VERDICT_ALL_LABEL,
        "verdict_kept_label": VERDICT_KEPT_LABEL,
        "exposure_title": EXPOSURE_TITLE,
        "exposure_note": EXPOSURE_NOTE,
        "exposure_sections": exposure_entries(report),
        "two_afc_title": TWO_AFC_TITLE,
        "two_afc_note": TWO_AFC_NOTE,
        "two_afc_sections": report.two_afc,
        "roc_figure": None if roc is None else figures.svg_image(roc),
        "auc_title": AUC_TITLE,
        "auc_header": AUC_HEADER,
        "auc_note": AUC_NOTE,
        "intra_title": INTRA_TITLE,
        "intra_header": INTRA_HEADER,
        "intra_note": INTRA_NOTE,
        "paper_figures": [entry for entry in stored_figures if entry["section"] == "paper"],
        "figure_downloads": [entry for entry in stored_figures if entry["section"] == "download"],
        "comments": [comment for comment in comments if not comment["in_figure_10"]],
        "comments_csv": next((entry for entry in stored_figures if entry["key"] == "comments"), None),
    }
    return render_to_string("reports/_report_body.html", context)
