"""The report's lead section: accuracy with readers and cases both random (OR MRMC) and the crossed GLMM.

Pure computation over the report's answer rows (no Django). Per survey: the proportion correct with the
Obuchowski-Rockette RRRC interval and its test against 50%, and the logistic GLMM with crossed reader and item
intercepts. With two or more surveys: the OR comparison of the models' accuracy in the design the surveys have
(readers crossed with the surveys, or each survey its own readers: split-plot; none for partially overlapping panels,
which the GLMM comparison of reports.content.model_ranking covers). Items are identified within their survey, so the synthetic and real cases of different surveys are
treated as different cases (cases nested within survey; no cross-survey case covariance is assumed).
The verdict in words never reads a large p-value as proof that readers cannot tell.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from readerstats import (
    ANSWERS,
    EQUIVALENCE_MARGIN,
    FULLY_CROSSED,
    GLMM_METHOD,
    INDETERMINABLE,
    OR_METHOD,
    SPLIT_PLOT,
    GlmmAccuracy,
    ModalityEstimate,
    OrAnalysis,
    OrSplitPlot,
    ReaderKappa,
    ReaderRocCurves,
    glmm_accuracy,
    intra_reader_kappa,
    or_analysis,
    or_split_plot,
    p_text,
    reader_roc_curves,
)
from reports.content.exports import AnswerRow
from reports.content.model_ranking import panel_design
from reports.content.wording import for_people, for_people_in, not_estimable
from studies.design import RATING_NONE, RATING_RANGES, RATING_SCALES

MRMC_TITLE = "Can readers tell each model's slices from real CT?"
MRMC_HEADER = (
    "Survey",
    "Model",
    "Readers correct (95% CI)",
    "Better than guessing? (test against 50%)",
)
MRMC_NOTE = (
    "Readers correct: the proportion of slices each reader got right, indeterminable answers left out, averaged "
    "over readers. The interval treats readers and slices both as random samples (Obuchowski-Rockette method), "
    "so it says what other readers reading other slices would likely find. 50% is guessing. The paper's pooled "
    'tables follow as "as in the paper".'
)
DETAILS_TITLE = "Details for statisticians"
DETAILS_HEADER = (
    "Survey",
    "Model",
    "Degrees of freedom (Hillis)",
    "GLMM accuracy, typical reader on typical slice (95% CI)",
    "Reader / slice variance (GLMM, log-odds)",
)
DETAILS_NOTE = (
    "Obuchowski-Rockette (OR): random readers and random cases (RRRC), jackknife covariances over slices, "
    "Hillis (2008) denominator degrees of freedom. GLMM: logistic mixed model with random reader and slice "
    "intercepts, Laplace approximation (as R's lme4 glmer); its accuracy is that of the typical reader on the "
    "typical slice. The variances are on the log-odds scale: 0 means the readers (or the slices) did not differ "
    "more than chance alone explains, a variance on its bound that lme4 finds as well."
)

AUC_TITLE = "Empirical ROC AUC from the confidence ratings (MRMC)"
AUC_HEADER = (
    "Survey",
    "Model",
    "Rating scale",
    "AUC, readers and slices random (95% CI)",
    "Test vs 0.5",
    "Readers with a curve",
)
AUC_NOTE = (
    "The rating is the reader's confidence that the slice is synthetic. AUC: the empirical area under each "
    "reader's ROC curve (Mann-Whitney, ties 1/2; 0.5 = chance), averaged over readers, with the "
    "Obuchowski-Rockette RRRC interval (jackknife over slices, Hillis df). Thin lines: each reader's empirical "
    "curve; thick line: the reader average (mean true positive fraction at each false positive fraction, whose "
    "area is the mean reader AUC)."
)
INTRA_TITLE = "Intra-reader agreement (repeat reading)"
INTRA_HEADER = ("Reader", "Slices read twice", "Cohen's kappa (95% CI)", "Weighted kappa, ratings (95% CI)")
INTRA_NOTE = (
    "Each reader's first reading of a slice against the repeat reading of the same slice. Cohen's kappa on the "
    "answers (real, synthetic, indeterminable); for ratings, Cohen's kappa with quadratic weights over the "
    "scale's levels. Intervals: the large-sample standard error of Fleiss, Cohen and Everitt (1969)."
)


@dataclass(frozen=True)
class SurveyMrmc:
    survey: str
    model_alias: str
    analysis: OrAnalysis
    glmm: GlmmAccuracy
    verdict: str
    rating_scale: str = RATING_NONE
    auc: OrAnalysis | None = None
    """The OR analysis of the empirical AUC; None when the survey's answers carry no ratings."""
    roc: ReaderRocCurves | None = None
    auc_verdict: str = ""
    intra_reader: tuple[ReaderKappa, ...] = ()
    """Cohen's kappa per reader between the first and the repeat reading; empty without a repeat round."""
    intra_reader_weighted: tuple[ReaderKappa, ...] = ()

    @property
    def auc_estimate(self) -> ModalityEstimate | None:
        if self.auc is None or self.auc.rrrc is None or not self.auc.rrrc.single_modality:
            return None
        return self.auc.rrrc.single_modality[0]

    @property
    def auc_reason(self) -> str | None:
        """Why the AUC has no interval ("not estimable because ...; to make it estimable, ..."), or None."""
        if self.auc is None:
            return None
        estimate = self.auc_estimate
        if estimate is not None and estimate.ci_low is not None:
            return None
        return not_estimable(self.auc.reason or (estimate.reason if estimate is not None else None))

    @property
    def auc_cells(self) -> tuple[str, str, str, str]:
        """Display text: rating scale, AUC (CI), its p against 0.5, readers with an ROC curve."""
        scale = RATING_SCALES.get(self.rating_scale, self.rating_scale)
        curves = "" if self.roc is None else str(len(self.roc.readers))
        estimate = self.auc_estimate
        if self.auc_reason is not None:
            return scale, self.auc_reason, "", curves
        return (
            scale,
            f"{estimate.estimate:.3f} ({estimate.ci_low:.3f}\u2013{estimate.ci_high:.3f})",
            p_text(estimate.p_value),
            curves,
        )

    @property
    def intra_rows(self) -> list[tuple[str, str, str, str]]:
        """Display rows of the intra-reader table: reader, pairs, kappa (CI), weighted kappa (CI)."""
        weighted = {entry.reader: entry.kappa for entry in self.intra_reader_weighted}
        return [
            (
                str(entry.reader),
                str(entry.kappa.pair_count),
                _kappa_text(entry.kappa),
                _kappa_text(weighted[entry.reader]) if entry.reader in weighted else "",
            )
            for entry in self.intra_reader
        ]

    @property
    def accuracy(self) -> ModalityEstimate | None:
        if self.analysis.rrrc is None or not self.analysis.rrrc.single_modality:
            return None
        return self.analysis.rrrc.single_modality[0]

    @property
    def cells(self) -> tuple[str, str]:
        """Display text: accuracy with readers and slices random (CI) and its test against 50%."""
        estimate = self.accuracy
        if estimate is None or estimate.ci_low is None:
            return "not estimable (see the verdict above)", ""
        accuracy = (
            f"{_percent(estimate.estimate)} ({_percent(estimate.ci_low)}\u2013{_percent(estimate.ci_high)})"
        )
        if estimate.ci_low > 0.5:
            answer = "yes"
        elif estimate.ci_high < 0.5:
            answer = "worse than guessing"
        else:
            answer = "not shown"
        return accuracy, f"{answer} ({p_text(estimate.p_value)})"

    @property
    def headline(self) -> str:
        """The survey's verdict in one sentence a clinician reads."""
        estimate = self.accuracy
        if estimate is None or estimate.ci_low is None:
            return "Too few answers to judge whether readers can tell this model's slices from real CT."
        if estimate.ci_low > 0.5:
            return "Readers could tell this model's slices from real CT more often than by guessing."
        if estimate.ci_high < 0.5:
            return "Readers took this model's slices for real CT, and real CT for synthetic, more often than not."
        return (
            "Readers could not reliably tell this model's slices from real CT: they did no better than guessing "
            "(which is not proof that nobody could)."
        )

    @property
    def details_cells(self) -> tuple[str, str, str]:
        """Display text for statisticians: OR df, GLMM accuracy (CI), reader/slice variances."""
        estimate = self.accuracy
        df = "" if estimate is None or estimate.df is None else f"{estimate.df:.1f}"
        if self.glmm.estimable:
            glmm = f"{_percent(self.glmm.accuracy)} ({_percent(self.glmm.ci_low)}\u2013{_percent(self.glmm.ci_high)})"
            variances = f"{self.glmm.reader_variance:.3f} / {self.glmm.item_variance:.3f}"
        else:
            glmm, variances = f"not estimable: {not_estimable(self.glmm.reason)}", ""
        return df, glmm, variances


