"""Time the image-distribution metrics at the size of a whole CT set.

Generates seeded random 512x512 int16 HU slices chunk by chunk (never the whole set in memory), feeds a
"real" and a "synthetic" set through :func:`metrics.measures.distribution.layer_metrics` (KL 256 and 3 bins,
histogram correlation and intersection, spectral score; each slice read once) and times the Frechet
distance between two 2048-d feature sets. Pin the CPUs to reproduce the 2-core figures:

    taskset -c 0,1 .venv/bin/python benchmarks/bench_metrics.py               # 6,000 slices per set
    taskset -c 0,1 .venv/bin/python benchmarks/bench_metrics.py --slices 500  # quick run

``--inception N`` also times Inception pool3 features of N slices (random weights: speed only).
"""

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import describe_machine  # noqa: E402
from metrics.measures.distribution import (  # noqa: E402
    CHUNK_SLICES,
    HU_RANGE,
    feature_statistics,
    frechet_distance,
    kernel_inception_distance,
    layer_metrics,
)
from metrics.measures.zconsistency import VolumeGrid, resample_volume, volume_z_profile  # noqa: E402

SLICE_SHAPE = (512, 512)


class TimedSlices:
    """Seeded random HU slices, generated per chunk; counts the time spent generating them."""

    def __init__(self, n_slices: int, seed: int):
        self.n_slices = n_slices
        self.rng = np.random.default_rng(seed)
        self.seconds = 0.0

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, self.n_slices, CHUNK_SLICES):
            began = time.perf_counter()
            count = min(CHUNK_SLICES, self.n_slices - start)
            # a little outside HU_RANGE on both sides, so the clipping is exercised
            chunk = self.rng.integers(
                HU_RANGE[0] - 100, HU_RANGE[1] + 100, (count, *SLICE_SHAPE), dtype=np.int16
            )
            self.seconds += time.perf_counter() - began
            yield chunk


def time_layer_metrics(n_slices: int) -> tuple[float, float, dict]:
    real, synthetic = TimedSlices(n_slices, seed=1), TimedSlices(n_slices, seed=2)
    began = time.perf_counter()
    metrics = layer_metrics(real, synthetic)
    total = time.perf_counter() - began
    return total - real.seconds - synthetic.seconds, real.seconds + synthetic.seconds, metrics


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def time_frechet(n_samples: int, dim: int = 2048, repeats: int = 3) -> tuple[float, float]:
    rng = np.random.default_rng(3)
    mu1, sigma1 = feature_statistics(rng.standard_normal((n_samples, dim)))
    mu2, sigma2 = feature_statistics(rng.standard_normal((n_samples, dim)) * 1.1 + 0.05)
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        distance = frechet_distance(mu1, sigma1, mu2, sigma2)
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), distance


def time_kid(n_samples: int, dim: int = 2048) -> float:
    rng = np.random.default_rng(4)
    f1, f2 = rng.standard_normal((n_samples, dim)), rng.standard_normal((n_samples, dim))
    began = time.perf_counter()
    kernel_inception_distance(f1, f2)
    return time.perf_counter() - began


def time_inception(n_slices: int) -> float:
    import torch

    from metrics.measures.inception import FIDInceptionV3, inception_features

    model = FIDInceptionV3().eval()
    slices = np.random.default_rng(5).integers(-1024, 2000, (n_slices, *SLICE_SHAPE), dtype=np.int16)
    began = time.perf_counter()
    with torch.no_grad():
        inception_features(model, slices)
    return time.perf_counter() - began


def time_z_profile(volumes: int, slices: int = 90) -> float:
    """Seconds per whole volume for the realism-along-z measure: a 90 x 512 x 512 CT (0.75 mm pixels, 3 mm
    slices; an elliptic body of soft tissue with 20 HU noise) resampled to a 3 mm / 7 mm grid and profiled."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: SLICE_SHAPE[0], : SLICE_SHAPE[1]]
    body = ((yy - 256) / 180) ** 2 + ((xx - 256) / 220) ** 2 < 1
    grid = VolumeGrid(slice_mm=7.0, pixel_mm=3.0)
    seconds = 0.0
    for _ in range(volumes):
        volume = np.full((slices, *SLICE_SHAPE), -1024, dtype=np.int16)
        volume[:, body] = (40 + rng.normal(0, 20, (slices, int(body.sum())))).astype(np.int16)
        start = time.perf_counter()
        on_grid = resample_volume(volume, slice_mm=3.0, row_mm=0.75, column_mm=0.75, grid=grid)
        volume_z_profile(on_grid, grid)
        seconds += time.perf_counter() - start
    return seconds / volumes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slices", type=int, default=6000, help="slices per set (real and synthetic)")
    parser.add_argument("--inception", type=int, default=0, help="also time Inception features of N slices")
    parser.add_argument(
        "--z-volumes", type=int, default=2, help="whole volumes for the realism-along-z timing"
    )
    args = parser.parse_args()

    print(f"machine       {describe_machine()}")
    print(f"python        {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    print(f"load average  {load_average()} (1, 5, 15 min) before the run")
    print()

    metrics_seconds, generation_seconds, metrics = time_layer_metrics(args.slices)
    frechet_full, _ = time_frechet(3000)
    frechet_low_rank, _ = time_frechet(500)
    kid_seconds = time_kid(600)

    slices_read = 2 * args.slices
    rows = [
        (
            f"layer_metrics, {args.slices} real + {args.slices} synthetic {SLICE_SHAPE[0]}x{SLICE_SHAPE[1]}",
            metrics_seconds,
            f"{1000 * metrics_seconds / slices_read:.2f} ms/slice read; data generation "
            f"({generation_seconds:.1f} s) excluded",
        ),
        ("frechet_distance, 2048-d, covariances of 3000 samples", frechet_full, "full rank"),
        ("frechet_distance, 2048-d, covariances of 500 samples", frechet_low_rank, "rank 499"),
        ("kernel_inception_distance, 2048-d, 600 vs 600, 100 subsets", kid_seconds, ""),
    ]
    if args.z_volumes:
        rows.append(
            (
                "volume_z_profile, 90x512x512 CT resampled to a 7 mm / 3 mm grid",
                time_z_profile(args.z_volumes),
                f"seconds per volume (mean of {args.z_volumes}), resampling included",
            )
        )
    if args.inception:
        seconds = time_inception(args.inception)
        rows.append(
            (
                f"Inception pool3 features, {args.inception} slices",
                seconds,
                f"{seconds / args.inception:.2f} s/slice",
            )
        )
    width = max(len(name) for name, _, _ in rows)
    print(f"{'what':<{width}}  {'seconds':>8}  notes")
    for name, seconds, notes in rows:
        print(f"{name:<{width}}  {seconds:8.2f}  {notes}")
    print(f"load average  {load_average()} after the run")
    print()
    print("metrics of the random sets (sanity):", {k: round(v, 6) for k, v in metrics.items()})


if __name__ == "__main__":
    main()
