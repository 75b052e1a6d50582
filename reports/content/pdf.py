"""The PDF report (reportlab, figures from matplotlib embedded as images); no Django.

Sections, in order: the surveys; how to read the tests; Table 2 (accuracy on all, real-only and synthetic-only
items, indeterminable excluded and counted as wrong); Table 3 (p-values of the chi-squared tests, binomial and
multinomial, with the test used and Holm-adjusted p-values) and its conclusions in words; equivalence and
clustering-aware estimates; figures; per-reader accuracy; image-distribution metrics (averages, layer-wise
curves, mean spectra); the readers' reasons grouped by item.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    PageBreak,
    Paragraph,
    Preformatted,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from metrics.measures.vocabulary import LOWER_IS_BETTER, METRICS
from readerstats import ProportionEstimate, p_text
from reports.content import figures
from reports.content.formats import TABLE3_MARKS, format_interval, format_percent, table3_cell
from reports.content.model_ranking import LEAD_NOTE, LEAD_TITLE
from reports.content.reader_groups import GROUPS_NOTE, GROUPS_TITLE, test_sentence
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
    clip_text,
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
from reports.content.wording import plain_reason

PAGE_WIDTH = A4[0] - 30 * mm
MAX_FIGURE_HEIGHT = A4[1] - 60 * mm
"""A figure never takes more than a page less its margins and a heading; a taller one is scaled down."""
FIGURE_DPI = 110

_styles = getSampleStyleSheet()
TITLE = ParagraphStyle("ReportTitle", parent=_styles["Title"], fontSize=16, alignment=TA_LEFT, spaceAfter=4)
H1 = ParagraphStyle("ReportH1", parent=_styles["Heading1"], fontSize=13, spaceBefore=8, spaceAfter=4)
H2 = ParagraphStyle("ReportH2", parent=_styles["Heading2"], fontSize=11, spaceBefore=6, spaceAfter=3)
BODY = ParagraphStyle("ReportBody", parent=_styles["BodyText"], fontSize=8.5, leading=11)
SMALL = ParagraphStyle("ReportSmall", parent=BODY, fontSize=7.5, leading=9.5)
CELL = ParagraphStyle("ReportCell", parent=BODY, fontSize=7.5, leading=9)
HEADER_CELL = ParagraphStyle("ReportHeaderCell", parent=CELL, fontName="Helvetica-Bold")
NOTE = ParagraphStyle("ReportNote", parent=SMALL, textColor=colors.HexColor("#444444"))
REASONS = ParagraphStyle(
    "ReportReasons", parent=SMALL, fontName="Helvetica", leftIndent=8, spaceAfter=4, leading=9
)
REASON_LINE_CHARS = 125
WARNING = ParagraphStyle("ReportWarning", parent=BODY, textColor=colors.HexColor("#9c2a00"))

GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#333333")),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, colors.HexColor("#333333")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f8fa")]),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
)


def _p(text: str, style=BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def _wrapped(cell, style):
    """A text cell as a paragraph, which wraps inside its column (a plain string runs into the next one)."""
    return _p(cell, style) if isinstance(cell, str) else cell


def _table(header: Sequence[str], rows: Sequence[Sequence], widths: Sequence[float] | None = None) -> Table:
    header = [_wrapped(cell, HEADER_CELL) for cell in header]
    rows = [[_wrapped(cell, CELL) for cell in row] for row in rows]
    table = Table([header, *rows], colWidths=widths, repeatRows=1)
    table.setStyle(GRID)
    return table


def _figure(figure, width: float = PAGE_WIDTH) -> Image:
    data = figures.png_bytes(figure, dpi=FIGURE_DPI)
    figure_width, figure_height = figure.get_size_inches()
    height = width * figure_height / figure_width
    if height > MAX_FIGURE_HEIGHT:
        width, height = width * MAX_FIGURE_HEIGHT / height, MAX_FIGURE_HEIGHT
    return Image(io.BytesIO(data), width=width, height=height)


def _accuracy_cell(estimate: ProportionEstimate) -> Paragraph:
    if estimate.proportion is None:
        return _p("n/a", CELL)
    return Paragraph(
        f"<b>{format_percent(estimate)}</b> ({format_interval(estimate)})<br/>"
        f"{estimate.successes}/{estimate.total}, {p_text(estimate.p_value)}",
        CELL,
    )


def _surveys(report: Report) -> list:
    header = [
        "Survey",
        "Model alias",
        "Model (synthetic CT)",
        "Real CT",
        "Status",
        "Items",
        "Readers",
        "Answers",
    ]
    answers = {row.survey: row.answers for row in report.table2}
    rows = [
        [
            _p(info.name, CELL),
            _p(info.model_alias, CELL),
            _p(info.model, CELL),
            _p(info.real_dataset, CELL),
            info.status,
            info.item_count,
            info.reader_count,
            answers.get(info.name, 0),
        ]
        for info in report.surveys
    ]
    widths = [w * mm for w in (30, 22, 36, 30, 14, 12, 17, 17)]
    return [_table(header, rows, widths)]


def _mrmc(report: Report) -> list:
    """The lead section: OR MRMC and GLMM accuracy per survey, the model comparison and the verdict in words."""
    if report.mrmc is None:
        return []
    rows = [
        [_p(text, SMALL) for text in (entry.survey, entry.model_alias, *entry.cells)]
        for entry in report.mrmc.surveys
    ]
    story = [Paragraph(escape(MRMC_TITLE), H1)]
    story += [
        Paragraph(
            f"<b>{escape(entry.survey)} ({escape(entry.model_alias)}): {escape(entry.headline)}</b> "
            f"{escape(entry.verdict)}",
            BODY,
        )
        for entry in report.mrmc.surveys
    ]
    story.append(_table([_p(text, SMALL) for text in MRMC_HEADER], rows))
    if report.mrmc.comparison_verdict:
        story.append(_p(report.mrmc.comparison_verdict))
    story.append(_p(MRMC_NOTE, SMALL))
    details = [
        [_p(text, SMALL) for text in (entry.survey, entry.model_alias, *entry.details_cells)]
        for entry in report.mrmc.surveys
    ]
    story += [
        Paragraph(escape(DETAILS_TITLE), H2),
        _table([_p(text, SMALL) for text in DETAILS_HEADER], details),
        _p(DETAILS_NOTE, NOTE),
    ]
    return story + _auc(report) + _intra_reader(report) + _two_afc(report)


def _model_ranking(report: Report) -> list:
    """The lead: the models ranked by the GLMM comparison, one sentence per pair, the omnibus test."""
    ranking = report.ranking
    if ranking is None:
        return []
    story = [Paragraph(escape(LEAD_TITLE), H1), Paragraph(f"<b>{escape(ranking.headline)}</b>", BODY)]
    if ranking.estimable:
        rows = [
            [
                entry.place,
                _p(entry.label, SMALL),
                _p(", ".join(entry.surveys), SMALL),
                entry.readers,
                f"{100 * entry.accuracy:.1f}% ({100 * entry.ci_low:.1f}\u2013{100 * entry.ci_high:.1f})",
            ]
            for entry in ranking.models
        ]
        header = ["Place", "Model", "Surveys", "Readers", "Readers correct (95% CI)"]
        story.append(_table(header, rows, [w * mm for w in (14, 40, 66, 18, 42)]))
        story += [Paragraph("\u2022 " + escape(pair.sentence()), BODY) for pair in ranking.pairs]
        story.append(_p(ranking.omnibus_sentence))
    story.append(_p(f"{LEAD_NOTE} {ranking.design_sentence}", NOTE))
    story.append(_p(f"Details for statisticians: {ranking.method}.", NOTE))
    return story


def _reader_groups(report: Report) -> list:
    """Accuracy (and AUC) by the readers' specialty and experience band, with the test of a group effect."""
    groups = report.reader_groups
    if groups is None:
        return []
    story = [Paragraph(escape(GROUPS_TITLE), H1)]
    for label, analysis in groups.analyses:
        story.append(Paragraph(escape(label), H2))
        rows = [[_p(cell, SMALL) for cell in row] for row in groups.rows(analysis)]
        widths = (40, 16, 18, 42, 32, 32)[: len(groups.header)]
        story.append(_table([_p(text, SMALL) for text in groups.header], rows, [w * mm for w in widths]))
        story.append(_p(test_sentence(analysis)))
    story.append(
        _p(f"{GROUPS_NOTE} Experience bands of this report (years): {', '.join(groups.bands)}.", NOTE)
    )
    return story


