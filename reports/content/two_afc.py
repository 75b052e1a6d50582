"""The report's two-alternative forced choice (2AFC) section: per model, the proportion of pairs whose real slice
readers picked, with readers and pairs random (readerstats.twoafc: Obuchowski-Rockette with the 2AFC proportion
correct as the figure of merit, a two-way bootstrap and the GLMM), each reader's proportion, and where the same model
also has a single-image survey with ratings, its empirical AUC beside it. Pure (no Django)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from readerstats import ModelProportion, ReaderProportion, TwoAfcTrial, model_proportion, reader_proportions
from reports.content.survey_info import SurveyInfo

TWO_AFC_TITLE = "Two-alternative forced choice"
TWO_AFC_NOTE = (
    "Each screen showed one real and one synthetic slice of the same axial layer side by side (sides random and "
    "balanced per reader) and asked which one is real. The proportion correct is an AUC, free of a reader's leaning "
    "towards 'real' or 'synthetic' (Green & Swets 1966); 50 % is chance: the synthetic slices cannot be told from "
    "real ones. Model: the mean over readers of each reader's proportion correct, with a 95 % Obuchowski-Rockette "
    "interval (readers and pairs random; jackknife over pairs, Hillis ddf) and a two-way bootstrap interval "
    "(readers and pairs resampled); GLMM: the typical reader on the typical pair (reader and pair random "
    "intercepts). Readers: Wilson intervals. AUC beside it: the OR empirical ROC AUC of the same model's "
    "single-image surveys with a confidence rating."
)


@dataclass(frozen=True)
class PairRow:
    """One reader's answer to one pair of a 2AFC survey."""

    survey: str
    model_alias: str
    model: str
    reader: str
    pair: str
    correct: bool
    seconds: float
    confidence: int | None = None


@dataclass(frozen=True)
class SingleImageAuc:
    survey: str
    auc: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class TwoAfcSection:
    model: str
    surveys: tuple[str, ...]
    proportion: ModelProportion
    readers: tuple[ReaderProportion, ...]
    single_image_auc: tuple[SingleImageAuc, ...]

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "surveys": list(self.surveys),
            "proportion_correct": self.proportion.to_dict(),
            "readers": [{"reader": str(r.reader), **r.estimate.to_dict()} for r in self.readers],
            "single_image_auc": [a.__dict__ for a in self.single_image_auc],
        }


def two_afc_sections(
    rows: Sequence[PairRow],
    surveys: Sequence[SurveyInfo],
    auc_by_survey: Mapping[str, SingleImageAuc] | None = None,
    *,
    replicates: int = 2000,
) -> tuple[TwoAfcSection, ...]:
    """One section per model with 2AFC answers, models in the order of their surveys. Readers are keyed by
    pseudonym and pairs by survey and pair, so one reader's answers in two surveys of a model count as one
    reader's."""
    auc_by_survey = auc_by_survey or {}
    models = list(dict.fromkeys(info.model for info in surveys if info.task == "2afc"))
    sections = []
    for model in models:
        mine = [row for row in rows if row.model == model]
        if not mine:
            continue
        trials = [TwoAfcTrial(row.reader, (row.survey, row.pair), row.correct) for row in mine]
        single = tuple(
            auc_by_survey[info.name]
            for info in surveys
            if info.model == model and info.task != "2afc" and info.name in auc_by_survey
        )
        sections.append(
            TwoAfcSection(
                model=mine[0].model_alias or model,
                surveys=tuple(dict.fromkeys(row.survey for row in mine)),
                proportion=model_proportion(trials, model=model, replicates=replicates),
                readers=reader_proportions(trials),
                single_image_auc=single,
            )
        )
    return tuple(sections)
