"""Coverage of the 95% confidence intervals of reader accuracy, by simulation.

Simulates reader studies with reader and case random effects (:func:`readerstats.simulate.simulate_answers`,
logit-normal, conditional accuracy 0.65, half real and half synthetic items) over a grid of designs and records how
often each interval covers its target: the pooled Wilson interval, the reader-clustered GEE, the OR RRRC
single-modality interval (targets: the marginal accuracy) and the Laplace GLMM (target: the conditional accuracy).

    nice .venv/bin/python benchmarks/coverage.py --studies 50 --seed 20261203 --workers 2

writes docs/statistics_coverage.csv and docs/statistics_coverage.png and prints a Markdown table
(``--plot-only`` redraws the plot from the CSV).
"""

import argparse
import csv
import multiprocessing
import sys
import time
import warnings
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from readerstats.simulate import INTERVALS, interval_coverage, simulate_answers  # noqa: E402

READERS = (4, 8, 12)
ITEMS = (20, 60, 200)
VARIANCES = {
    "none": (0.0, 0.0),
    "readers only": (0.6, 0.0),
    "cases only": (0.0, 1.0),
    "moderate": (0.4, 0.6),
    "large": (1.0, 1.5),
}
"""(reader SD, case SD) on the logit scale."""
ACCURACY = 0.65


def run_cell(args):
    readers, items, variance, studies, seed = args
    reader_sd, case_sd = VARIANCES[variance]
    rng = np.random.default_rng(seed)
    counts = {method: [0, 0, 0] for method in INTERVALS}  # covered, intervals, no interval
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(studies):
            study = simulate_answers(
                rng, readers=readers, items=items, accuracy=ACCURACY, reader_sd=reader_sd, case_sd=case_sd
            )
            for method, covered in interval_coverage(study).items():
                if covered is None:
                    counts[method][2] += 1
                else:
                    counts[method][0] += covered
                    counts[method][1] += 1
    return readers, items, variance, studies, counts


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(VARIANCES), figsize=(16, 3.8), sharey=True)
    labels = {
        "pooled_wilson": "pooled Wilson",
        "gee_reader_clustered": "GEE (reader clusters)",
        "or_rrrc": "OR RRRC",
        "glmm_laplace": "GLMM (Laplace)",
    }
    for axis, variance in zip(axes, VARIANCES, strict=True):
        for method in INTERVALS:
            xs, ys = [], []
            for k, (readers, items) in enumerate(product(READERS, ITEMS)):
                row = rows[(readers, items, variance)]
                covered, total, _ = row[method]
                if total:
                    xs.append(k)
                    ys.append(100 * covered / total)
            axis.plot(xs, ys, marker="o", label=labels[method])
        axis.axhspan(93, 97, color="grey", alpha=0.2)
        axis.axhline(95, color="black", linewidth=0.8)
        axis.set_title(f"variance: {variance}")
        axis.set_xticks(range(len(READERS) * len(ITEMS)))
        axis.set_xticklabels([f"{r}x{i}" for r, i in product(READERS, ITEMS)], rotation=90, fontsize=7)
        axis.set_ylim(20, 100)
    axes[0].set_ylabel("coverage of the 95% CI (%)")
    axes[0].legend(fontsize=7, loc="lower left")
    figure.supxlabel("readers x items")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=50, help="simulated studies per design")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from the CSV in --out")
    options = parser.parse_args()
    if options.plot_only:
        rows = {}
        with (options.out / "statistics_coverage.csv").open() as handle:
            for line in csv.DictReader(handle):
                key = (int(line["readers"]), int(line["items"]), line["variance"])
                counts = (int(line["covered"]), int(line["intervals"]), int(line["no_interval"]))
                rows.setdefault(key, {})[line["method"]] = counts
        plot(rows, options.out / "statistics_coverage.png")
        return
    cells = list(product(READERS, ITEMS, VARIANCES))
    tasks = [(r, i, v, options.studies, options.seed + k) for k, (r, i, v) in enumerate(cells)]
    started = time.perf_counter()
    if options.workers > 1:
        with multiprocessing.Pool(options.workers) as pool:
            results = pool.map(run_cell, tasks, chunksize=1)
    else:
        results = [run_cell(task) for task in tasks]
    elapsed = time.perf_counter() - started
    rows = {(r, i, v): counts for r, i, v, _, counts in results}
    with (options.out / "statistics_coverage.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "readers",
                "items",
                "variance",
                "reader_sd",
                "case_sd",
                "studies",
                "method",
                "covered",
                "intervals",
                "no_interval",
                "coverage",
            ]
        )
        for r, i, v, studies, counts in results:
            for method, (covered, total, missing) in counts.items():
                coverage = f"{covered / total:.4f}" if total else ""
                writer.writerow([r, i, v, *VARIANCES[v], studies, method, covered, total, missing, coverage])
    plot(rows, options.out / "statistics_coverage.png")
    total_studies = options.studies * len(cells)
    print(f"{total_studies} studies, {len(cells)} designs, seed {options.seed}, {elapsed:.0f} s\n")
    print("| variance (reader SD, case SD) | " + " | ".join(INTERVALS) + " |")
    print("|---|" + "---|" * len(INTERVALS))
    for v in VARIANCES:
        cells_v = [rows[(r, i, v)] for r, i in product(READERS, ITEMS)]
        parts = []
        for method in INTERVALS:
            covered = sum(cell[method][0] for cell in cells_v)
            total = sum(cell[method][1] for cell in cells_v)
            missing = sum(cell[method][2] for cell in cells_v)
            parts.append(f"{100 * covered / total:.1f}%" + (f" ({missing} none)" if missing else ""))
        print(f"| {v} {VARIANCES[v]} | " + " | ".join(parts) + " |")
    print("\nPer design (readers x items):\n")
    print("| variance | readers | items | " + " | ".join(INTERVALS) + " |")
    print("|---|---|---|" + "---|" * len(INTERVALS))
    for v in VARIANCES:
        for r, i in product(READERS, ITEMS):
            cell = rows[(r, i, v)]
            parts = [f"{100 * cell[m][0] / cell[m][1]:.0f}" if cell[m][1] else "-" for m in INTERVALS]
            print(f"| {v} | {r} | {i} | " + " | ".join(parts) + " |")


if __name__ == "__main__":
    main()