def _reader_quality(report: Report) -> list:
    """Reader quality control: the frozen rules, every reader's values, the verdict with and without the excluded
    readers."""
    section = report.reader_quality
    if section is None:
        return []
    story = [Paragraph(escape(QUALITY_TITLE), H1)]
    for entry in section.surveys:
        heading = f"{entry.survey} ({entry.model_alias})" if entry.model_alias else entry.survey
        story += [Paragraph(escape(heading), H2), _p(entry.rules_line)]
        rows = [[_p(cell, SMALL) for cell in row] for row in entry.table_rows]
        widths = (26, 20, 22, 26, 16, 70)
        story.append(_table([_p(text, SMALL) for text in QUALITY_HEADER], rows, [w * mm for w in widths]))
        story += [
            _p(entry.summary),
            Paragraph(f"<b>{escape(VERDICT_ALL_LABEL)}</b> {escape(entry.verdict_all)}", BODY),
            Paragraph(f"<b>{escape(VERDICT_KEPT_LABEL)}</b> {escape(entry.verdict_kept)}", BODY),
        ]
    story.append(_p(QUALITY_NOTE, NOTE))
    return story


def _auc(report: Report) -> list:
    """The AUC from the ratings (OR RRRC) and the ROC curves, when some survey is rated."""
    rated = report.mrmc.rated
    if not rated:
        return []
    rows = [
        [_p(text, SMALL) for text in (entry.survey, entry.model_alias, *entry.auc_cells)] for entry in rated
    ]
    story = [Paragraph(escape(AUC_TITLE), H2), _table([_p(text, SMALL) for text in AUC_HEADER], rows)]
    story += [
        Paragraph(f"<b>{escape(entry.survey)}.</b> {escape(entry.auc_verdict)}", BODY) for entry in rated
    ]
    roc = figures.roc_figure(report)
    if roc is not None:
        story.append(_figure(roc, PAGE_WIDTH * min(1.0, roc.get_size_inches()[0] / 8.2)))
    story.append(_p(AUC_NOTE, SMALL))
    return story


