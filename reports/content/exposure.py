"""The report's time-limited exposure section: per survey with a staircase or a fixed exposure, each reader's
threshold and the model's median threshold with its bootstrap interval (readerstats.exposure), each reader's
staircase track as a figure; per unlimited-time survey, the HYPE_inf error rate. Pure (no Django)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from matplotlib.figure import Figure

from readerstats import ErrorRate, ExposureTrial, ModelThreshold, ReaderThreshold, error_rate, model_threshold
from readerstats import reader_threshold as one_reader_threshold
from reports.content.exports import AnswerRow
from reports.content.survey_info import SurveyInfo

EXPOSURE_TITLE = "Time-limited exposure"
EXPOSURE_NOTE = (
    "Each image was shown for an exposure time, then a noise mask, then the question. With a staircase "
    "(Levitt 1971; HYPE_time, Zhou et al. 2019) a reader's threshold is the mean exposure at their last reversals "
    "(geometric with multiplicative steps); a 1-up/3-down staircase converges on the exposure at which the reader "
    "is right 79.4 % of the time. The model's threshold is the median over readers, with a 95 % percentile "
    "bootstrap interval over readers and items. Answers whose measured exposure was refused are left out. "
    "HYPE_inf: the proportion of wrong answers (indeterminable counts as wrong) with unlimited time."
)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ExposureSection:
    survey: str
    model: str
    mode: str  # "fixed", "staircase" or "off" (unlimited time: HYPE_inf only)
    readers: tuple[ReaderThreshold, ...]
    model_threshold: ModelThreshold | None
    error_rate: ErrorRate
    rejected: int  # answers whose measured exposure was refused
    tracks: tuple[
        tuple[str, tuple[int, ...], tuple[bool, ...]], ...
    ]  # (reader, requested ms, correct) per trial

    def to_dict(self) -> dict:
        return {
            "survey": self.survey,
            "model": self.model,
            "exposure": self.mode,
            "readers": [
                {
                    "reader": r.reader,
                    "threshold_ms": r.threshold_ms,
                    "reversals": list(r.reversals),
                    "reversals_averaged": r.used,
                    "converged": r.converged,
                    "trials": r.trials,
                    "rejected": r.rejected,
                }
                for r in self.readers
            ],
            "model_threshold": None if self.model_threshold is None else self.model_threshold.__dict__,
            "error_rate": self.error_rate.__dict__,
            "rejected": self.rejected,
        }


def _reader_trials(rows: Sequence[AnswerRow]) -> dict[str, list[AnswerRow]]:
    by_reader: dict[str, list[AnswerRow]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.reader, r.answered_at or _EARLIEST)):
        by_reader[row.reader].append(row)
    return dict(by_reader)


def exposure_sections(
    rows: Sequence[AnswerRow], surveys: Sequence[SurveyInfo], *, resamples: int = 2000
) -> tuple[ExposureSection, ...]:
    """One section per survey with answers: thresholds where a staircase ran, HYPE_inf for every survey."""
    sections = []
    for info in surveys:
        mine = [row for row in rows if row.survey == info.name]
        if not mine:
            continue
        counted = [row for row in mine if not row.exposure_rejected]
        rate = error_rate([(r.reader, r.item, r.correct) for r in counted], resamples=resamples)
        trials = {
            reader: [
                ExposureTrial(r.item, float(r.exposure_requested_ms), r.correct, r.exposure_rejected)
                for r in answers
                if r.exposure_requested_ms is not None
            ]
            for reader, answers in _reader_trials(mine).items()
        }
        readers: tuple[ReaderThreshold, ...] = ()
        threshold = None
        if info.exposure == "staircase":
            last, log = max(1, info.exposure_reversals), info.exposure_log
            readers = tuple(
                one_reader_threshold(reader, t, last=last, log=log) for reader, t in trials.items()
            )
            threshold = model_threshold(trials, last=last, log=log, resamples=resamples)
        sections.append(
            ExposureSection(
                survey=info.name,
                model=info.model_alias or info.model,
                mode=info.exposure,
                readers=readers,
                model_threshold=threshold,
                error_rate=rate,
                rejected=sum(1 for row in mine if row.exposure_rejected),
                tracks=tuple(
                    (reader, tuple(int(x.requested_ms) for x in t), tuple(x.correct for x in t))
                    for reader, t in trials.items()
                    if t
                ),
            )
        )
    return tuple(sections)


def staircase_figure(section: ExposureSection) -> Figure | None:
    """Each reader's staircase: requested exposure per trial, filled where right, open where wrong."""
    if section.mode != "staircase" or not section.tracks:
        return None
    figure = Figure(figsize=(7.0, 3.2), layout="constrained")
    axes = figure.add_subplot()
    for reader, levels, correct in section.tracks:
        steps = range(1, len(levels) + 1)
        (line,) = axes.plot(steps, levels, drawstyle="steps-post", linewidth=1.0, label=reader)
        right = [(n, v) for n, v, ok in zip(steps, levels, correct, strict=True) if ok]
        wrong = [(n, v) for n, v, ok in zip(steps, levels, correct, strict=True) if not ok]
        if right:
            axes.plot(*zip(*right, strict=True), "o", color=line.get_color(), markersize=3)
        if wrong:
            axes.plot(*zip(*wrong, strict=True), "o", mfc="none", color=line.get_color(), markersize=3)
    axes.set_xlabel("Trial")
    axes.set_ylabel("Exposure (ms)")
    axes.set_title(f"{section.survey}: staircase per reader (filled: right, open: wrong)", fontsize=9)
    if len(section.tracks) <= 12:
        axes.legend(fontsize=7, ncols=2)
    return figure
