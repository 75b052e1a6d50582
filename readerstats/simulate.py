"""Seeded simulation of reader studies with reader and case random effects.

- Binary answers (``simulate_answers``): logit-normal. Reader j answers item k correctly with probability
  expit(mu + u_j + v_k), u_j ~ N(0, reader_sd^2), v_k ~ N(0, case_sd^2); half the items are real, half synthetic,
  and a wrong answer is the other truth (optionally a share of answers is ``indeterminable``).
- Confidence ratings (``simulate_ratings``): Roe-Metz style. The latent confidence that case k is synthetic, for
  reader j in modality i, is d_k * (separation + shift_i) + R_j + C_k + (RC)_jk + e, with d_k = 1 for synthetic and
  0 for real cases and independent normal components (Roe & Metz 1997, Acad Radiol 4:587-600, simplified to the
  components named in the arguments); ratings are the latent value binned into ``categories`` ordered levels.

The population values that the intervals estimate are exact functions of the parameters: ``marginal_accuracy``
(average over readers and cases: the target of pooled, GEE and OR intervals) and ``conditional_accuracy``
(expit(mu): the typical reader on the typical case, the target of the GLMM). Pure NumPy/SciPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit

from readerstats.core import INDETERMINABLE, REAL, SYNTHETIC, _Result
from readerstats.gee import gee_accuracy
from readerstats.glmm import glmm_accuracy
from readerstats.mrmc import or_analysis
from readerstats.proportions import wilson_interval

_HERMITE_NODES = 80


@dataclass(frozen=True, eq=False)
class SimulatedStudy(_Result):
    """One simulated study: one row per answer, plus the population values it was drawn from."""

    reader: np.ndarray
    item: np.ndarray
    truth: np.ndarray
    answer: np.ndarray
    modality: np.ndarray
    marginal_accuracy: float
    conditional_accuracy: float


def marginal_accuracy(accuracy: float, reader_sd: float, case_sd: float) -> float:
    """E[expit(logit(accuracy) + Z * sqrt(reader_sd^2 + case_sd^2))], Z standard normal (Gauss-Hermite)."""
    scale = float(np.hypot(reader_sd, case_sd))
    nodes, weights = np.polynomial.hermite_e.hermegauss(_HERMITE_NODES)
    return float(np.sum(weights * expit(logit(accuracy) + scale * nodes)) / np.sqrt(2 * np.pi))


def simulate_answers(
    rng: np.random.Generator,
    *,
    readers: int,
    items: int,
    accuracy: float = 0.6,
    reader_sd: float = 0.0,
    case_sd: float = 0.0,
    modalities: int = 1,
    indeterminable: float = 0.0,
) -> SimulatedStudy:
    """A study of ``readers`` readers each answering ``items`` items (half real, half synthetic) per modality.

    ``accuracy`` is the conditional accuracy expit(mu). Each modality has its own items (cases nested within
    modality, as synthetic slices are in Blindread); readers are shared.
    """
    if readers < 1 or items < 2:
        raise ValueError("a study needs at least one reader and two items")
    if not 0 < accuracy < 1:
        raise ValueError("accuracy must be between 0 and 1")
    if reader_sd < 0 or case_sd < 0 or not 0 <= indeterminable < 1:
        raise ValueError("standard deviations must be >= 0 and indeterminable in [0, 1)")
    mu = float(logit(accuracy))
    skill = rng.normal(0.0, reader_sd, readers) if reader_sd > 0 else np.zeros(readers)
    rows = {"reader": [], "item": [], "truth": [], "answer": [], "modality": []}
    for m in range(modalities):
        ease = rng.normal(0.0, case_sd, items) if case_sd > 0 else np.zeros(items)
        truth = np.where(np.arange(items) < items // 2, REAL, SYNTHETIC).astype(object)
        p = expit(mu + skill[:, None] + ease[None, :])
        correct = rng.random((readers, items)) < p
        other = np.where(truth == REAL, SYNTHETIC, REAL)
        answer = np.where(correct, truth[None, :], other[None, :]).astype(object)
        if indeterminable > 0:
            answer[rng.random((readers, items)) < indeterminable] = INDETERMINABLE
        rows["reader"].append(np.repeat([f"R{j}" for j in range(readers)], items))
        rows["item"].append(np.tile([f"M{m}-I{k}" for k in range(items)], readers))
        rows["truth"].append(np.tile(truth, readers))
        rows["answer"].append(answer.ravel())
        rows["modality"].append(np.full(readers * items, f"M{m}", dtype=object))
    return SimulatedStudy(
        **{name: np.concatenate(parts).astype(object) for name, parts in rows.items()},
        marginal_accuracy=marginal_accuracy(accuracy, reader_sd, case_sd),
        conditional_accuracy=accuracy,
    )


@dataclass(frozen=True, eq=False)
class SimulatedRatings(_Result):
    reader: np.ndarray
    case: np.ndarray
    truth: np.ndarray
    rating: np.ndarray
    modality: np.ndarray


def simulate_ratings(
    rng: np.random.Generator,
    *,
    readers: int,
    positives: int,
    negatives: int,
    separation: float = 1.0,
    shifts: tuple[float, ...] = (0.0,),
    reader_sd: float = 0.3,
    case_sd: float = 0.5,
    reader_case_sd: float = 0.3,
    error_sd: float = 0.5,
    categories: int | None = 5,
) -> SimulatedRatings:
    """Roe-Metz-style ratings: the same cases for every modality (``shifts``: extra separation per modality)."""
    n = positives + negatives
    d = np.r_[np.zeros(negatives), np.ones(positives)]
    r_effect = rng.normal(0, reader_sd, readers)
    c_effect = rng.normal(0, case_sd, n)
    rc_effect = rng.normal(0, reader_case_sd, (readers, n))
    rows = {"reader": [], "case": [], "truth": [], "rating": [], "modality": []}
    for i, shift in enumerate(shifts):
        latent = d * (separation + shift) + r_effect[:, None] + c_effect[None, :] + rc_effect
        latent = latent + rng.normal(0, error_sd, (readers, n))
        if categories is not None:
            edges = np.quantile(latent, np.linspace(0, 1, categories + 1)[1:-1])
            latent = 1 + np.searchsorted(edges, latent)
        rows["reader"].append(np.repeat(np.arange(readers), n))
        rows["case"].append(np.tile(np.arange(n), readers))
        rows["truth"].append(np.tile(np.where(d == 1, SYNTHETIC, REAL), readers))
        rows["rating"].append(latent.ravel().astype(float))
        rows["modality"].append(np.full(readers * n, i))
    return SimulatedRatings(**{name: np.concatenate(parts) for name, parts in rows.items()})


# --------------------------------------------------------------------------------------------------
# Coverage of the 95% intervals of one simulated study

INTERVALS = ("pooled_wilson", "gee_reader_clustered", "or_rrrc", "glmm_laplace")
"""The intervals whose coverage is measured: their targets are the marginal accuracy except the GLMM's
(the conditional accuracy expit(mu))."""


def interval_coverage(
    study: SimulatedStudy, *, methods: tuple[str, ...] = INTERVALS
) -> dict[str, bool | None]:
    """For each method: does its 95% CI of accuracy cover its target? None where it gave no interval."""
    definite = study.answer != INDETERMINABLE
    correct = (study.truth == study.answer)[definite]
    intervals: dict[str, tuple | None] = {}
    if "pooled_wilson" in methods:
        intervals["pooled_wilson"] = wilson_interval(int(correct.sum()), int(correct.size))
    if "gee_reader_clustered" in methods:
        gee = gee_accuracy(correct, study.truth[definite], study.reader[definite])
        intervals["gee_reader_clustered"] = None if gee.ci_low is None else (gee.ci_low, gee.ci_high)
    if "or_rrrc" in methods:
        analysis = or_analysis(study.reader, study.modality, study.item, study.truth, study.answer)
        single = analysis.rrrc.single_modality[0] if analysis.rrrc is not None else None
        intervals["or_rrrc"] = (
            None if single is None or single.ci_low is None else (single.ci_low, single.ci_high)
        )
    if "glmm_laplace" in methods:
        glmm = glmm_accuracy(correct.astype(float), study.reader[definite], study.item[definite])
        intervals["glmm_laplace"] = None if glmm.ci_low is None else (glmm.ci_low, glmm.ci_high)
    result = {}
    for method, interval in intervals.items():
        target = study.conditional_accuracy if method == "glmm_laplace" else study.marginal_accuracy
        result[method] = None if interval is None else bool(interval[0] <= target <= interval[1])
    return result


# --------------------------------------------------------------------------------------------------
# Several models read by reader panels


@dataclass(frozen=True, eq=False)
class SimulatedPanels(_Result):
    """A simulated comparison of models: one row per answer, with the conditional accuracy of each model."""

    reader: np.ndarray
    item: np.ndarray
    truth: np.ndarray
    answer: np.ndarray
    model: np.ndarray
    accuracies: tuple[float, ...]


PANELS = ("split", "crossed")


def simulate_panels(
    rng: np.random.Generator,
    *,
    readers: int,
    items: int,
    accuracies: tuple[float, ...] = (0.6, 0.6),
    reader_sd: float = 0.0,
    case_sd: float = 0.0,
    panel: str = "split",
    real_shared: bool = False,
) -> SimulatedPanels:
    """Models M1, M2, ... (one per entry of ``accuracies``, the conditional accuracy expit(mu_m)), each read by
    ``readers`` readers (``panel="split"``: each model its own panel; ``"crossed"``: the same readers) on
    ``items`` items, half real and half synthetic. Synthetic items belong to their model; real items are the same
    for every model (``real_shared``) or each model's own. Reader j answers item k of model m correctly with
    probability expit(mu_m + u_j + v_k)."""
    if panel not in PANELS:
        raise ValueError(f"panel must be one of {PANELS}")
    if readers < 1 or items < 2 or len(accuracies) < 1:
        raise ValueError("a study needs at least one reader, two items and one model")
    if reader_sd < 0 or case_sd < 0:
        raise ValueError("standard deviations must be >= 0")
    half = items // 2
    count = readers * (len(accuracies) if panel == "split" else 1)
    skill = rng.normal(0.0, reader_sd, count) if reader_sd > 0 else np.zeros(count)
    shared = rng.normal(0.0, case_sd, half) if case_sd > 0 else np.zeros(half)
    rows = {"reader": [], "item": [], "truth": [], "answer": [], "model": []}
    for m, accuracy in enumerate(accuracies):
        real = shared if real_shared else (rng.normal(0.0, case_sd, half) if case_sd > 0 else np.zeros(half))
        synthetic = rng.normal(0.0, case_sd, items - half) if case_sd > 0 else np.zeros(items - half)
        ease = np.concatenate([real, synthetic])
        names = [f"real-{k}" if real_shared else f"M{m + 1}-real-{k}" for k in range(half)]
        names += [f"M{m + 1}-synthetic-{k}" for k in range(items - half)]
        truth = np.array([REAL] * half + [SYNTHETIC] * (items - half), dtype=object)
        panel_readers = np.arange(readers) + (m * readers if panel == "split" else 0)
        p = expit(logit(accuracy) + skill[panel_readers][:, None] + ease[None, :])
        correct = rng.random(p.shape) < p
        other = np.where(truth == REAL, SYNTHETIC, REAL)
        rows["reader"].append(np.repeat([f"R{j}" for j in panel_readers], items))
        rows["item"].append(np.tile(names, readers))
        rows["truth"].append(np.tile(truth, readers))
        rows["answer"].append(np.where(correct, truth[None, :], other[None, :]).ravel())
        rows["model"].append(np.full(readers * items, f"M{m + 1}", dtype=object))
    return SimulatedPanels(
        **{name: np.concatenate(parts).astype(object) for name, parts in rows.items()},
        accuracies=tuple(float(value) for value in accuracies),
    )