@dataclass(frozen=True)
class MrmcSection:
    surveys: tuple[SurveyMrmc, ...]
    comparison: OrAnalysis | OrSplitPlot | None
    comparison_verdict: str
    design: str = ""
    """How the surveys' reader panels relate (readerstats' words); "" for one survey."""

    @property
    def rated(self) -> tuple[SurveyMrmc, ...]:
        """The surveys whose answers carry ratings (they have an AUC and ROC curves)."""
        return tuple(entry for entry in self.surveys if entry.auc is not None)

    @property
    def repeated(self) -> tuple[SurveyMrmc, ...]:
        """The surveys with a repeat round (they have intra-reader agreement)."""
        return tuple(entry for entry in self.surveys if entry.intra_reader)

    def mrmc_dict(self) -> dict[str, Any]:
        """The stats JSON's ``mrmc`` section (its sentences say "model", never "modality")."""
        return for_people_in(
            {
                "method": OR_METHOD,
                "figure_of_merit": "proportion correct, indeterminable answers excluded",
                "design": (self.design or "one survey") + "; items nested within survey",
                "surveys": [
                    {
                        "survey": entry.survey,
                        "model_alias": entry.model_alias,
                        "accuracy_rrrc": None if entry.accuracy is None else entry.accuracy.to_dict(),
                        "analysis": entry.analysis.to_dict(),
                        "verdict": entry.verdict,
                        **_rating_dict(entry),
                    }
                    for entry in self.surveys
                ],
                "comparison": None if self.comparison is None else self.comparison.to_dict(),
                "comparison_verdict": self.comparison_verdict,
            }
        )

    def glmm_dict(self) -> dict[str, Any]:
        """The stats JSON's ``glmm`` section."""
        return {
            "method": GLMM_METHOD,
            "surveys": [{"survey": entry.survey, **entry.glmm.to_dict()} for entry in self.surveys],
        }


