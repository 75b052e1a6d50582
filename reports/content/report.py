"""The content of a reader-study report, computed once and shown as HTML, PDF or JSON; no Django.

:func:`build_report` takes the tidy answers of one or more surveys and the stored metric results of their models
and returns a :class:`Report`: the statistics of :mod:`readerstats` (``study_report``), the paper's
Table 2 and Table 3 laid out as rows, accuracy per axial layer, confusion matrices, the readers' reasons
grouped by item, and the metric rows. Wording of hypotheses lives here, in one place.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from metrics.measures.vocabulary import LAYERS, VOLUME_METRICS
from readerstats import (
    ANSWERS,
    DEFAULT_EXPERIENCE_BANDS,
    INDETERMINABLE,
    PERMUTATION_RESAMPLES,
    TRUTHS,
    ContingencyTest,
    ProportionEstimate,
    StudyReport,
    proportion_estimate,
    study_report,
)
from reports.content.exports import AnswerRow, MetricRow, answer_table
from reports.content.exposure import ExposureSection, exposure_sections
from reports.content.model_comparison import ModelComparison, ObserverRow, compare_models
from reports.content.model_ranking import ModelRanking, model_ranking
from reports.content.reader_groups import ReaderGroups, reader_groups
from reports.content.reader_quality import ReaderQualitySection, reader_quality
from reports.content.realism_along_z import ZRealismLine, realism_along_z, realism_along_z_dict
from reports.content.report_mrmc import MrmcSection, mrmc_section
from reports.content.survey_info import SurveyInfo
from reports.content.two_afc import PairRow, SingleImageAuc, TwoAfcSection, two_afc_sections
from studies.quality import QualityInput

TABLE2_TITLE = "Table 2. Percentage of correctly classified scans"
TABLE3_TITLE = "Table 3. P-values of the chi-squared tests"

HYPOTHESES_IN_WORDS = (
    "Real vs synthetic (within a survey, and all surveys pooled): H0 says the answer is independent of the "
    "truth, i.e. readers cannot tell real from synthetic slices. A small p-value (below 0.05) rejects H0: "
    "readers CAN tell them apart. A large p-value is not proof that they cannot; only the equivalence test "
    "(accuracy within 50% \u00b1 10 points) can show that.",
    "Survey vs survey: H0 says both surveys have the same distribution of correct and wrong (and "
    "indeterminable) answers. A small p-value says the surveys differ; a large one is not proof that they are "
    "alike.",
    "Binomial: indeterminable answers excluded (real/synthetic only). Multinomial: all three answers kept.",
    "The paper states the chi-squared hypotheses the other way round (H0 as 'dependence', rejected when p > "
    "0.05); the tests are the same, the wording here is the standard one.",
)

MAX_REASONS_PER_ITEM = 25


@dataclass(frozen=True)
class Table2Row:
    survey: str
    model_alias: str
    readers: int
    answers: int
    indeterminable: int
    all_items: ProportionEstimate
    real_items: ProportionEstimate
    synthetic_items: ProportionEstimate
    all_items_strict: ProportionEstimate
    real_items_strict: ProportionEstimate
    synthetic_items_strict: ProportionEstimate


@dataclass(frozen=True)
class Table3Row:
    label: str
    binomial: ContingencyTest
    multinomial: ContingencyTest


@dataclass(frozen=True)
class LayerAccuracy:
    survey: str  # "" for all surveys pooled
    layer: int
    estimate: ProportionEstimate  # indeterminable excluded


@dataclass(frozen=True)
class ItemReasons:
    survey: str
    item: str
    truth: str
    axial_layer: int
    answer_counts: dict[str, int]
    reasons: tuple[tuple[str, str, str], ...]  # (reader, answer, reason)
    more: int = 0


@dataclass(frozen=True)
class Report:
    title: str
    generated_at: datetime
    surveys: tuple[SurveyInfo, ...]
    study: StudyReport
    table2: tuple[Table2Row, ...]
    table3: tuple[Table3Row, ...]
    table3_detail: tuple[Table3Row, ...]
    confusion: dict[str, np.ndarray]
    layer_accuracy: tuple[LayerAccuracy, ...]
    reasons: tuple[ItemReasons, ...]
    metric_rows: tuple[MetricRow, ...]
    answer_count: int
    notes: tuple[str, ...] = field(default=())
    mrmc: MrmcSection | None = None
    # Readers beside the machine observer, and the models ranked by every measure (reports.content.model_comparison).
    model_comparison: ModelComparison | None = None
    # The report's lead: the models ranked by the GLMM comparison across reader panels (reports.content.model_ranking).
    ranking: ModelRanking | None = None
    # Accuracy by the readers' specialty and experience band (reports.content.reader_groups).
    reader_groups: ReaderGroups | None = None
    # Reader quality control: catch items, the frozen exclusion rules, the verdict without excluded readers.
    reader_quality: ReaderQualitySection | None = None
    # The z-consistency measure and the 3-D observer beside the 2-D one, per model (reports.content.realism_along_z).
    realism_along_z: tuple[ZRealismLine, ...] = ()
    # Time-limited exposure thresholds and HYPE_inf per survey (reports.content.exposure).
    exposure: tuple[ExposureSection, ...] = ()
    # Two-alternative forced choice per model, with the single-image AUC beside it (reports.content.two_afc).
    two_afc: tuple[TwoAfcSection, ...] = ()

    @property
    def metric_averages(self) -> list[MetricRow]:
        """The per-layer metrics' means over layers (the whole-volume metrics have their own section)."""
        return [row for row in self.metric_rows if row.is_average and row.metric not in VOLUME_METRICS]

    @property
    def feature_metrics_unavailable(self) -> list[str]:
        """The distinct reasons FID/KID are missing, if they are."""
        return sorted(
            {
                row.note
                for row in self.metric_rows
                if row.metric in ("fid", "kid") and row.is_average and row.value is None
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything the stats JSON holds: the study report, accuracy per layer, and survey descriptions."""
        return {
            "format": "blindread-stats/1",
            "generated_at": self.generated_at.isoformat(),
            "hypotheses": list(HYPOTHESES_IN_WORDS),
            "surveys": [info.__dict__ for info in self.surveys],
            "answer_count": self.answer_count,
            "study_report": self.study.to_dict(),
            "accuracy_by_axial_layer": [
                {"survey": entry.survey or None, "layer": entry.layer, **entry.estimate.to_dict()}
                for entry in self.layer_accuracy
            ],
            "confusion_matrices": {
                survey: {"rows": list(TRUTHS), "columns": list(ANSWERS), "counts": counts.tolist()}
                for survey, counts in self.confusion.items()
            },
            "notes": list(self.notes),
            "mrmc": None if self.mrmc is None else self.mrmc.mrmc_dict(),
            "glmm": None if self.mrmc is None else self.mrmc.glmm_dict(),
            "model_comparison": self._model_comparison_dict(),
            "reader_subgroups": None if self.reader_groups is None else self.reader_groups.to_dict(),
            "reader_quality": None if self.reader_quality is None else self.reader_quality.to_dict(),
            "realism_along_z": realism_along_z_dict(self.realism_along_z),
            "exposure": [section.to_dict() for section in self.exposure],
            "two_afc": [section.to_dict() for section in self.two_afc],
        }

    def _model_comparison_dict(self) -> dict[str, Any] | None:
        """Readers beside the machine observer per model and the rankings by every measure, with the GLMM
        comparison of the models (design, method, ranking with CIs, omnibus test, pairwise differences) merged
        in; each model line gains its ``glmm_accuracy``."""
        if self.model_comparison is None and self.ranking is None:
            return None
        section = (
            self.model_comparison.to_dict()
            if self.model_comparison
            else {"models": [], "rankings": [], "notes": []}
        )
        if self.ranking is None:
            return section
        glmm = self.ranking.to_dict()
        by_model = {entry["model"]: entry for entry in glmm["ranking"]}
        for line in section["models"]:
            line["glmm_accuracy"] = by_model.get(line["model"])
        notes = glmm.pop("notes")
        section.update(glmm)
        section["notes"] = [*section["notes"], *notes]
        return section


def confusion_matrix(rows: Sequence[AnswerRow]) -> np.ndarray:
    """Counts of truth (rows: real, synthetic) x answer (columns: real, synthetic, indeterminable)."""
    counts = np.zeros((len(TRUTHS), len(ANSWERS)), dtype=np.int64)
    for row in rows:
        counts[TRUTHS.index(row.truth), ANSWERS.index(row.answer)] += 1
    return counts


def accuracy_by_layer(rows: Sequence[AnswerRow], *, survey: str = "") -> list[LayerAccuracy]:
    """Accuracy (indeterminable excluded) with Wilson CI and binomial test per axial layer."""
    result = []
    for layer in LAYERS:
        mine = [row for row in rows if row.axial_layer == layer and row.answer != INDETERMINABLE]
        correct = sum(row.correct for row in mine)
        estimate = proportion_estimate(correct, len(mine), label=f"accuracy in axial layer {layer}")
        result.append(LayerAccuracy(survey=survey, layer=layer, estimate=estimate))
    return result


def reasons_by_item(rows: Sequence[AnswerRow], *, limit: int = MAX_REASONS_PER_ITEM) -> list[ItemReasons]:
    """Items that received at least one reason, with every reader's answer and reason, most-discussed first
    within each survey; at most ``limit`` reasons per item are kept (``more`` counts the rest)."""
    by_item: dict[tuple[str, str], list[AnswerRow]] = {}
    for row in rows:
        by_item.setdefault((row.survey, row.item), []).append(row)
    result = []
    for (survey, item), answers in by_item.items():
        given = [row for row in answers if row.reason.strip()]
        if not given:
            continue
        given.sort(key=lambda row: (row.answer, row.reader))
        counts = Counter(row.answer for row in answers)
        result.append(
            ItemReasons(
                survey=survey,
                item=item,
                truth=answers[0].truth,
                axial_layer=answers[0].axial_layer,
                answer_counts={answer: counts.get(answer, 0) for answer in ANSWERS},
                reasons=tuple((row.reader, row.answer, row.reason.strip()) for row in given[:limit]),
                more=max(0, len(given) - limit),
            )
        )
    order = {}
    for row in rows:
        order.setdefault(row.survey, len(order))
    result.sort(key=lambda entry: (order[entry.survey], -len(entry.reasons) - entry.more, entry.item))
    return result


def _table2(study: StudyReport, infos: dict[str, SurveyInfo], pooled_readers: int) -> list[Table2Row]:
    rows = []
    for report in study.surveys:
        excluded, strict = report.accuracy.indeterminable_excluded, report.accuracy.indeterminable_as_wrong
        rows.append(
            Table2Row(
                survey=str(report.survey),
                model_alias=infos[str(report.survey)].model_alias,
                readers=report.reader_count,
                answers=report.answer_count,
                indeterminable=report.accuracy.indeterminable_count,
                all_items=excluded.all_items,
                real_items=excluded.real_items,
                synthetic_items=excluded.synthetic_items,
                all_items_strict=strict.all_items,
                real_items_strict=strict.real_items,
                synthetic_items_strict=strict.synthetic_items,
            )
        )
    if len(study.surveys) > 1:
        pooled = study.pooled_accuracy
        excluded, strict = pooled.indeterminable_excluded, pooled.indeterminable_as_wrong
        rows.append(
            Table2Row(
                survey="All surveys",
                model_alias="",
                readers=pooled_readers,
                answers=pooled.answer_count,
                indeterminable=pooled.indeterminable_count,
                all_items=excluded.all_items,
                real_items=excluded.real_items,
                synthetic_items=excluded.synthetic_items,
                all_items_strict=strict.all_items,
                real_items_strict=strict.real_items,
                synthetic_items_strict=strict.synthetic_items,
            )
        )
    return rows


def _table3(study: StudyReport) -> tuple[list[Table3Row], list[Table3Row]]:
    rows = [
        Table3Row(
            f"{report.survey}: real vs synthetic",
            report.truth_answer_binomial,
            report.truth_answer_multinomial,
        )
        for report in study.surveys
    ]
    if len(study.surveys) > 1:
        rows.append(
            Table3Row("All surveys: real vs synthetic", study.pooled_binomial, study.pooled_multinomial)
        )
    detail = []
    for comparison in study.comparisons:
        pair = f"{comparison.survey_a} vs {comparison.survey_b}"
        rows.append(Table3Row(pair, comparison.correctness_binomial, comparison.correctness_multinomial))
        detail.append(
            Table3Row(
                f"{pair}: answers on synthetic items",
                comparison.synthetic_items_binomial,
                comparison.synthetic_items_multinomial,
            )
        )
        detail.append(
            Table3Row(
                f"{pair}: answers on real items",
                comparison.real_items_binomial,
                comparison.real_items_multinomial,
            )
        )
    return rows, detail


def build_report(
    rows: Sequence[AnswerRow],
    surveys: Sequence[SurveyInfo],
    metric_rows: Sequence[MetricRow] = (),
    *,
    observer_rows: Sequence[ObserverRow] = (),
    repeat_rows: Sequence[AnswerRow] = (),
    pair_rows: Sequence[PairRow] = (),
    title: str | None = None,
    n_resamples: int = PERMUTATION_RESAMPLES,
    generated_at: datetime | None = None,
    experience_bands: Sequence[float] = DEFAULT_EXPERIENCE_BANDS,
    quality_inputs: Sequence[QualityInput] = (),
) -> Report:
    """Compute the report of ``surveys`` (in that order) from their answers, their models' metrics and their
    models' machine observers; ``repeat_rows`` (the repeat reading, round 2) feed intra-reader agreement only;
    ``experience_bands``: the edges (years) of the readers' experience bands; ``quality_inputs``: the reader
    quality control of the surveys that have it (catch answers reach that section only)."""
    infos = {info.name: info for info in surveys}
    unknown = sorted({row.survey for row in rows} - set(infos))
    if unknown:
        raise ValueError(f"answers of surveys not described: {unknown}")
    rank = {info.name: index for index, info in enumerate(surveys)}
    rows = sorted(rows, key=lambda row: (rank[row.survey], row.item, row.reader))
    study = study_report(answer_table(rows), n_resamples=n_resamples)
    # study_report orders surveys by name; the report keeps the caller's order
    study_surveys = sorted(study.surveys, key=lambda report: rank[str(report.survey)])
    study = dataclasses.replace(study, surveys=tuple(study_surveys))
    notes = []
    paired = {
        row.survey for row in pair_rows
    }  # 2AFC surveys answer pairs (reports.content.two_afc), not items
    silent = [
        info.name
        for info in surveys
        if info.name not in paired and not any(row.survey == info.name for row in rows)
    ]
    if silent:
        notes.append(f"no answers yet: {', '.join(silent)}")
    table3, table3_detail = _table3(study)
    layer_accuracy = []
    for info in surveys:
        layer_accuracy += accuracy_by_layer(
            [row for row in rows if row.survey == info.name], survey=info.name
        )
    if len(surveys) > 1:
        layer_accuracy += accuracy_by_layer(rows)
    mrmc = mrmc_section(
        rows, [info.name for info in surveys], [row for row in repeat_rows if row.survey in infos]
    )
    return Report(
        title=title or _default_title(surveys),
        generated_at=generated_at or datetime.now(UTC),
        surveys=tuple(surveys),
        study=study,
        table2=tuple(_table2(study, infos, len({row.reader for row in rows}))),
        table3=tuple(table3),
        table3_detail=tuple(table3_detail),
        confusion={
            info.name: confusion_matrix([row for row in rows if row.survey == info.name]) for info in surveys
        },
        layer_accuracy=tuple(layer_accuracy),
        reasons=tuple(reasons_by_item(rows)),
        metric_rows=tuple(metric_rows),
        answer_count=len(rows),
        notes=tuple(notes),
        mrmc=mrmc,
        model_comparison=compare_models(
            rows, list(dict.fromkeys(info.model for info in surveys)), metric_rows, observer_rows
        ),
        ranking=model_ranking(rows),
        reader_groups=reader_groups(rows, edges=experience_bands),
        reader_quality=reader_quality(rows, [given for given in quality_inputs if given.survey in infos]),
        realism_along_z=realism_along_z(
            list(dict.fromkeys(info.model for info in surveys)), metric_rows, observer_rows
        ),
        exposure=exposure_sections(rows, surveys),
        two_afc=two_afc_sections(pair_rows, surveys, _single_image_aucs(mrmc)),
    )


def _single_image_aucs(mrmc) -> dict[str, SingleImageAuc]:
    """Each rated survey's OR empirical AUC (for the 2AFC section), by survey name."""
    found = {}
    for entry in mrmc.surveys if mrmc is not None else ():
        estimate = entry.auc_estimate
        if estimate is not None and estimate.estimate is not None:
            found[entry.survey] = SingleImageAuc(
                entry.survey, estimate.estimate, estimate.ci_low, estimate.ci_high
            )
    return found


def _default_title(surveys: Sequence[SurveyInfo]) -> str:
    if len(surveys) == 1:
        return f"Reader study report: {surveys[0].name} ({surveys[0].model_alias})"
    return f"Reader study report: {len(surveys)} surveys"


TABLE2_VARIANTS = (
    ("", "Indeterminable answers excluded (the definite answers only)."),
    ("_strict", "Indeterminable answers counted as wrong."),
)


def table2_variants(report: Report) -> list[dict[str, Any]]:
    """Table 2 twice, indeterminable excluded and counted as wrong: caption and rows of (survey, model alias,
    [all items, real items, synthetic items])."""
    return [
        {
            "caption": caption,
            "rows": [
                {
                    "survey": row.survey,
                    "alias": row.model_alias,
                    "cells": [
                        getattr(row, f"{scope}_items{suffix}") for scope in ("all", "real", "synthetic")
                    ],
                }
                for row in report.table2
            ],
        }
        for suffix, caption in TABLE2_VARIANTS
    ]


def clip_text(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters, an ellipsis marking the cut (labels in tables and figures)."""
    return text if len(text) <= length else text[: length - 1] + "\u2026"
