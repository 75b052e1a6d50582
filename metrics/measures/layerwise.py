"""Layer-wise image-distribution metrics of a model, each normalised by a real-vs-real baseline; no Django.

A model's synthetic CT has no paired ground truth, so it is compared with real CT as a distribution, one axial
layer (1..10) at a time, and every score is divided by what two sets of *real* CT score against each other under
the same conditions:

- the real dataset's patients are split, seeded, into two disjoint halves: the *reference* half and the
  *held-out* half (:func:`held_out_split`);
- in each layer the sample size n is the model's number of synthetic slices there, capped by ``max_per_layer``
  and by what each real half holds; n slices are drawn, seeded, from each of the three sets
  (:func:`plan_layers`);
- the model's score is metric(reference, synthetic); its baseline is metric(reference, held-out) at the same n;
  the normalised score is score / baseline (:func:`normalise`);
- the layer-0 row of each metric is the mean over the layers that have a score, normalised by the mean of
  their baselines, as in the paper (:func:`average_over_layers`).

Every set is read once: :func:`summarise_set` feeds chunks of slices to the histogram/spectrum accumulator of
:mod:`metrics.measures.distribution`, to the radiomic features of :mod:`metrics.measures.radiomics` (no weights needed) and, when a
feature extractor is given, to the Inception network.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.ndimage

from metrics.measures.distribution import (
    HU_RANGE,
    TISSUE_CLASSES,
    SliceStats,
    SliceStatsAccumulator,
    compare_slice_stats,
    feature_statistics,
    frechet_distance,
    kernel_inception_distance,
)
from metrics.measures.radiomics import radiomic_features, standardise
from metrics.measures.vocabulary import (  # noqa: F401  (re-exported: the metrics and their names in one place)
    AVERAGE_LAYER,
    FEATURE_METRICS,
    LAYERS,
    LOWER_IS_BETTER,
    METRIC_LABELS,
    METRICS,
    RADIOMIC_METRICS,
    SLICE_METRICS,
)

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
MIN_SAMPLE = 2
"""Fewest slices per set for any metric: the covariance (FID) and the unbiased MMD (KID) need two."""
SPECTRUM_DIGITS = 6

FeatureExtractor = Callable[[np.ndarray], np.ndarray]
"""``(k, H, W)`` HU slices to ``(k, d)`` features (the Inception pool3 features for FID and KID)."""


class LayerwiseError(ValueError):
    """The comparison cannot be set up (for instance too few real patients to split); one line saying why."""


# --- Held-out split and sampling ---------------------------------------------------------------------------


def held_out_split(units: Iterable[str], *, seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split the distinct ``units`` (patients) into a reference half and a held-out half.

    The halves are disjoint, together hold every unit, and differ in size by at most one (the reference half
    gets the odd one). The split depends only on the set of units and the seed, not on their order.
    """
    distinct = sorted({str(unit) for unit in units})
    if len(distinct) < 2:
        raise LayerwiseError(
            f"a held-out split needs at least 2 real patients (or volumes), found {len(distinct)}"
        )
    order = np.random.default_rng(seed).permutation(len(distinct))
    half = (len(distinct) + 1) // 2
    reference = tuple(sorted(distinct[index] for index in order[:half]))
    held_out = tuple(sorted(distinct[index] for index in order[half:]))
    return reference, held_out


@dataclass(frozen=True)
class LayerPlan:
    """The slices drawn in one layer: ``sample_size`` keys from each set, or a ``reason`` why there are none."""

    layer: int
    sample_size: int
    available_synthetic: int
    available_reference: int
    available_held_out: int
    synthetic: tuple = ()
    reference: tuple = ()
    held_out: tuple = ()
    reason: str | None = None

    @property
    def slice_count(self) -> int:
        return len(self.synthetic) + len(self.reference) + len(self.held_out)


def _draw(keys: Sequence, size: int, rng: np.random.Generator) -> tuple:
    chosen = np.sort(rng.choice(len(keys), size=size, replace=False))
    return tuple(keys[index] for index in chosen)


