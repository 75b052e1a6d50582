"""Time the machine observer (both classifiers) and the radiomic Fréchet distance on seeded CT-like slices.

Slices are 512x512 int16: an elliptic body of fat with organs and a bone, correlated noise of about 20 HU in the
"real" set, the same with a 1-pixel Gaussian blur in the "synthetic" set, ten axial layers, ``--patients`` patients
per set. Timed separately: the interpretable observer (features + cross-validation with the refitting bootstrap),
the CNN observer (``--cnn-steps`` per fold), and the radiomic features of both sets plus the radiomic FD/KID.

    taskset -c 0,1 .venv/bin/python benchmarks/bench_observer.py --per-side 360 --patients 4   # about the demo's pools
    taskset -c 0,1 .venv/bin/python benchmarks/bench_observer.py --per-side 1000 --patients 20 --no-cnn
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import describe_machine  # noqa: E402
from metrics.measures.layerwise import radiomic_scores  # noqa: E402
from metrics.measures.observer import ObserverPool, interpretable_observer, observer_features  # noqa: E402
from metrics.measures.observer.cnn import cnn_observer  # noqa: E402
from metrics.measures.radiomics import radiomic_features  # noqa: E402


def ct_like(rng, size, smoothing):
    yy, xx = np.mgrid[:size, :size]
    cy, cx = size / 2 + rng.normal(0, 4, 2)
    body = ((yy - cy) / (size * 0.36)) ** 2 + ((xx - cx) / (size * 0.44)) ** 2 < 1
    values = np.full((size, size), -100.0, dtype=np.float32)
    for _ in range(4):
        oy, ox = rng.uniform(-0.25, 0.25, 2) * size
        values[(yy - cy - oy) ** 2 + (xx - cx - ox) ** 2 < (size * rng.uniform(0.04, 0.12)) ** 2] = (
            rng.choice([40, 60, 120, -900])
        )
    values[(yy - cy - size * 0.22) ** 2 + (xx - cx) ** 2 < (size * 0.05) ** 2] = 700
    noise = scipy.ndimage.gaussian_filter(rng.normal(0, 1, (size, size)).astype(np.float32), 0.7)
    values += noise / noise.std() * 20
    if smoothing:
        values = scipy.ndimage.gaussian_filter(values, smoothing)
    hu = np.full((size, size), -1024, dtype=np.int16)
    hu[body] = np.rint(values[body])
    return hu


def make_pool(per_side, patients, size, seed=0):
    rng = np.random.default_rng(seed)
    hu = np.empty((2 * per_side, size, size), dtype=np.int16)
    who, layers, synthetic = [], [], []
    for index in range(2 * per_side):
        fake = index >= per_side
        hu[index] = ct_like(rng, size, 1.0 if fake else 0.0)
        who.append(f"p{index % patients}")
        layers.append(1 + (index // patients) % 10)
        synthetic.append(fake)
    return ObserverPool(hu=hu, patients=np.array(who), layers=np.array(layers), synthetic=np.array(synthetic))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-side", type=int, default=360)
    parser.add_argument("--patients", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--cnn-steps", type=int, default=300)
    parser.add_argument("--no-cnn", action="store_true")
    args = parser.parse_args()
    print(describe_machine(), "| load", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    began = time.perf_counter()
    pool = make_pool(args.per_side, args.patients, args.size)
    print(
        f"{len(pool)} slices {args.size}x{args.size} made in {time.perf_counter() - began:.1f} s (not timed below)"
    )

    began = time.perf_counter()
    features = observer_features(pool.hu, hu_min=pool.hu_min)
    feature_seconds = time.perf_counter() - began
    result = interpretable_observer(pool, features=features)
    total = time.perf_counter() - began
    print(
        f"interpretable observer: {total:.1f} s (features {feature_seconds:.1f} s); AUC {result.overall.auc:.3f} "
        f"[{result.overall.ci_low:.3f}, {result.overall.ci_high:.3f}]; top: {result.telling[0].sentence}"
    )
    if not args.no_cnn:
        began = time.perf_counter()
        cnn = cnn_observer(pool, steps=args.cnn_steps)
        print(f"CNN observer: {time.perf_counter() - began:.1f} s; AUC {cnn.overall.auc:.3f}")

    began = time.perf_counter()
    real = radiomic_features(pool.hu[~pool.synthetic])
    synthetic = radiomic_features(pool.hu[pool.synthetic])
    half = len(real) // 2
    scores = radiomic_scores(
        0, real[:half], real[half:], synthetic, sizes=(len(synthetic), half, len(real) - half)
    )
    print(
        f"radiomic features of {len(pool)} slices + radiomic FD/KID: {time.perf_counter() - began:.1f} s; "
        f"FD {scores[0].value:.1f} (baseline {scores[0].baseline:.1f})"
    )


if __name__ == "__main__":
    main()
