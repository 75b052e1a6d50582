"""Two-alternative forced choice (2AFC): proportion correct per reader and per model. Pure computation.

In a 2AFC trial a reader sees one real and one synthetic slice side by side and says which one is real. The
proportion of pairs they get right estimates the probability that they rank the real slice above the synthetic one:
an AUC, free of the reader's bias towards "real" or "synthetic" (Green & Swets 1966; Burgess 1995). 0.5 is chance:
the model's slices cannot be told from real ones.

- :func:`reader_proportions`: each reader's proportion correct with its Wilson interval and exact binomial test
  against 0.5 (the pairs of one reader are treated as independent);
- :func:`model_proportion`: a model's 2AFC proportion correct with readers and pairs random, three ways:
  Obuchowski-Rockette with the proportion correct as the figure of merit (the pair is the case; jackknife over
  pairs, Hillis ddf: :func:`readerstats.mrmc.or_analysis` with every reading "correct"/"wrong" against the truth
  "real"), a two-way bootstrap over readers and pairs (percentile interval), and the logistic GLMM with reader and
  pair random intercepts (:func:`readerstats.glmm.glmm_accuracy`, the typical reader on the typical pair).

Every result is a named, frozen dataclass; nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from readerstats.core import CONFIDENCE, _ordered_unique, _Result
from readerstats.proportions import ProportionEstimate, proportion_estimate

BOOTSTRAP_METHOD = (
    "two-way bootstrap: readers and pairs resampled independently with replacement, percentile interval"
)


@dataclass(frozen=True)
class TwoAfcTrial(_Result):
    """One reader's answer to one pair: whether they chose the real slice."""

    reader: object
    pair: object
    correct: bool


@dataclass(frozen=True)
class ReaderProportion(_Result):
    reader: object
    estimate: ProportionEstimate


@dataclass(frozen=True)
class BootstrapInterval(_Result):
    estimate: float
    ci_low: float | None
    ci_high: float | None
    replicates: int
    method: str


@dataclass(frozen=True)
class ModelProportion(_Result):
    """A model's 2AFC proportion correct: the plain mean over readers, OR (RRRC), bootstrap and GLMM intervals."""

    model: object
    readers: int
    pairs: int
    trials: int
    proportion: float | None  # mean over readers of each reader's proportion correct
    or_ci_low: float | None
    or_ci_high: float | None
    or_df: float | None
    or_p_value: float | None  # against 0.5 (chance)
    or_reason: str | None
    bootstrap: BootstrapInterval | None
    glmm_accuracy: float | None
    glmm_ci_low: float | None
    glmm_ci_high: float | None
    glmm_reason: str | None
    confidence: float
    reason: str | None = None


def _columns(trials) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    trials = list(trials)
    reader = np.empty(len(trials), dtype=object)
    pair = np.empty(len(trials), dtype=object)
    correct = np.zeros(len(trials), dtype=bool)
    seen = set()
    for k, trial in enumerate(trials):
        if not isinstance(trial.correct, bool | np.bool_):
            raise ValueError(f"correct must be true or false, not {trial.correct!r}")
        if (trial.reader, trial.pair) in seen:
            raise ValueError(f"reader {trial.reader!r} has two answers to pair {trial.pair!r}")
        seen.add((trial.reader, trial.pair))
        reader[k], pair[k], correct[k] = trial.reader, trial.pair, bool(trial.correct)
    return reader, pair, correct


def reader_proportions(trials, *, confidence: float = CONFIDENCE) -> tuple[ReaderProportion, ...]:
    """Each reader's proportion correct (Wilson interval, exact binomial test against 0.5), readers in order of
    appearance."""
    reader, _, correct = _columns(trials)
    return tuple(
        ReaderProportion(
            who,
            proportion_estimate(
                int(correct[reader == who].sum()),
                int((reader == who).sum()),
                label=str(who),
                confidence=confidence,
            ),
        )
        for who in _ordered_unique(reader)
    )


def _reader_mean(
    correct: np.ndarray, reader_codes: np.ndarray, readers: int, weights: np.ndarray | None = None
):
    """Mean over readers of each reader's proportion correct; `weights` counts each reading (bootstrap)."""
    weights = np.ones(len(correct)) if weights is None else weights
    hits = np.bincount(reader_codes, weights * correct, readers)
    counts = np.bincount(reader_codes, weights, readers)
    present = counts > 0
    return float((hits[present] / counts[present]).mean()) if present.any() else float("nan")


