"""The report's lead section: accuracy with readers and cases both random (OR MRMC) and the crossed GLMM.

Pure computation over the report's answer rows (no Django). Per survey: the proportion correct with the
Obuchowski-Rockette RRRC interval and its test against 50%, and the logistic GLMM with crossed reader and item
intercepts. With two or more surveys: the OR comparison of the models' accuracy (the same readers must read
every survey). Items are identified within their survey, so the synthetic and real cases of different surveys are
treated as different cases (cases nested within modality; no cross-survey case covariance is assumed).
The verdict in words never reads a large p-value as proof that readers cannot tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metrics.exports import AnswerRow
from metrics.stats import EQUIVALENCE_MARGIN, INDETERMINABLE
from metrics.stats.core import p_text
from metrics.stats.glmm import METHOD as GLMM_METHOD
from metrics.stats.glmm import GlmmAccuracy, glmm_accuracy
from metrics.stats.mrmc import METHOD as OR_METHOD
from metrics.stats.mrmc import ModalityEstimate, OrAnalysis, or_analysis

MRMC_TITLE = "Accuracy with readers and cases both random (MRMC)"
MRMC_HEADER = (
    "Survey",
    "Model",
    "Accuracy, OR RRRC (95% CI)",
    "Test vs 50%",
    "GLMM accuracy (95% CI)",
    "Reader / item variance (GLMM, logit)",
)
MRMC_NOTE = (
    "Accuracy: proportion correct per reader, indeterminable answers excluded, averaged over readers; the interval "
    "treats readers and slices as random samples (Obuchowski-Rockette, jackknife over slices, Hillis df). The "
    "GLMM (logit link, random reader and slice intercepts, Laplace approximation) gives the accuracy of the "
    'typical reader on the typical slice. The paper\'s pooled tables follow as "as in the paper".'
)


@dataclass(frozen=True)
class SurveyMrmc:
    survey: str
    model_alias: str
    analysis: OrAnalysis
    glmm: GlmmAccuracy
    verdict: str

    @property
    def accuracy(self) -> ModalityEstimate | None:
        if self.analysis.rrrc is None or not self.analysis.rrrc.single_modality:
            return None
        return self.analysis.rrrc.single_modality[0]

    @property
    def cells(self) -> tuple[str, str, str, str]:
        """Display text: OR accuracy (CI), its p against 50%, GLMM accuracy (CI), reader/item variances."""
        estimate = self.accuracy
        if estimate is None or estimate.ci_low is None:
            accuracy, p = "not estimable", ""
        else:
            accuracy = f"{_percent(estimate.estimate)} ({_percent(estimate.ci_low)}\u2013{_percent(estimate.ci_high)})"
            p = p_text(estimate.p_value)
        if self.glmm.estimable:
            glmm = f"{_percent(self.glmm.accuracy)} ({_percent(self.glmm.ci_low)}\u2013{_percent(self.glmm.ci_high)})"
            variances = f"{self.glmm.reader_variance:.2f} / {self.glmm.item_variance:.2f}"
        else:
            glmm, variances = "not estimable", ""
        return accuracy, p, glmm, variances


@dataclass(frozen=True)
class MrmcSection:
    surveys: tuple[SurveyMrmc, ...]
    comparison: OrAnalysis | None
    comparison_verdict: str

    def mrmc_dict(self) -> dict[str, Any]:
        """The stats JSON's ``mrmc`` section."""
        return {
            "method": OR_METHOD,
            "figure_of_merit": "proportion correct, indeterminable answers excluded",
            "design": "readers crossed with surveys; items nested within survey",
            "surveys": [
                {
                    "survey": entry.survey,
                    "model_alias": entry.model_alias,
                    "accuracy_rrrc": None if entry.accuracy is None else entry.accuracy.to_dict(),
                    "analysis": entry.analysis.to_dict(),
                    "verdict": entry.verdict,
                }
                for entry in self.surveys
            ],
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "comparison_verdict": self.comparison_verdict,
        }

    def glmm_dict(self) -> dict[str, Any]:
        """The stats JSON's ``glmm`` section."""
        return {
            "method": GLMM_METHOD,
            "surveys": [{"survey": entry.survey, **entry.glmm.to_dict()} for entry in self.surveys],
        }


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def verdict(
    estimate: ModalityEstimate | None, reason: str | None, *, margin: float = EQUIVALENCE_MARGIN
) -> str:
    """One paragraph in plain words on a survey's accuracy and its OR RRRC interval."""
    if estimate is None or estimate.ci_low is None:
        why = reason or (estimate.reason if estimate is not None else None) or "not estimable"
        return f"No MRMC interval: {why}."
    text = (
        f"Readers were correct on {_percent(estimate.estimate)} of the slices (95% CI "
        f"{_percent(estimate.ci_low)} to {_percent(estimate.ci_high)}, with readers and slices both treated as "
        "random samples). "
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


def _comparison_verdict(analysis: OrAnalysis | None) -> str:
    if analysis is None:
        return ""
    if analysis.rrrc is None or not analysis.rrrc.estimable:
        return f"No model comparison: {analysis.reason or analysis.rrrc.reason}."
    test = analysis.rrrc
    text = f"Comparing the surveys' accuracy (OR RRRC F test, {p_text(test.p_value)}): "
    if test.p_value < 0.05:
        return text + "the models differ in how easily readers unmask them."
    return text + "no difference was shown; this is not proof that the models are equally convincing."


def mrmc_section(rows: Sequence[AnswerRow], surveys: Sequence[str]) -> MrmcSection:
    """The MRMC and GLMM results of ``surveys`` (names, in report order) from the report's answer rows."""
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
        entries.append(SurveyMrmc(name, alias, analysis, glmm, verdict(single, analysis.reason)))
    comparison = None
    present = [name for name in surveys if any(row.survey == name for row in rows)]
    if len(present) > 1:
        mine = [row for row in rows if row.survey in present]
        comparison = or_analysis(
            [row.reader for row in mine],
            [row.survey for row in mine],
            [(row.survey, row.item) for row in mine],
            [row.truth for row in mine],
            [row.answer for row in mine],
        )
    return MrmcSection(tuple(entries), comparison, _comparison_verdict(comparison))
