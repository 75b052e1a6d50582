"""Image-distribution metrics for sets of CT slices in HU: pure numpy/scipy, no Django.

No paired ground truth exists for synthetic CT, so a synthetic set is compared with a real set as
distributions:

- Frechet distance and kernel (MMD) distance between Inception feature sets (features come from
  :mod:`metrics.measures.inception`);
- KL divergence, correlation and intersection between averaged HU histograms (256 bins over ``hu_range``
  and 3 tissue bins);
- spectral score: correlation of the mean radially averaged log-magnitude spectra.

Slices are ``(n, H, W)`` arrays of HU (normally int16). Every slice metric first clips HU to ``hu_range``
(default ``HU_RANGE``): values outside it count in the first or last bin and enter the spectrum clipped.
:class:`SliceStatsAccumulator` reads each slice once and keeps only small running sums, so any number of
slices can be fed in chunks from storage; :func:`layer_metrics` compares a real and a synthetic set with it.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.linalg.lapack

from imaging.constants import HU_RANGE as HU_RANGE_CT

HU_RANGE = HU_RANGE_CT
"""Inclusive HU range every slice metric clips to: air (-1024) up to the 12-bit CT maximum (3071)."""

TISSUE_CLASSES = ("air", "soft_tissue", "bone")
TISSUE_EDGES_HU = (-200, 300)
"""Edges of the 3-bin histogram: air and lung [lo, -200), soft tissue [-200, 300), bone [300, hi].

-200 HU lies between lung/air and fat (about -120..-60 HU), so fat is not split between two bins;
300 HU lies above blood, organs and most contrast-enhanced vessels and below most bone, so soft tissue
and bone separate in both contrast-enhanced and non-contrast CT.
"""

KL_EPSILON = 1e-10
"""Mass added to every bin of both histograms before renormalising, so that empty bins stay finite.

One pixel of one 512x512 slice is 3.8e-6 of a normalised histogram, so the smoothing is far below any
observed mass and in effect only changes bins that are empty.
"""

CHUNK_SLICES = 64
"""Slices in flight at once: bounds working memory to about 0.1 GB for 512x512 slices."""

TASK_SLICES = 8
"""Slices per thread task: small enough for one task's FFT buffers (8 MB at 512x512) to stay in cache."""


# --- Feature-space distances ------------------------------------------------------------------------------


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance matrix (unbiased, ``ddof=1``) of an ``(n, d)`` feature set, n >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be (n, d) with n >= 2, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2); covariances PSD.

    ``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))``. The trace of the matrix
    square root is the sum of the square roots of the eigenvalues of the symmetric matrix
    ``F^T sigma2 F``, where ``F F^T = sigma1``: every such factor is ``sqrt(sigma1) Q`` with Q orthogonal,
    so ``F^T sigma2 F`` is orthogonally similar to ``sqrt(sigma1) sigma2 sqrt(sigma1)`` and to
    ``sigma1 sigma2``. F comes from a pivoted Cholesky factorisation, which stops at the numerical rank,
    so singular covariances (fewer samples than dimensions, the usual case per axial layer) need no
    regularisation, and which costs about a quarter of an eigen-decomposition of ``sigma1``. The
    eigenvalues come from ``eigh``; those that rounding makes slightly negative count as zero.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    dim = mu1.shape[0]
    if mu1.shape != (dim,) or mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(
            f"shapes do not match: mu1 {mu1.shape}, sigma1 {sigma1.shape}, "
            f"mu2 {mu2.shape}, sigma2 {sigma2.shape}"
        )
    if not all(np.isfinite(a).all() for a in (mu1, mu2, sigma1, sigma2)):
        raise ValueError("means and covariances must be finite")
    sigma1 = (sigma1 + sigma1.T) / 2
    sigma2 = (sigma2 + sigma2.T) / 2

    # sigma1[piv][:, piv] = L L^T with L lower triangular; its first `rank` columns are the factor
    factor, pivot, rank, info = scipy.linalg.lapack.dpstrf(sigma1, lower=1)
    if info < 0:
        raise ValueError(f"pivoted Cholesky rejected sigma1 (LAPACK info {info})")
    pivot = pivot - 1
    lower = np.tril(factor)[:, :rank]
    inner = lower.T @ (sigma2[np.ix_(pivot, pivot)] @ lower)
    inner = (inner + inner.T) / 2
    eigenvalues = scipy.linalg.eigh(inner, eigvals_only=True, driver="evd") if rank else np.zeros(0)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()

    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


