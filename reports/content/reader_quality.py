"""The report's "Reader quality control" section: each survey's frozen exclusion rules, every reader's measured
values and verdict (pseudonyms), and the survey's main figure, readers correct with readers and slices both random
(OR MRMC), with every reader and without the excluded ones. Pure computation, no Django.

The rules and their evaluation are :mod:`studies.quality`'s; catch answers (studies.catch) reach this section only,
through :class:`QualityInput`, never the answer rows of the other sections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from readerstats import ModalityEstimate, or_analysis
from reports.content.exports import AnswerRow
from reports.content.report_mrmc import verdict
from studies.quality import QualityInput, QualityRules, ReaderQuality, evaluate_reader

QUALITY_TITLE = "Reader quality control"
QUALITY_NOTE = (
    "Rules set in the survey's design before it opened and frozen with it. Catch items are synthetic slices with a "
    "plainly visible striped artefact (the only right answer is synthetic); they are never part of any other "
    "figure. Median time and the longest run of one answer count every answered item in the reader's order, catch "
    "items included. Excluded readers are left out of the second verdict only; every other section of this report "
    "counts every reader."
)
QUALITY_HEADER = ("Reader", "Catch correct", "Median time (s)", "Longest run", "Excluded", "Why")
VERDICT_ALL_LABEL = "With every reader:"
VERDICT_KEPT_LABEL = "Without the excluded readers:"


@dataclass(frozen=True)
class SurveyQuality:
    survey: str
    model_alias: str
    rules: QualityRules
    catch_items: int
    readers: tuple[ReaderQuality, ...]
    all_readers: ModalityEstimate | None
    kept_readers: ModalityEstimate | None
    verdict_all: str
    verdict_kept: str

    @property
    def excluded(self) -> list[str]:
        return [reader.reader for reader in self.readers if reader.excluded]

    @property
    def rules_line(self) -> str:
        """The frozen rules and the number of catch items, in one line."""
        return f"{self.catch_items} catch item(s); rules: " + "; ".join(self.rules.describe()) + "."

    @property
    def summary(self) -> str:
        excluded = ", ".join(self.excluded) or "none"
        return f"{len(self.excluded)} of {len(self.readers)} reader(s) excluded: {excluded}."

    @property
    def table_rows(self) -> list[tuple[str, ...]]:
        return quality_rows(self)

    def to_dict(self) -> dict[str, Any]:
        def estimate(value: ModalityEstimate | None):
            if value is None:
                return None
            return {
                "estimate": value.estimate,
                "ci_low": value.ci_low,
                "ci_high": value.ci_high,
                "p_value": value.p_value,
            }

        return {
            "survey": self.survey,
            "model_alias": self.model_alias,
            "rules": self.rules.to_dict(),
            "catch_items": self.catch_items,
            "readers": [reader.to_dict() for reader in self.readers],
            "excluded": self.excluded,
            "readers_correct_all_readers": estimate(self.all_readers),
            "readers_correct_without_excluded": estimate(self.kept_readers),
            "verdict_all_readers": self.verdict_all,
            "verdict_without_excluded": self.verdict_kept,
        }


@dataclass(frozen=True)
class ReaderQualitySection:
    surveys: tuple[SurveyQuality, ...]

    @property
    def excluded_count(self) -> int:
        return sum(len(survey.excluded) for survey in self.surveys)

    def to_dict(self) -> dict[str, Any]:
        return {"note": QUALITY_NOTE, "surveys": [survey.to_dict() for survey in self.surveys]}


def _readers_correct(rows: Sequence[AnswerRow], survey: str) -> tuple[ModalityEstimate | None, str]:
    if not rows:
        return None, verdict(None, "no answers")
    analysis = or_analysis(
        [row.reader for row in rows],
        [survey] * len(rows),
        [row.item for row in rows],
        [row.truth for row in rows],
        [row.answer for row in rows],
    )
    single = analysis.rrrc.single_modality[0] if analysis.rrrc and analysis.rrrc.single_modality else None
    return single, verdict(single, analysis.reason)


def reader_quality(rows: Sequence[AnswerRow], inputs: Sequence[QualityInput]) -> ReaderQualitySection | None:
    """The section for the surveys of ``inputs`` (those with catch items or a rule), from the report's answer rows
    (test items only) and each survey's quality input; None when there is none."""
    surveys = []
    for given in inputs:
        evaluated = tuple(evaluate_reader(reader, answers, given.rules) for reader, answers in given.readers)
        excluded = {reader.reader for reader in evaluated if reader.excluded}
        mine = [row for row in rows if row.survey == given.survey]
        all_readers, verdict_all = _readers_correct(mine, given.survey)
        if excluded:
            kept, verdict_kept = _readers_correct(
                [row for row in mine if row.reader not in excluded], given.survey
            )
        else:
            kept, verdict_kept = all_readers, verdict_all
        surveys.append(
            SurveyQuality(
                survey=given.survey,
                model_alias=mine[0].model_alias if mine else "",
                rules=given.rules,
                catch_items=given.catch_items,
                readers=evaluated,
                all_readers=all_readers,
                kept_readers=kept,
                verdict_all=verdict_all,
                verdict_kept=verdict_kept,
            )
        )
    return ReaderQualitySection(tuple(surveys)) if surveys else None


def quality_rows(survey: SurveyQuality) -> list[tuple[str, ...]]:
    """The section's table rows of one survey (QUALITY_HEADER)."""
    lines = []
    for reader in survey.readers:
        catch = f"{reader.catch_correct}/{reader.catch_answers}" if reader.catch_answers else "\u2014"
        median = f"{reader.median_seconds:.1f}" if reader.median_seconds is not None else "\u2014"
        run = f"{reader.longest_run} ({reader.longest_run_answer})" if reader.longest_run else "\u2014"
        lines.append(
            (reader.reader, catch, median, run, "yes" if reader.excluded else "no", "; ".join(reader.reasons))
        )
    return lines