def _two_afc(report: Report) -> list:
    """Two-alternative forced choice per model (reports.content.two_afc), when some survey asked it."""
    if not report.two_afc:
        return []

    def interval(low, high) -> str:
        return "" if low is None or high is None else f"{low:.3f}-{high:.3f}"

    rows = []
    for section in report.two_afc:
        p = section.proportion
        boot = p.bootstrap
        aucs = "; ".join(
            f"{a.survey}: {a.auc:.3f} ({interval(a.ci_low, a.ci_high)})" for a in section.single_image_auc
        )
        cells = (
            section.model,
            str(p.readers),
            str(p.pairs),
            "" if p.proportion is None else f"{p.proportion:.3f}",
            interval(p.or_ci_low, p.or_ci_high) or (p.or_reason or ""),
            "" if boot is None else interval(boot.ci_low, boot.ci_high),
            ""
            if p.glmm_accuracy is None
            else f"{p.glmm_accuracy:.3f} ({interval(p.glmm_ci_low, p.glmm_ci_high)})",
            aucs,
        )
        rows.append([_p(text, SMALL) for text in cells])
    header = ("Model", "Readers", "Pairs", "Proportion correct", "95% CI (OR)", "95% CI (bootstrap)", "GLMM",
              "Single-image AUC")  # fmt: skip
    return [
        Paragraph(escape(TWO_AFC_TITLE), H2),
        _table([_p(text, SMALL) for text in header], rows),
        _p(TWO_AFC_NOTE, SMALL),
    ]


def _intra_reader(report: Report) -> list:
    """Cohen's (and for ratings weighted) kappa per reader between the first and the repeat reading."""
    repeated = report.mrmc.repeated
    if not repeated:
        return []
    story = [Paragraph(escape(INTRA_TITLE), H2)]
    for entry in repeated:
        story.append(_p(entry.survey, SMALL))
        rows = [[_p(text, CELL) for text in row] for row in entry.intra_rows]
        story.append(
            _table([_p(text, SMALL) for text in INTRA_HEADER], rows, [w * mm for w in (40, 28, 55, 55)])
        )
    story.append(_p(INTRA_NOTE, SMALL))
    return story