class KIDResult(NamedTuple):
    """Kernel Inception Distance: mean and standard deviation (ddof=0) of the unbiased MMD^2 over subsets."""

    mean: float
    std: float
    subsets: int
    subset_size: int


KID_KERNEL_ENTRIES = 15_000_000
"""Largest total size of the three kernel matrices (120 MB) that KID computes once and reuses per subset."""


def _polynomial_kernel(a: np.ndarray, b: np.ndarray, degree: int, gamma: float, coef0: float) -> np.ndarray:
    return (a @ b.T * gamma + coef0) ** degree


def _unbiased_mmd2(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    m, n = k_xy.shape
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def _check_feature_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sets must be (m, d) and (n, d), got {x.shape} and {y.shape}")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(
            f"the unbiased MMD needs at least 2 samples on each side, got {x.shape[0]} and {y.shape[0]}"
        )
    return x, y


def polynomial_mmd2_unbiased(
    x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None, coef0: float = 1.0
) -> float:
    """Unbiased estimate of MMD^2 between samples ``x`` (m, d) and ``y`` (n, d), m, n >= 2.

    Kernel ``k(a, b) = (gamma a.b + coef0)^degree``, ``gamma = 1/d`` by default (the KID kernel).
    The within-sample means leave out k(x_i, x_i), so the estimate is zero in expectation when both
    samples come from the same distribution, and it can be negative.
    """
    x, y = _check_feature_pair(x, y)
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return _unbiased_mmd2(
        _polynomial_kernel(x, x, degree, gamma, coef0),
        _polynomial_kernel(y, y, degree, gamma, coef0),
        _polynomial_kernel(x, y, degree, gamma, coef0),
    )