def two_way_bootstrap(
    trials, *, replicates: int = 2000, seed: int = 0, confidence: float = CONFIDENCE
) -> BootstrapInterval:
    """The mean over readers of the proportion correct, with a percentile interval from resampling readers and
    pairs independently (each reading weighted by how often its reader and its pair were drawn)."""
    reader, pair, correct = _columns(trials)
    readers, pairs = _ordered_unique(reader), _ordered_unique(pair)
    if not len(correct):
        raise ValueError("no trials")
    r_code = _codes(reader, readers)
    p_code = _codes(pair, pairs)
    estimate = _reader_mean(correct, r_code, len(readers))
    if len(readers) < 2 or len(pairs) < 2:
        return BootstrapInterval(
            estimate, None, None, 0, BOOTSTRAP_METHOD + " (needs 2+ readers and 2+ pairs)"
        )
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(replicates):
        reader_draws = np.bincount(rng.integers(len(readers), size=len(readers)), minlength=len(readers))
        pair_draws = np.bincount(rng.integers(len(pairs), size=len(pairs)), minlength=len(pairs))
        weights = (reader_draws[r_code] * pair_draws[p_code]).astype(float)
        if weights.sum() == 0:
            continue
        hits = np.bincount(r_code, weights * correct, len(readers))
        counts = np.bincount(r_code, weights, len(readers))
        present = counts > 0
        # a reader drawn k times counts k times in the mean over readers
        values.append(float(np.average(hits[present] / counts[present], weights=reader_draws[present])))
    low, high = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return BootstrapInterval(estimate, float(low), float(high), len(values), BOOTSTRAP_METHOD)


def _codes(values: np.ndarray, levels: tuple) -> np.ndarray:
    index = {value: k for k, value in enumerate(levels)}
    return np.array([index[value] for value in values], dtype=int)


def model_proportion(
    trials,
    *,
    model: object = "",
    confidence: float = CONFIDENCE,
    replicates: int = 2000,
    seed: int = 0,
    glmm: bool = True,
) -> ModelProportion:
    """A model's 2AFC proportion correct with readers and pairs random (see the module's description)."""
    from readerstats.glmm import glmm_accuracy
    from readerstats.mrmc import or_analysis

    reader, pair, correct = _columns(trials)
    readers, pairs = _ordered_unique(reader), _ordered_unique(pair)
    empty = dict(
        model=model,
        readers=len(readers),
        pairs=len(pairs),
        trials=len(correct),
        confidence=confidence,
    )
    if not len(correct):
        return ModelProportion(
            **empty,
            proportion=None,
            or_ci_low=None,
            or_ci_high=None,
            or_df=None,
            or_p_value=None,
            or_reason="no answers",
            bootstrap=None,
            glmm_accuracy=None,
            glmm_ci_low=None,
            glmm_ci_high=None,
            glmm_reason="no answers",
            reason="no answers",
        )
    answers = np.where(correct, "real", "synthetic")
    analysis = or_analysis(
        reader,
        [model] * len(correct),
        pair,
        ["real"] * len(correct),
        answers,
        fom="accuracy",
        confidence=confidence,
    )
    or_low = or_high = or_df = or_p = None
    or_reason = analysis.reason
    if analysis.rrrc is not None and analysis.rrrc.single_modality:
        single = analysis.rrrc.single_modality[0]
        or_low, or_high, or_df, or_p = single.ci_low, single.ci_high, single.df, single.p_value
        or_reason = or_reason or single.reason
    interval = two_way_bootstrap(trials, replicates=replicates, seed=seed, confidence=confidence)
    g_acc = g_low = g_high = None
    g_reason = "not fitted"
    if glmm:
        # integer codes: reader and pair ids may be tuples, which arrays would take apart
        fitted = glmm_accuracy(
            correct.astype(int), _codes(reader, readers), _codes(pair, pairs), confidence=confidence
        )
        g_acc, g_low, g_high, g_reason = fitted.accuracy, fitted.ci_low, fitted.ci_high, fitted.reason
    return ModelProportion(
        **empty,
        proportion=interval.estimate,
        or_ci_low=or_low,
        or_ci_high=or_high,
        or_df=or_df,
        or_p_value=or_p,
        or_reason=or_reason,
        bootstrap=interval,
        glmm_accuracy=g_acc,
        glmm_ci_low=g_low,
        glmm_ci_high=g_high,
        glmm_reason=g_reason,
    )