def _hypotheses() -> list:
    items = [Paragraph("How to read the tests", H2)]
    items += [Paragraph("\u2022 " + escape(text), BODY) for text in HYPOTHESES_IN_WORDS]
    return items


def _table2(report: Report) -> list:
    flow = [Paragraph(escape(TABLE2_TITLE), H1)]
    header = ["Survey", "Model", "Full scan set", "Real scans only", "Synthetic scans only"]
    widths = [w * mm for w in (30, 24, 42, 42, 42)]
    for variant in table2_variants(report):
        rows = [
            [
                _p(row["survey"], CELL),
                _p(row["alias"], CELL),
                *[_accuracy_cell(cell) for cell in row["cells"]],
            ]
            for row in variant["rows"]
        ]
        caption = variant["caption"]
        flow += [_p(caption, SMALL), _table(header, rows, widths), Spacer(1, 3 * mm)]
    flow.append(
        _p(
            "Each cell: percentage correct (95% Wilson interval), correct/answers, and the exact two-sided binomial "
            "test against 50% (H0: accuracy is 50%, i.e. readers guess; a small p says accuracy differs from "
            "chance). Near 50% is the desirable outcome for a model. These intervals treat answers as independent; "
            "see the clustering-aware estimates below.",
            NOTE,
        )
    )
    return flow


def _table3(report: Report) -> list:
    flow = [Paragraph(escape(TABLE3_TITLE), H1)]
    header = ["Comparison", "Binomial", "Multinomial"]
    widths = [w * mm for w in (70, 55, 55)]
    rows = [
        [_p(row.label, CELL), table3_cell(row.binomial), table3_cell(row.multinomial)]
        for row in report.table3
    ]
    flow += [_table(header, rows, widths), Spacer(1, 2 * mm), _p(TABLE3_MARKS, NOTE)]
    flow.append(
        _p(
            "Real vs synthetic rows: H0 = the answer is independent of the truth (readers cannot tell). A small p "
            "rejects H0: readers CAN tell real from synthetic. A large p is not proof that they cannot (see the "
            "equivalence test). Survey vs survey rows test correctness (correct / wrong, and indeterminable in "
            "the multinomial column): H0 = both surveys have the same distribution; a small p says they differ.",
            BODY,
        )
    )
    flow.append(Paragraph("Conclusions in words", H2))
    for row in report.table3:
        for kind, test in (("binomial", row.binomial), ("multinomial", row.multinomial)):
            text = f"{row.label} ({kind}): {test.conclusion} [{test.method}"
            text += f"; {test.exact_test}]" if test.exact_test else "]"
            flow.append(_p(text, SMALL))
            for note in test.notes:
                flow.append(_p(f"    note: {note}", NOTE))
    if report.table3_detail:
        flow.append(Paragraph("Survey vs survey, answers on each kind of item", H2))
        detail = [
            [_p(row.label, CELL), table3_cell(row.binomial), table3_cell(row.multinomial)]
            for row in report.table3_detail
        ]
        flow.append(_table(header, detail, widths))
    return flow