def kernel_inception_distance(
    f1: np.ndarray,
    f2: np.ndarray,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> KIDResult:
    """KID between feature sets ``f1`` (n1, d) and ``f2`` (n2, d).

    Each of ``subsets`` rounds draws ``subset_size`` rows without replacement from each set and computes
    :func:`polynomial_mmd2_unbiased` with the cubic kernel ``(x.y/d + 1)^3``. ``subset_size`` shrinks to
    ``min(n1, n2)`` when a set is smaller (per-layer sets often are); when both sets are that small, every
    subset holds all rows and the standard deviation is 0. Unlike FID, the estimate is unbiased at any
    sample size. Kernel matrices of the whole sets are computed once when they fit in
    ``KID_KERNEL_ENTRIES``; the result is the same either way.
    """
    f1, f2 = _check_feature_pair(f1, f2)
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    gamma = 1.0 / f1.shape[1] if gamma is None else gamma
    n1, n2 = f1.shape[0], f2.shape[0]
    size = min(subset_size, n1, n2)
    if size < 2:
        raise ValueError(f"subset_size must be >= 2, got {subset_size}")
    whole = None
    if n1 * n1 + n2 * n2 + n1 * n2 <= KID_KERNEL_ENTRIES:
        whole = [_polynomial_kernel(a, b, degree, gamma, coef0) for a, b in ((f1, f1), (f2, f2), (f1, f2))]
    rng = np.random.default_rng(seed)
    estimates = np.empty(subsets)
    for index in range(subsets):
        rows1 = rng.choice(n1, size, replace=False)
        rows2 = rng.choice(n2, size, replace=False)
        if whole is None:
            estimates[index] = polynomial_mmd2_unbiased(f1[rows1], f2[rows2], degree, gamma, coef0)
        else:
            k_xx, k_yy, k_xy = whole
            estimates[index] = _unbiased_mmd2(
                k_xx[np.ix_(rows1, rows1)], k_yy[np.ix_(rows2, rows2)], k_xy[np.ix_(rows1, rows2)]
            )
    return KIDResult(float(estimates.mean()), float(estimates.std()), subsets, size)


# --- Histogram and spectrum comparisons -------------------------------------------------------------------


def _as_histogram_pair(h1: np.ndarray, h2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h1, h2 = np.asarray(h1, dtype=np.float64).ravel(), np.asarray(h2, dtype=np.float64).ravel()
    if h1.shape != h2.shape or h1.size == 0:
        raise ValueError(f"histograms must have the same number of bins, got {h1.size} and {h2.size}")
    return h1, h2


def kl_divergence(p: np.ndarray, q: np.ndarray, eps: float = KL_EPSILON) -> float:
    """KL(p || q) in nats, p the real and q the synthetic histogram (the expectation is under the real one).

    Both histograms are normalised to sum 1, ``eps`` is added to every bin and they are normalised again,
    so a bin empty in q but not in p costs a large finite amount instead of infinity (see ``KL_EPSILON``).
    """
    p, q = _as_histogram_pair(p, q)
    if (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("histograms must be non-negative with a positive total")
    p = p / p.sum() + eps
    q = q / q.sum() + eps
    p /= p.sum()
    q /= q.sum()
    return float(np.sum(p * np.log(p / q)))


def histogram_correlation(h1: np.ndarray, h2: np.ndarray) -> float:
    """OpenCV ``compareHist(h1, h2, HISTCMP_CORREL)``: Pearson correlation of the bins; 1 = same shape.

    As in OpenCV, when the product of the two variances is <= DBL_EPSILON (a constant histogram) the
    result is 1.0.
    """
    h1, h2 = _as_histogram_pair(h1, h2)
    d1, d2 = h1 - h1.mean(), h2 - h2.mean()
    denom2 = np.sum(d1 * d1) * np.sum(d2 * d2)
    if abs(denom2) <= np.finfo(np.float64).eps:
        return 1.0
    return float(np.sum(d1 * d2) / math.sqrt(denom2))


def histogram_intersection(h1: np.ndarray, h2: np.ndarray) -> float:
    """OpenCV ``compareHist(h1, h2, HISTCMP_INTERSECT)``: sum of bin-wise minima.

    For normalised histograms it lies in [0, 1], 1 meaning identical.
    """
    h1, h2 = _as_histogram_pair(h1, h2)
    return float(np.minimum(h1, h2).sum())


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"spectra have different lengths ({a.size} and {b.size}): the slices differ in rows x columns; "
            "resample them to the same size first"
        )
    da, db = a - a.mean(), b - b.mean()
    denominator = math.sqrt(np.sum(da * da) * np.sum(db * db))
    return float(np.sum(da * db) / denominator) if denominator > 0 else math.nan


# --- Per-slice statistics, accumulated in one pass --------------------------------------------------------


def _check_hu_range(hu_range: tuple[int, int]) -> tuple[int, int]:
    low, high = int(hu_range[0]), int(hu_range[1])
    info = np.iinfo(np.int16)
    if not (info.min <= low < high <= info.max) or (low, high) != tuple(hu_range):
        raise ValueError(f"hu_range must be two integers lo < hi within int16, got {hu_range}")
    return low, high


@functools.lru_cache(maxsize=8)
def _radial_bins(rows: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Radius bin of each ``rfft2`` coefficient, and its weight in the mean of its bin.

    In the centred spectrum a coefficient sits at integer frequencies (ky, kx) and belongs to bin
    ``round(hypot(ky, kx))``. ``rfft2`` keeps only kx >= 0; for a real image |F(ky, -kx)| equals
    |F(-ky, kx)| at the same radius, so each kept column stands for two centred columns, except kx = 0
    and, for an even width, kx = columns / 2, which have no mirror. Every bin from 0 to the corner
    radius holds at least one coefficient.
    """
    ky = np.fft.fftfreq(rows, d=1.0 / rows)
    kx = np.fft.rfftfreq(columns, d=1.0 / columns)
    radius_bin = np.rint(np.hypot(ky[:, None], kx[None, :])).astype(np.intp)
    column_weight = np.full(kx.size, 2.0)
    column_weight[0] = 1.0
    if columns % 2 == 0:
        column_weight[-1] = 1.0
    weight = np.broadcast_to(column_weight, radius_bin.shape)
    centred_count = np.bincount(radius_bin.ravel(), weights=weight.ravel())
    return radius_bin, weight / centred_count[radius_bin]


def _radial_mean(half_plane: np.ndarray, slice_shape: tuple[int, int]) -> np.ndarray:
    """Radial average of the centred spectrum whose ``rfft2`` half is ``half_plane``; bin 0 is DC."""
    radius_bin, weight = _radial_bins(*slice_shape)
    if half_plane.shape != radius_bin.shape:
        raise ValueError(f"array of shape {half_plane.shape} is not the rfft2 of a {slice_shape} image")
    return np.bincount(radius_bin.ravel(), weights=(half_plane * weight).ravel())


def radial_average(half_plane: np.ndarray, slice_shape: tuple[int, int]) -> np.ndarray:
    """Radial average of the centred 2-D spectrum of a ``slice_shape`` image from its ``rfft2`` half-plane
    (magnitude, power or any function of them): bin k holds the coefficients at [k - 0.5, k + 0.5) integer
    frequencies from DC, out to the corner."""
    return _radial_mean(np.asarray(half_plane, dtype=np.float64), tuple(slice_shape))


@dataclass(frozen=True)
class SliceStats:
    """What the slice metrics need from one set of slices.

    ``hu_value_histogram`` has one bin per integer HU in ``hu_range`` (inclusive): each slice's
    histogram normalised to sum 1, averaged over slices. ``log_spectrum`` is the mean over slices of the
    radially averaged ``log(1 + |F|)`` of the centred 2-D FFT, bin k holding the coefficients at
    distance [k - 0.5, k + 0.5) from the zero frequency, out to the corner. Either is ``None`` when not
    computed.
    """

    n_slices: int
    hu_range: tuple[int, int]
    hu_value_histogram: np.ndarray | None
    log_spectrum: np.ndarray | None
    slice_shape: tuple[int, int]

    def _value_histogram(self) -> np.ndarray:
        if self.hu_value_histogram is None:
            raise ValueError("these statistics were accumulated without the histogram")
        return self.hu_value_histogram

    def hu_histogram(self, bins: int = 256) -> np.ndarray:
        """Normalised histogram with ``bins`` equal bins over [lo, hi + 1): 16 HU per bin for 256 bins."""
        value_histogram = self._value_histogram()
        n_values = value_histogram.size
        if not 1 <= bins <= n_values:
            raise ValueError(f"bins must be between 1 and {n_values}, got {bins}")
        # value lo + v falls in bin floor(v * bins / n_values), as with np.histogram over [lo, hi + 1)
        bin_of_value = np.arange(n_values) * bins // n_values
        return np.bincount(bin_of_value, weights=value_histogram, minlength=bins)

    def tissue_histogram(self) -> np.ndarray:
        """Normalised 3-bin histogram (air, soft tissue, bone) split at ``TISSUE_EDGES_HU``."""
        low, high = self.hu_range
        soft_from, bone_from = TISSUE_EDGES_HU
        if not low < soft_from < bone_from <= high:
            raise ValueError(f"hu_range {self.hu_range} must contain the tissue edges {TISSUE_EDGES_HU}")
        cumulative = np.concatenate([[0.0], np.cumsum(self._value_histogram())])
        soft, bone = soft_from - low, bone_from - low
        return np.array(
            [cumulative[soft], cumulative[bone] - cumulative[soft], cumulative[-1] - cumulative[bone]]
        )


def _clipped_hu(slices: np.ndarray, low: int, high: int) -> np.ndarray:
    """Slices clipped to [low, high] as int16; non-integer HU is rounded to the nearest integer first."""
    if slices.dtype == np.int16:
        return np.clip(slices, low, high)
    if not np.issubdtype(slices.dtype, np.integer):
        slices = np.rint(slices)
    return np.clip(slices, low, high).astype(np.int16)


def _chunk_sums(
    slices: np.ndarray, low: int, high: int, histogram: bool, spectrum: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Counts per HU value, and the sum over slices of log(1 + |rfft2|), for one chunk of slices."""
    clipped = _clipped_hu(slices, low, high)
    counts = None
    if histogram:
        counts = np.zeros(high - low + 1, dtype=np.int64)
        for hu_slice in clipped:
            # bincount of small non-negative ints is several times faster than np.histogram
            counts += np.bincount(np.subtract(hu_slice, low, dtype=np.intp).ravel(), minlength=counts.size)
    log_magnitude_sum = None
    if spectrum:
        # single precision halves the FFT time; its rounding is far below the magnitudes of CT slices
        magnitude = np.abs(scipy.fft.rfft2(clipped.astype(np.float32), workers=1))
        np.log1p(magnitude, out=magnitude)
        log_magnitude_sum = magnitude.sum(axis=0).astype(np.float64)
    return counts, log_magnitude_sum


def _default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class SliceStatsAccumulator:
    """Running sums for the slice metrics of one set of slices, fed in chunks; each slice is read once.

    ``add(batch)`` takes a ``(k, H, W)`` or ``(H, W)`` HU array; ``result()`` returns the
    :class:`SliceStats` of everything added so far. With ``spectrum=True`` all slices must have the same
    rows x columns. A batch is cut into chunks of ``chunk_slices`` and each chunk into tasks of
    ``TASK_SLICES`` run on ``workers`` threads (numpy and scipy.fft release the GIL); ``workers``
    defaults to the CPUs this process may run on.
    """

    def __init__(
        self,
        hu_range: tuple[int, int] = HU_RANGE,
        *,
        histogram: bool = True,
        spectrum: bool = True,
        chunk_slices: int = CHUNK_SLICES,
        workers: int | None = None,
    ):
        if not (histogram or spectrum):
            raise ValueError("nothing to accumulate: histogram and spectrum are both off")
        self.hu_range = _check_hu_range(hu_range)
        self.histogram = histogram
        self.spectrum = spectrum
        self.chunk_slices = max(1, int(chunk_slices))
        self.workers = max(1, int(workers or _default_workers()))
        self.n_slices = 0
        self.slice_shape: tuple[int, int] | None = None
        low, high = self.hu_range
        self._normalised_histogram_sum = np.zeros(high - low + 1)
        self._log_magnitude_sum: np.ndarray | None = None

    def add(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch)
        if batch.ndim == 2:
            batch = batch[None]
        if batch.ndim != 3 or not np.issubdtype(batch.dtype, np.number) or np.iscomplexobj(batch):
            raise ValueError(
                f"slices must be a real (k, rows, columns) array, got {batch.dtype} {batch.shape}"
            )
        if batch.shape[0] == 0:
            return
        shape = (int(batch.shape[1]), int(batch.shape[2]))
        if self.spectrum and self.slice_shape is not None and shape != self.slice_shape:
            raise ValueError(f"slices of {shape} cannot join a spectrum of {self.slice_shape} slices")
        self.slice_shape = self.slice_shape or shape

        chunks = [
            batch[start : start + self.chunk_slices] for start in range(0, len(batch), self.chunk_slices)
        ]
        if self.workers == 1 or len(batch) <= TASK_SLICES:
            for chunk in chunks:
                self._merge(chunk.shape, [self._sums(chunk)])
            return
        with ThreadPoolExecutor(self.workers) as pool:
            for chunk in chunks:
                tasks = [chunk[start : start + TASK_SLICES] for start in range(0, len(chunk), TASK_SLICES)]
                self._merge(chunk.shape, list(pool.map(self._sums, tasks)))

    def _sums(self, slices: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        return _chunk_sums(slices, *self.hu_range, self.histogram, self.spectrum)

    def _merge(
        self, chunk_shape: tuple[int, ...], sums: list[tuple[np.ndarray | None, np.ndarray | None]]
    ) -> None:
        pixels_per_slice = chunk_shape[1] * chunk_shape[2]
        for counts, log_magnitude_sum in sums:
            if counts is not None:
                # the slices of a chunk have one size, so its counts over the pixels of one slice are the
                # sum of its per-slice normalised histograms
                self._normalised_histogram_sum += counts / pixels_per_slice
            if log_magnitude_sum is not None:
                if self._log_magnitude_sum is None:
                    self._log_magnitude_sum = log_magnitude_sum
                else:
                    self._log_magnitude_sum += log_magnitude_sum
        self.n_slices += chunk_shape[0]

    def result(self) -> SliceStats:
        if self.n_slices == 0:
            raise ValueError("no slices were added")
        histogram = self._normalised_histogram_sum / self.n_slices if self.histogram else None
        log_spectrum = None
        if self.spectrum:
            log_spectrum = _radial_mean(self._log_magnitude_sum / self.n_slices, self.slice_shape)
        return SliceStats(self.n_slices, self.hu_range, histogram, log_spectrum, self.slice_shape)


SliceSource = np.ndarray | Iterable[np.ndarray]
"""A ``(n, H, W)`` array of slices, or an iterable of such arrays (chunks read from storage)."""


def slice_stats(
    slices: SliceSource,
    hu_range: tuple[int, int] = HU_RANGE,
    *,
    histogram: bool = True,
    spectrum: bool = True,
    workers: int | None = None,
) -> SliceStats:
    """:class:`SliceStats` of an array of slices or of an iterable of chunks, each slice read once."""
    accumulator = SliceStatsAccumulator(hu_range, histogram=histogram, spectrum=spectrum, workers=workers)
    for chunk in [slices] if isinstance(slices, np.ndarray) else slices:
        accumulator.add(chunk)
    return accumulator.result()


def hu_histogram(slices: SliceSource, bins: int = 256, hu_range: tuple[int, int] = HU_RANGE) -> np.ndarray:
    """Histogram of each slice over ``hu_range`` (values clipped into it), normalised, averaged over slices.

    The bins are equal and cover [lo, hi + 1); with the default range each of 256 bins holds 16 HU.
    """
    return slice_stats(slices, hu_range, spectrum=False).hu_histogram(bins)


def tissue_histogram(slices: SliceSource, hu_range: tuple[int, int] = HU_RANGE) -> np.ndarray:
    """Mean normalised 3-bin histogram (air, soft tissue, bone), edges in ``TISSUE_EDGES_HU``."""
    return slice_stats(slices, hu_range, spectrum=False).tissue_histogram()


def mean_log_spectrum(slices: SliceSource, hu_range: tuple[int, int] = HU_RANGE) -> np.ndarray:
    """Mean over slices of the radially averaged ``log(1 + |F|)`` of the centred 2-D FFT of each slice.

    Bin k averages the coefficients whose distance from the zero frequency rounds to k pixels, from 0
    (DC) out to the corner of the spectrum, so the diagonal high frequencies where checkerboard
    artefacts of transposed convolutions appear are included.
    """
    return slice_stats(slices, hu_range, histogram=False).log_spectrum


def log_magnitude_spectrum(hu_slice: np.ndarray, hu_range: tuple[int, int] = HU_RANGE) -> np.ndarray:
    """The centred 2-D ``log(1 + |F|)`` of one slice (HU clipped to ``hu_range`` as the spectral score clips
    it), zero frequency in the middle: the image whose radial average :func:`mean_log_spectrum` takes."""
    hu_slice = np.asarray(hu_slice)
    if hu_slice.ndim != 2:
        raise ValueError(f"a slice must be a 2-D image, not shape {hu_slice.shape}")
    low, high = _check_hu_range(hu_range)
    clipped = _clipped_hu(hu_slice, low, high).astype(np.float64)
    return np.fft.fftshift(np.log1p(np.abs(scipy.fft.fft2(clipped, workers=1))))


def spectral_score(
    real_slices: SliceSource, synthetic_slices: SliceSource, hu_range: tuple[int, int] = HU_RANGE
) -> float:
    """Pearson correlation of the mean log spectra of two sets of same-size slices; 1 = same shape."""
    return _pearson(mean_log_spectrum(real_slices, hu_range), mean_log_spectrum(synthetic_slices, hu_range))


def compare_slice_stats(real: SliceStats, synthetic: SliceStats) -> dict[str, float | int]:
    """Histogram and spectral metrics of a synthetic set against a real set, from their statistics.

    KL divergences are KL(real || synthetic); correlation and intersection use the 256-bin histograms.
    ``spectral_score`` is present when both statistics include a spectrum.
    """
    if real.hu_range != synthetic.hu_range:
        raise ValueError(f"hu_range differs: real {real.hu_range}, synthetic {synthetic.hu_range}")
    real_256, synthetic_256 = real.hu_histogram(256), synthetic.hu_histogram(256)
    metrics: dict[str, float | int] = {
        "n_real": real.n_slices,
        "n_synthetic": synthetic.n_slices,
        "kl_divergence_256": kl_divergence(real_256, synthetic_256),
        "kl_divergence_3": kl_divergence(real.tissue_histogram(), synthetic.tissue_histogram()),
        "histogram_correlation": histogram_correlation(real_256, synthetic_256),
        "histogram_intersection": histogram_intersection(real_256, synthetic_256),
    }
    if real.log_spectrum is not None and synthetic.log_spectrum is not None:
        metrics["spectral_score"] = _pearson(real.log_spectrum, synthetic.log_spectrum)
    return metrics


def layer_metrics(
    real_slices: SliceSource,
    synthetic_slices: SliceSource,
    hu_range: tuple[int, int] = HU_RANGE,
    *,
    workers: int | None = None,
) -> dict[str, float | int]:
    """Histogram and spectral metrics of one axial layer, reading each slice of both sets exactly once.

    Returns ``n_real``, ``n_synthetic``, ``kl_divergence_256``, ``kl_divergence_3``,
    ``histogram_correlation``, ``histogram_intersection`` and ``spectral_score``
    (see :func:`compare_slice_stats`).
    """
    real = slice_stats(real_slices, hu_range, workers=workers)
    synthetic = slice_stats(synthetic_slices, hu_range, workers=workers)
    return compare_slice_stats(real, synthetic)