def plan_layers(
    synthetic: Mapping[int, Sequence],
    reference: Mapping[int, Sequence],
    held_out: Mapping[int, Sequence],
    *,
    max_per_layer: int | None = None,
    seed: int = 0,
    layers: Sequence[int] = LAYERS,
) -> list[LayerPlan]:
    """Draw, per layer, the same number of slice keys from the synthetic, reference and held-out sets.

    n = min(synthetic slices in the layer, ``max_per_layer``, reference slices, held-out slices): the model's
    sample size, so that its score and its baseline are computed at the same n. Layers with n below
    ``MIN_SAMPLE`` get a ``reason`` instead. Draws are without replacement and seeded per layer, so a layer's
    sample does not change when another layer's slices do.
    """
    if max_per_layer is not None and max_per_layer < MIN_SAMPLE:
        raise LayerwiseError(f"max_per_layer must be at least {MIN_SAMPLE}, got {max_per_layer}")
    plans = []
    for layer in layers:
        sets = [list(source.get(layer, ())) for source in (synthetic, reference, held_out)]
        counts = [len(keys) for keys in sets]
        size = min(counts[0], max_per_layer or counts[0], counts[1], counts[2])
        common = {
            "layer": layer,
            "available_synthetic": counts[0],
            "available_reference": counts[1],
            "available_held_out": counts[2],
        }
        if size < MIN_SAMPLE:
            short = [
                f"{count} {name} slice{'s' if count != 1 else ''}"
                for name, count in zip(("synthetic", "reference real", "held-out real"), counts, strict=True)
                if count < MIN_SAMPLE
            ]
            reason = f"layer {layer} has {', '.join(short)}; every set needs at least {MIN_SAMPLE}"
            plans.append(LayerPlan(sample_size=0, reason=reason, **common))
            continue
        rng = np.random.default_rng([seed, layer])
        drawn = [_draw(keys, size, rng) for keys in sets]
        plans.append(
            LayerPlan(sample_size=size, synthetic=drawn[0], reference=drawn[1], held_out=drawn[2], **common)
        )
    return plans