def _clustering(report: Report) -> list:
    flow = [Paragraph("Equivalence to chance and clustering-aware estimates", H1)]
    flow.append(
        _p(
            "A non-significant chi-squared test does not show that readers cannot tell. The equivalence test (TOST) "
            "shows it when the 90% interval of accuracy lies within 50% \u00b1 10 points. Answers are clustered "
            "within readers and items: the GEE estimate allows for reader clustering, Fleiss' kappa and Gwet's AC1 "
            "(robust when answers are unbalanced) measure agreement between readers.",
            BODY,
        )
    )
    header = ["Survey", "Equivalence (TOST)", "GEE accuracy (reader clusters)", "Fleiss' kappa", "Gwet's AC1"]
    rows = []
    for survey in report.study.surveys:
        equivalence, gee, kappa = survey.equivalence, survey.gee, survey.fleiss_kappa
        gee_text = (
            f"{100 * gee.accuracy:.1f}% ({100 * gee.ci_low:.1f}\u2013{100 * gee.ci_high:.1f}), {p_text(gee.p_value)}"
            if gee.accuracy is not None
            else f"n/a: {plain_reason(gee.reason)}"
        )
        kappa_text = (
            f"{kappa.kappa:.3f} ({kappa.item_count} items)"
            if kappa.kappa is not None
            else f"n/a: {plain_reason(kappa.reason)}"
        )
        ac1 = survey.gwet_ac1
        if ac1 is None:
            ac1_text = ""
        elif ac1.ac1 is None:
            ac1_text = f"n/a: {plain_reason(ac1.reason)}"
        else:
            ac1_text = f"{ac1.ac1:.3f}" + (
                f" ({ac1.ci_low:.2f}\u2013{ac1.ci_high:.2f})" if ac1.ci_low is not None else ""
            )
        rows.append(
            [
                _p(str(survey.survey), CELL),
                _p(equivalence.conclusion, CELL),
                _p(gee_text + ("; " + "; ".join(gee.notes) if gee.notes else ""), CELL),
                _p(kappa_text, CELL),
                _p(ac1_text, CELL),
            ]
        )
    flow.append(_table(header, rows, [w * mm for w in (24, 52, 52, 26, 26)]))
    if len(report.study.surveys) > 1:
        cmh = report.study.mantel_haenszel
        flow.append(Spacer(1, 2 * mm))
        flow.append(
            _p(f"Cochran-Mantel-Haenszel over surveys: {cmh.conclusion} {cmh.null_hypothesis}.", SMALL)
        )
    return flow


def _ranking_text(ranking) -> str:
    def value(entry):
        return "n/a" if entry.value is None else f"{entry.value:.3g}"

    ranked = [f"{entry.rank}. {entry.model} ({value(entry)})" for entry in ranking.entries if entry.rank]
    missing = [entry.model for entry in ranking.entries if not entry.rank]
    return "; ".join(ranked) + (f"; not available: {', '.join(missing)}" if missing else "")


def _model_comparison(report: Report) -> list:
    """Readers beside the machine observer per model, and the models ranked by every measure."""
    comparison = report.model_comparison
    if comparison is None or not comparison.models:
        return []
    flow = [Paragraph("Readers and the machine observer, model by model", H1)]
    header = [
        "Model",
        "Readers' accuracy",
        "Machine observer (logistic regression)",
        "CNN",
        "What gives it away",
    ]
    rows = []
    for line in comparison.models:
        lr, cnn = line.interpretable, line.cnn
        rows.append(
            [
                _p(line.model, SMALL),
                _p(line.readers_text().removeprefix("readers: "), SMALL),
                _p(lr.text() if lr else "not run", SMALL),
                _p(cnn.text() if cnn else "not run", SMALL),
                _p(lr.summary if lr and lr.summary else "", SMALL),
            ]
        )
    flow.append(_table(header, rows, [w * mm for w in (34, 30, 36, 30, 50)]))
    flow += [_p(note, NOTE) for note in comparison.to_dict()["notes"]]
    if len(comparison.models) > 1:
        flow.append(Paragraph("The models ranked by every measure (most realistic first)", H2))
        ranking_rows = [
            [_p(f"{ranking.label} ({ranking.direction})", SMALL), _p(_ranking_text(ranking), SMALL)]
            for ranking in comparison.rankings
        ]
        flow.append(_table(["Measure", "Ranking"], ranking_rows, [w * mm for w in (62, 118)]))
    return flow