def _rating_dict(entry: SurveyMrmc) -> dict[str, Any]:
    """The AUC keys of a rated survey and the intra-reader keys of a repeated one; nothing for the others."""
    result: dict[str, Any] = {}
    if entry.auc is not None:
        estimate = entry.auc_estimate
        result["auc"] = {
            "rating_scale": entry.rating_scale,
            "figure_of_merit": entry.auc.fom_label,
            "orientation": "higher rating = more confident the slice is synthetic (the positive class)",
            "auc_rrrc": None if estimate is None else estimate.to_dict(),
            "reason": entry.auc_reason,
            "analysis": entry.auc.to_dict(),
            "roc": None if entry.roc is None else entry.roc.to_dict(),
            "verdict": entry.auc_verdict,
        }
    if entry.intra_reader:
        weighted = {item.reader: item.kappa.to_dict() for item in entry.intra_reader_weighted}
        result["intra_reader"] = {
            "method": "Cohen's kappa per reader, first vs repeat reading; Fleiss-Cohen-Everitt (1969) SE",
            "weights_for_ratings": "quadratic" if entry.intra_reader_weighted else None,
            "readers": [
                {
                    "reader": item.reader,
                    "kappa": item.kappa.to_dict(),
                    "weighted_kappa": weighted.get(item.reader),
                }
                for item in entry.intra_reader
            ],
        }
    return result