def most_common_shape(shapes: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    """The most frequent (rows, columns); ties go to the larger matrix. ``None`` for no shapes."""
    counts = Counter(tuple(int(side) for side in shape) for shape in shapes)
    if not counts:
        return None
    return max(counts, key=lambda shape: (counts[shape], shape))


def match_shape(hu: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A ``(H, W)`` HU slice resampled (bilinear, pixel areas aligned) to ``shape``, as int16; unchanged if
    it already has that shape. The spectral score needs every slice of a comparison at one matrix size."""
    hu = np.asarray(hu)
    if hu.shape == tuple(shape):
        return hu
    factors = (shape[0] / hu.shape[0], shape[1] / hu.shape[1])
    resampled = scipy.ndimage.zoom(hu.astype(np.float32), factors, order=1, mode="nearest", grid_mode=True)
    if resampled.shape != tuple(shape):  # zoom rounds the output size; pad or crop the odd pixel
        padded = np.pad(resampled, [(0, max(0, s - r)) for s, r in zip(shape, resampled.shape, strict=True)])
        resampled = padded[: shape[0], : shape[1]]
    info = np.iinfo(np.int16)
    return np.clip(np.rint(resampled), info.min, info.max).astype(np.int16)


# --- Reading a set once -------------------------------------------------------------------------------------


@dataclass
class SetSummary:
    """What the metrics need from one set of slices: histogram/spectrum statistics, radiomic features and,
    optionally, Inception features."""

    stats: SliceStats
    features: np.ndarray | None
    radiomics: np.ndarray | None = None


def summarise_set(
    chunks: Iterable[np.ndarray],
    *,
    extract_features: FeatureExtractor | None = None,
    radiomics: bool = True,
    hu_range: tuple[int, int] = HU_RANGE,
    workers: int | None = None,
    radiomics_cache: dict | None = None,
) -> SetSummary:
    """Statistics, radiomic features (unless ``radiomics`` is off) and Inception features (if
    ``extract_features`` is given) of a set fed as ``(k, H, W)`` HU chunks. ``radiomics_cache``: the cache of
    :func:`metrics.measures.radiomics.radiomic_features`, for sets that share slices (the real halves of several models'
    comparisons)."""
    accumulator = SliceStatsAccumulator(hu_range, workers=workers)
    features, radiomic = [], []
    for chunk in chunks:
        chunk = np.asarray(chunk)
        accumulator.add(chunk)
        if radiomics:
            radiomic.append(radiomic_features(chunk, workers=workers, cache=radiomics_cache))
        if extract_features is not None:
            features.append(np.asarray(extract_features(chunk), dtype=np.float64))
    return SetSummary(
        stats=accumulator.result(),
        features=np.concatenate(features) if features else None,
        radiomics=np.concatenate(radiomic) if radiomic else None,
    )


# --- Scores -------------------------------------------------------------------------------------------------


def normalise(value: float | None, baseline: float | None) -> float | None:
    """``value / baseline``: the model's score relative to real-vs-real at the same sample size.

    ``None`` unless both are finite and the baseline is positive: the ratio of a score to a zero or negative
    baseline (KID is unbiased, so two real sets score about 0 and sometimes below) has no meaning.
    """
    if value is None or baseline is None:
        return None
    if not (math.isfinite(value) and math.isfinite(baseline)) or baseline <= 0:
        return None
    return value / baseline


@dataclass(frozen=True)
class MetricScore:
    """One metric in one layer (``AVERAGE_LAYER`` for the mean over layers): the model's value, the
    real-vs-real baseline, their ratio, and the sample sizes. ``note`` says why a value is missing."""

    layer: int
    metric: str
    value: float | None
    baseline: float | None
    normalised: float | None
    n_synthetic: int
    n_reference: int
    n_held_out: int
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.value is not None


SIZE_FIELDS = ("n_synthetic", "n_reference", "n_held_out")


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _rounded(values: np.ndarray | None) -> list[float] | None:
    if values is None:
        return None
    return [float(f"{value:.{SPECTRUM_DIGITS}g}") for value in np.asarray(values, dtype=np.float64)]


def _score(layer, metric, value, baseline, sizes, note="", detail=None) -> MetricScore:
    value = None if value is None else _finite(value)
    baseline = None if baseline is None else _finite(baseline)
    return MetricScore(
        layer=layer,
        metric=metric,
        value=value,
        baseline=baseline,
        normalised=normalise(value, baseline),
        n_synthetic=sizes[0],
        n_reference=sizes[1],
        n_held_out=sizes[2],
        note=note,
        detail=detail or {},
    )


def unavailable_scores(
    layer: int,
    reason: str,
    *,
    sizes: tuple[int, int, int] = (0, 0, 0),
    metrics: Sequence[str] = METRICS,
    detail: Mapping[str, Any] | None = None,
) -> list[MetricScore]:
    """Rows saying ``unavailable: <reason>`` for ``metrics`` in ``layer``."""
    return [
        _score(layer, metric, None, None, sizes, note=f"unavailable: {reason}", detail=dict(detail or {}))
        for metric in metrics
    ]


def score_layer(
    layer: int,
    reference: SetSummary,
    held_out: SetSummary,
    synthetic: SetSummary,
    *,
    features_unavailable: str | None = None,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> list[MetricScore]:
    """Every metric of one layer: the model (reference vs synthetic) against the baseline (reference vs
    held-out). FID and KID need features in all three summaries; without them they are unavailable with
    ``features_unavailable`` as the reason. The radiomic Fréchet distance and KID need radiomic features in all
    three; they are z-scored with the reference half's mean and standard deviation first (see
    :func:`radiomic_scores`)."""
    sizes = (synthetic.stats.n_slices, reference.stats.n_slices, held_out.stats.n_slices)
    model = compare_slice_stats(reference.stats, synthetic.stats)
    baseline = compare_slice_stats(reference.stats, held_out.stats)
    scores = []
    have_features = all(summary.features is not None for summary in (reference, held_out, synthetic))
    if have_features:
        mu_ref, sigma_ref = feature_statistics(reference.features)
        fid = frechet_distance(mu_ref, sigma_ref, *feature_statistics(synthetic.features))
        fid_baseline = frechet_distance(mu_ref, sigma_ref, *feature_statistics(held_out.features))
        scores.append(_score(layer, "fid", fid, fid_baseline, sizes, detail={"feature_dim": mu_ref.size}))
        options = {"subsets": kid_subsets, "subset_size": kid_subset_size, "seed": seed}
        kid = kernel_inception_distance(reference.features, synthetic.features, **options)
        kid_baseline = kernel_inception_distance(reference.features, held_out.features, **options)
        scores.append(
            _score(
                layer,
                "kid",
                kid.mean,
                kid_baseline.mean,
                sizes,
                detail={
                    "std": kid.std,
                    "baseline_std": kid_baseline.std,
                    "subsets": kid.subsets,
                    "subset_size": kid.subset_size,
                },
            )
        )
    else:
        reason = features_unavailable or "no Inception features were computed"
        scores.extend(unavailable_scores(layer, reason, sizes=sizes, metrics=FEATURE_METRICS))
    if all(summary.radiomics is not None for summary in (reference, held_out, synthetic)):
        scores.extend(
            radiomic_scores(
                layer,
                reference.radiomics,
                held_out.radiomics,
                synthetic.radiomics,
                sizes=sizes,
                kid_subsets=kid_subsets,
                kid_subset_size=kid_subset_size,
                seed=seed,
            )
        )
    else:
        reason = "no radiomic features were computed"
        scores.extend(unavailable_scores(layer, reason, sizes=sizes, metrics=RADIOMIC_METRICS))
    details = {
        "kl_divergence_3": {
            "classes": list(TISSUE_CLASSES),
            "reference_histogram": _rounded(reference.stats.tissue_histogram()),
            "held_out_histogram": _rounded(held_out.stats.tissue_histogram()),
            "synthetic_histogram": _rounded(synthetic.stats.tissue_histogram()),
        },
        "spectral_score": {
            "reference_spectrum": _rounded(reference.stats.log_spectrum),
            "held_out_spectrum": _rounded(held_out.stats.log_spectrum),
            "synthetic_spectrum": _rounded(synthetic.stats.log_spectrum),
            "slice_shape": list(reference.stats.slice_shape),
        },
    }
    for metric in SLICE_METRICS:
        scores.append(
            _score(layer, metric, model[metric], baseline[metric], sizes, detail=details.get(metric))
        )
    return scores


def radiomic_scores(
    layer: int,
    reference: np.ndarray,
    held_out: np.ndarray,
    synthetic: np.ndarray,
    *,
    sizes: tuple[int, int, int],
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> list[MetricScore]:
    """The radiomic Fréchet distance and KID of one layer: features z-scored by the reference half (so the model
    and its baseline are measured in the same units), then the Fréchet distance of Gaussians fitted to them and
    the unbiased polynomial-kernel MMD, model = reference vs synthetic, baseline = reference vs held-out."""
    reference, held_out, synthetic = standardise(reference, held_out, synthetic)
    mu_ref, sigma_ref = feature_statistics(reference)
    distance = frechet_distance(mu_ref, sigma_ref, *feature_statistics(synthetic))
    distance_baseline = frechet_distance(mu_ref, sigma_ref, *feature_statistics(held_out))
    options = {"subsets": kid_subsets, "subset_size": kid_subset_size, "seed": seed}
    kid = kernel_inception_distance(reference, synthetic, **options)
    kid_baseline = kernel_inception_distance(reference, held_out, **options)
    features = {"feature_count": int(reference.shape[1]), "standardised_by": "reference half"}
    return [
        _score(layer, "radiomic_fd", distance, distance_baseline, sizes, detail=dict(features)),
        _score(
            layer,
            "radiomic_kid",
            kid.mean,
            kid_baseline.mean,
            sizes,
            detail={
                **features,
                "std": kid.std,
                "baseline_std": kid_baseline.std,
                "subsets": kid.subsets,
                "subset_size": kid.subset_size,
            },
        ),
    ]


def average_over_layers(scores: Iterable[MetricScore]) -> list[MetricScore]:
    """The ``AVERAGE_LAYER`` row of each metric: mean value and mean baseline over the layers that have both,
    normalised as mean value / mean baseline; sample sizes are summed over those layers. The spectral row
    carries the mean spectra when every layer's spectra have one length."""
    by_metric: dict[str, list[MetricScore]] = {}
    for score in scores:
        if score.layer != AVERAGE_LAYER:
            by_metric.setdefault(score.metric, []).append(score)
    averages = []
    for metric in METRICS:
        rows = by_metric.get(metric, [])
        scored = [row for row in rows if row.value is not None and row.baseline is not None]
        if not scored:
            notes = sorted({row.note for row in rows if row.note})
            reason = notes[0].removeprefix("unavailable: ") if len(notes) == 1 else "no layer has a score"
            averages.extend(unavailable_scores(AVERAGE_LAYER, reason, metrics=(metric,)))
            continue
        sizes = tuple(sum(getattr(row, name) for row in scored) for name in SIZE_FIELDS)
        detail = {"layers": [row.layer for row in scored]}
        if metric == "spectral_score":
            detail.update(_mean_spectra(scored))
        missing = len(LAYERS) - len(scored)
        note = f"mean over {len(scored)} layers; {missing} without a score" if missing else ""
        averages.append(
            _score(
                AVERAGE_LAYER,
                metric,
                float(np.mean([row.value for row in scored])),
                float(np.mean([row.baseline for row in scored])),
                sizes,
                note=note,
                detail=detail,
            )
        )
    return averages


def _mean_spectra(rows: Sequence[MetricScore]) -> dict[str, list[float]]:
    result = {}
    for name in ("reference_spectrum", "held_out_spectrum", "synthetic_spectrum"):
        spectra = [row.detail.get(name) for row in rows]
        if any(spectrum is None for spectrum in spectra) or len({len(spectrum) for spectrum in spectra}) != 1:
            return {}
        result[name] = _rounded(np.mean(np.asarray(spectra, dtype=np.float64), axis=0))
    return result