def _realism_along_z(report: Report) -> list:
    """The z-consistency measure, the 3-D observer beside the 2-D one and the verdict sentence, per model."""
    if not report.realism_along_z:
        return []
    flow = [Paragraph(Z_TITLE, H1)]

    def measure(row) -> str:
        if row is None:
            return "not computed"
        if row.value is None:
            return row.note
        normalised = "n/a" if row.normalised is None else f"{row.normalised:.2f}"
        return f"{row.value:.3g} ({normalised})"

    rows = []
    for line in report.realism_along_z:
        means = line.gradient_means()
        rows.append(
            [
                _p(line.model, SMALL),
                _p(measure(line.gradient), SMALL),
                _p("" if means is None else f"{means[0]:.1f} / {means[1]:.1f}", SMALL),
                _p(measure(line.measures.get("reformat_radiomic_fd")), SMALL),
                _p(line.axial.text() if line.axial else "not run", SMALL),
                _p(line.volumetric.text() if line.volumetric else "not run", SMALL),
            ]
        )
    header = [
        "Model",
        "z-gradient W1 (normalised)",
        "Mean z-gradient real / synthetic (HU/mm)",
        "Reformat radiomic FD (normalised)",
        "2-D observer",
        "3-D observer",
    ]
    flow.append(_table(header, rows, [w * mm for w in (30, 28, 30, 30, 31, 31)]))
    flow += [_p(line.sentence(), SMALL) for line in report.realism_along_z]
    flow.append(_figure(figures.z_gradient_figure(report.metric_rows)))
    flow += [_p(Z_THRESHOLDS_NOTE, NOTE), _p(Z_MEASURE_NOTE, NOTE)]
    return flow


def _per_reader(report: Report) -> list:
    flow = [Paragraph("Per-reader accuracy", H1)]
    header = [
        "Survey",
        "Reader",
        "Answers",
        "Indeterminable",
        "Accuracy (indet. excluded)",
        "Accuracy (indet. wrong)",
    ]
    rows = []
    for survey in report.study.surveys:
        for reader in survey.per_reader:
            rows.append(
                [
                    clip_text(str(survey.survey), 22),
                    clip_text(str(reader.reader), 18),
                    reader.answer_count,
                    reader.indeterminable_count,
                    f"{format_percent(reader.indeterminable_excluded)} ({format_interval(reader.indeterminable_excluded)})",
                    f"{format_percent(reader.indeterminable_as_wrong)} ({format_interval(reader.indeterminable_as_wrong)})",
                ]
            )
    flow.append(_table(header, rows, [w * mm for w in (32, 26, 16, 22, 42, 42)]))
    return flow


def _metrics(report: Report) -> list:
    flow = [PageBreak(), Paragraph("Image-distribution metrics of the surveys' models", H1)]
    if not report.metric_rows:
        flow.append(
            _p(
                "No metrics have been computed for these models yet (manage.py compute_metrics --model NAME "
                "--real-dataset NAME, or Admin -> Metrics jobs).",
                BODY,
            )
        )
        return flow
    flow.append(
        _p(
            "Each metric compares a model's synthetic CT with the reference half of its real CT dataset, per axial "
            "layer; its baseline is the same metric between the reference half and a disjoint held-out half of "
            "real patients at the same sample size. Normalised = score / baseline (1 = as close to real CT as real "
            "CT is to itself); the mean over layers is divided by the mean baseline.",
            BODY,
        )
    )
    unavailable = report.feature_metrics_unavailable
    for reason in unavailable:
        flow.append(_p(f"FID and KID were not computed: {reason}. All other metrics were.", WARNING))
    header = ["Model", "Real CT", "Metric", "Mean score", "Mean baseline", "Normalised", "Slices"]
    rows = []
    for row in report.metric_averages:
        better = "lower better" if row.metric in LOWER_IS_BETTER else "higher better"
        rows.append(
            [
                _p(row.model, CELL),
                _p(row.real_dataset, CELL),
                _p(f"{row.metric_label} ({better})", CELL),
                "" if row.value is None else f"{row.value:.4g}",
                "" if row.baseline is None else f"{row.baseline:.4g}",
                "" if row.normalised is None else f"{row.normalised:.3f}",
                _p(_metric_note(row, unavailable), CELL),
            ]
        )
    flow.append(_table(header, rows, [w * mm for w in (32, 28, 38, 18, 20, 18, 26)]))
    flow.append(Spacer(1, 3 * mm))
    # one figure of every metric (the paper's Figs. 5-7 and the spectral score): one render instead of four
    layerwise = figures.metric_curves_figure(report.metric_rows, METRICS, figures.LAYERWISE_TITLE, columns=2)
    flow.append(_figure(layerwise, width=PAGE_WIDTH * 0.92))
    flow.append(Spacer(1, 3 * mm))
    flow.append(_figure(figures.spectra_figure(report.metric_rows)))
    return flow