def _kappa_text(kappa) -> str:
    if kappa.kappa is None:
        return kappa.reason or "not estimable"
    if kappa.ci_low is None:
        return f"{kappa.kappa:.2f}"
    return f"{kappa.kappa:.2f} ({kappa.ci_low:.2f}\u2013{kappa.ci_high:.2f})"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def verdict(
    estimate: ModalityEstimate | None, reason: str | None, *, margin: float = EQUIVALENCE_MARGIN
) -> str:
    """One paragraph in plain words on a survey's accuracy and its OR RRRC interval."""
    if estimate is None or estimate.ci_low is None:
        why = reason or (estimate.reason if estimate is not None else None) or "not estimable"
        return f"No interval with readers and slices both random: {not_estimable(why)}."
    text = (
        f"Readers were correct on {_percent(estimate.estimate)} of the slices (95% CI "
        f"{_percent(estimate.ci_low)} to {_percent(estimate.ci_high)}, with readers and slices both treated as "
        "random samples: Obuchowski-Rockette method). "
    )
    if estimate.ci_low > 0.5:
        return text + (
            f"That is better than guessing ({p_text(estimate.p_value)}): readers could tell this model's slices "
            "from real ones."
        )
    if estimate.ci_high < 0.5:
        return text + (
            f"That is worse than guessing ({p_text(estimate.p_value)}): readers systematically took synthetic "
            "slices for real and real ones for synthetic."
        )
    text += (
        f"The interval includes 50%, so the study did not show that readers can tell ({p_text(estimate.p_value)}). "
        "This is not proof that they cannot: "
    )
    if 0.5 - margin <= estimate.ci_low and estimate.ci_high <= 0.5 + margin:
        return text + (
            f"but the whole interval lies within 50% \u00b1 {100 * margin:.0f} points, so any ability to tell "
            "is small."
        )
    return text + (
        f"accuracy as high as {_percent(estimate.ci_high)} is still consistent with these answers; more readers "
        "or slices would narrow the interval."
    )


def _comparison_verdict(analysis: OrAnalysis | OrSplitPlot | None, design: str = "") -> str:
    """The OR comparison of the surveys in plain words, naming the design it assumed."""
    if analysis is None:
        if design and design not in (FULLY_CROSSED, SPLIT_PLOT):
            return (
                f"The readers' panels overlap in part ({for_people(design)}): the Obuchowski-Rockette comparison "
                "needs every reader to read every survey, or each survey its own readers, so the comparison of "
                "the models is the mixed-model one above."
            )
        return ""
    if isinstance(analysis, OrSplitPlot):
        if not analysis.estimable:
            return f"No Obuchowski-Rockette comparison of the models: {not_estimable(analysis.reason)}."
        test, words = analysis, "each survey its own readers, split-plot"
    else:
        if analysis.rrrc is None or not analysis.rrrc.estimable:
            reason = analysis.reason or analysis.rrrc.reason
            return f"No Obuchowski-Rockette comparison of the models: {not_estimable(reason)}."
        test, words = analysis.rrrc, "every reader read every survey"
    text = (
        f"Comparing the surveys' accuracy with readers and slices both random (Obuchowski-Rockette F test, "
        f"{words}; {p_text(test.p_value)}): "
    )
    if test.p_value < 0.05:
        return text + "the models differ in how easily readers unmask them."
    return text + "no difference was shown; this is not proof that the models are equally convincing."


def auc_verdict(estimate: ModalityEstimate | None, reason: str | None) -> str:
    """One sentence in plain words on a survey's AUC and its OR RRRC interval."""
    if reason is not None or estimate is None or estimate.ci_low is None:
        return f"No AUC interval: {not_estimable(reason)}."
    text = (
        f"From the confidence ratings, the readers' mean AUC is {estimate.estimate:.3f} (95% CI "
        f"{estimate.ci_low:.3f} to {estimate.ci_high:.3f}; 0.5 is chance, 1 is perfect separation). "
    )
    if estimate.ci_low > 0.5:
        return (
            text
            + f"The ratings separate synthetic from real slices better than chance ({p_text(estimate.p_value)})."
        )
    if estimate.ci_high < 0.5:
        return (
            text
            + f"The ratings rank real slices as more synthetic than synthetic ones ({p_text(estimate.p_value)})."
        )
    return text + (
        f"The interval includes 0.5: the ratings did not show that readers can tell ({p_text(estimate.p_value)}), "
        "which is not proof that they cannot."
    )


def _rating_analysis(mine: Sequence[AnswerRow], name: str) -> dict[str, Any]:
    """The AUC (OR) and ROC curves of one survey's rows when they carry ratings, else nothing."""
    rated = [row for row in mine if row.rating is not None]
    if not rated:
        return {}
    scales = {row.rating_scale for row in rated}
    scale = next(iter(scales)) if len(scales) == 1 else "mixed"
    auc = or_analysis(
        [row.reader for row in mine],
        [name] * len(mine),
        [row.item for row in mine],
        [row.truth for row in mine],
        [row.rating for row in mine],
        fom="auc",
    )
    if len(scales) > 1:
        auc = dataclasses.replace(
            auc,
            estimable=False,
            reason="not estimable because the survey's answers use more than one rating scale",
            rrrc=None,
            frrc=None,
            rrfc=None,
        )
    roc = reader_roc_curves(
        [row.reader for row in rated], [row.truth for row in rated], [row.rating for row in rated]
    )
    entry = {"rating_scale": scale, "auc": auc, "roc": roc}
    single = auc.rrrc.single_modality[0] if auc.rrrc and auc.rrrc.single_modality else None
    reason = auc.reason or (single.reason if single is not None and single.ci_low is None else None)
    if single is None and reason is None:
        reason = "not estimable"
    entry["auc_verdict"] = auc_verdict(single, reason)
    return entry


def _intra_reader(mine: Sequence[AnswerRow], repeats: Sequence[AnswerRow]) -> dict[str, Any]:
    """Cohen's kappa per reader (answers) and, with ratings, quadratic-weighted kappa between the two rounds."""
    if not repeats:
        return {}
    readers = {row.reader for row in repeats}
    both = [row for row in mine if row.reader in readers] + [_as_repeat(row) for row in repeats]
    result: dict[str, Any] = {
        "intra_reader": intra_reader_kappa(
            [row.reader for row in both],
            [row.item for row in both],
            [row.round for row in both],
            [row.answer for row in both],
            categories=ANSWERS,
        )
    }
    rated = [row for row in both if row.rating is not None and row.rating_scale in RATING_RANGES]
    scales = {row.rating_scale for row in rated}
    if rated and len(scales) == 1:
        low, high = RATING_RANGES[scales.pop()]
        weighted = intra_reader_kappa(
            [row.reader for row in rated],
            [row.item for row in rated],
            [row.round for row in rated],
            [row.rating for row in rated],
            categories=tuple(range(low, high + 1)),
            weights="quadratic",
        )
        order = {entry.reader: entry for entry in weighted}
        result["intra_reader_weighted"] = tuple(
            order[entry.reader] for entry in result["intra_reader"] if entry.reader in order
        )
    return result


def _as_repeat(row: AnswerRow) -> AnswerRow:
    """A repeat-reading row marked as round 2 if it came without one."""
    return row if row.round != 1 else dataclasses.replace(row, round=2)


def mrmc_section(
    rows: Sequence[AnswerRow], surveys: Sequence[str], repeat_rows: Sequence[AnswerRow] = ()
) -> MrmcSection:
    """The MRMC and GLMM results of ``surveys`` (names, in report order) from the report's answer rows (the first
    reading); with ratings, the AUC and ROC curves; with ``repeat_rows`` (the repeat reading), intra-reader
    agreement."""
    entries = []
    for name in surveys:
        mine = [row for row in rows if row.survey == name]
        alias = mine[0].model_alias if mine else ""
        analysis = or_analysis(
            [row.reader for row in mine],
            [name] * len(mine),
            [row.item for row in mine],
            [row.truth for row in mine],
            [row.answer for row in mine],
        )
        definite = [row for row in mine if row.answer != INDETERMINABLE]
        glmm = glmm_accuracy(
            [float(row.correct) for row in definite],
            [row.reader for row in definite],
            [row.item for row in definite],
        )
        single = analysis.rrrc.single_modality[0] if analysis.rrrc and analysis.rrrc.single_modality else None
        entries.append(
            SurveyMrmc(
                name,
                alias,
                analysis,
                glmm,
                verdict(single, analysis.reason),
                **_rating_analysis(mine, name),
                **_intra_reader(mine, [row for row in repeat_rows if row.survey == name]),
            )
        )
    comparison, design = None, ""
    present = [name for name in surveys if any(row.survey == name for row in rows)]
    if len(present) > 1:
        mine = [row for row in rows if row.survey in present]
        design = panel_design(mine)
        # the design the surveys have: readers crossed with the surveys, or each survey its own panel (split-plot);
        # partially overlapping panels have no OR analysis here (the GLMM comparison covers them)
        analyse = {FULLY_CROSSED: or_analysis, SPLIT_PLOT: or_split_plot}.get(design)
        if analyse is not None:
            comparison = analyse(
                [row.reader for row in mine],
                [row.survey for row in mine],
                [f"{row.survey}/{row.item}" for row in mine],
                [row.truth for row in mine],
                [row.answer for row in mine],
            )
    return MrmcSection(tuple(entries), comparison, _comparison_verdict(comparison, design), design)