def _metric_note(row, unavailable: Sequence[str]) -> str:
    """The slices a metric was computed on, or why it was not (a reason said once above the table is not
    repeated in every row)."""
    if row.value is not None:
        return str(row.n_synthetic)
    return "not computed (see above)" if row.note in unavailable else row.note


def _paper_figures(drawn: Sequence) -> list:
    """The paper's image figures (reports.content.paper_figures.DrawnFigure), each on its own page, scaled to
    fit it; and where the readers' comments are (not in the PDF)."""
    flow = []
    for figure in drawn:
        width, height = figure.size_inches
        scale = min(PAGE_WIDTH / (width * 72), MAX_FIGURE_HEIGHT / (height * 72), 1.0)
        flow += [
            PageBreak(),
            Paragraph(escape(figure.title), H1),
            Image(io.BytesIO(figure.pdf_png), width=width * 72 * scale, height=height * 72 * scale),
            Spacer(1, 2 * mm),
            _p(figure.caption, NOTE),
        ]
    flow.append(
        _p(
            "Readers' comments: Fig. 10 shows the most-discussed items with their reasons; every comment is in the "
            "report page's searchable table and in its comments CSV.",
            BODY,
        )
    )
    return flow


def _reasons(report: Report) -> list:
    flow = [PageBreak(), Paragraph("Readers' reasons, grouped by item", H1)]
    if not report.reasons:
        flow.append(_p("No reader gave a reason.", BODY))
        return flow
    for entry in report.reasons:
        counts = ", ".join(f"{count} {answer}" for answer, count in entry.answer_counts.items())
        heading = (
            f"<b>{escape(entry.survey)} / {escape(entry.item)}</b> \u2014 truth: <b>{entry.truth}</b>, "
            f"axial layer {entry.axial_layer}; answers: {counts}"
        )
        lines = [
            line
            for reader, answer, reason in entry.reasons
            for line in textwrap.wrap(
                f"{reader} ({answer}): {reason}", REASON_LINE_CHARS, subsequent_indent="    "
            )
        ]
        if entry.more:
            lines.append(f"and {entry.more} more reasons (see the answers CSV)")
        # pre-wrapped plain lines: laying out thousands of reasons as paragraphs would dominate the build time
        flow.append(Paragraph(heading, SMALL))
        flow.append(Preformatted("\n".join(lines), REASONS))
    return flow


def _page_footer(title: str):
    def draw(canvas, document):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(15 * mm, 8 * mm, title[:110])
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"page {document.page}")
        canvas.restoreState()

    return draw


def report_pdf(report: Report, *, paper_figures: Sequence = ()) -> bytes:
    """The whole report as PDF bytes; ``paper_figures``: the paper's image figures drawn by the report job
    (reports.content.paper_figures.DrawnFigure), shown instead of the readers' reasons, which only the page and
    the CSV list. Without them (a report made elsewhere, e.g. a benchmark) the reasons are listed."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=report.title,
        author="Blindread",
        subject="Blinded reader study: statistics and image-distribution metrics",
    )
    story = [
        Paragraph(escape(report.title), TITLE),
        _p(
            f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC from {report.answer_count} answers "
            f"(each reader's current answer to each item).",
            SMALL,
        ),
        Spacer(1, 3 * mm),
        *_surveys(report),
        *[_p(note, WARNING) for note in report.notes],
        *_model_ranking(report),
        *_mrmc(report),
        *_reader_quality(report),
        *_reader_groups(report),
        *_hypotheses(),
        *_table2(report),
        *_table3(report),
        *_clustering(report),
        *_model_comparison(report),
        *_realism_along_z(report),
        PageBreak(),
        Paragraph("Figures", H1),
        _figure(figures.accuracy_figure(report)),
        Spacer(1, 3 * mm),
        _figure(
            figures.confusion_figure(report),
            width=min(PAGE_WIDTH, 46 * mm * min(4, len(report.confusion)) + 10 * mm),
        ),
        Spacer(1, 3 * mm),
        _figure(figures.layer_accuracy_figure(report)),
        *_per_reader(report),
        *_metrics(report),
        *(_paper_figures(paper_figures) if paper_figures else _reasons(report)),
    ]
    footer = _page_footer(report.title)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
