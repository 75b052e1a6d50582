"""Coverage of the 95% confidence intervals of reader accuracy, by simulation.

Simulates reader studies with reader and case random effects (:func:`readerstats.simulate.simulate_answers`,
logit-normal, conditional accuracy 0.65, half real and half synthetic items) over a grid of designs and records how
often each interval covers its target: the pooled Wilson interval, the reader-clustered GEE, the OR RRRC
single-modality interval (targets: the marginal accuracy) and the Laplace GLMM (target: the conditional accuracy).

    nice .venv/bin/python benchmarks/coverage.py --studies 50 --seed 20261203 --workers 2

writes statistics_coverage.csv and statistics_coverage.png under ``--out`` (default var/coverage/; the published
copies in docs/ are written only when ``--out docs`` is given on purpose) and prints a Markdown table
(``--plot-only`` redraws the plot from the CSV).

``--design split-plot`` measures instead the comparison of two models in the split-plot design (each model its own
reader panel, each its own real and synthetic items; :func:`readerstats.simulate.simulate_panels`, reader SD 0.5 and
item SD 0.8 on the logit scale, the planning defaults): for 4, 8 and 12 readers per panel and 20, 60 and 100 items
per model, the type I error at 5% and the coverage of the 95% CI of the difference when both models have accuracy
0.65, and the power when the second model's conditional accuracy is 5 or 10 points higher; for the GLMM comparison
(:func:`readerstats.model_comparison.compare_models`, target: the difference in conditional accuracy) and the
split-plot OR analysis (:func:`readerstats.mrmc.or_split_plot`, target: the difference in marginal accuracy).

    nice .venv/bin/python benchmarks/coverage.py --design split-plot --studies 100 --power-studies 25 --workers 2

writes split_plot_coverage.csv and split_plot_coverage.png under ``--out``.
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

from readerstats.model_comparison import compare_models  # noqa: E402
from readerstats.mrmc import or_split_plot  # noqa: E402
from readerstats.simulate import (  # noqa: E402
    INTERVALS,
    interval_coverage,
    marginal_accuracy,
    simulate_answers,
    simulate_panels,
)

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


def run_cells(run, tasks, workers: int) -> list:
    """``run`` over every task: in a pool of ``workers`` processes, or in this one."""
    if workers > 1:
        with multiprocessing.Pool(workers) as pool:
            return pool.map(run, tasks, chunksize=1)
    return [run(task) for task in tasks]


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


# --------------------------------------------------------------------------------------------------
# Two models in the split-plot design

PANEL_READERS = (4, 8, 12)
PANEL_ITEMS = (20, 60, 100)
PANEL_SDS = (0.5, 0.8)
"""(reader SD, item SD) on the logit scale."""
BASE_ACCURACY = 0.65
EFFECTS = (0.0, 0.05, 0.10)
"""Conditional accuracy of the second model minus the first's; 0 measures type I error and coverage."""
SPLIT_METHODS = ("glmm", "or_split_plot")


def run_split_cell(args):
    readers, items, effect, studies, seed = args
    rng = np.random.default_rng(seed)
    reader_sd, case_sd = PANEL_SDS
    accuracies = (BASE_ACCURACY, BASE_ACCURACY + effect)
    targets = {
        "glmm": 100 * (accuracies[0] - accuracies[1]),
        "or_split_plot": marginal_accuracy(accuracies[0], reader_sd, case_sd)
        - marginal_accuracy(accuracies[1], reader_sd, case_sd),
    }
    counts = {method: {"rejected": 0, "covered": 0, "studies": 0, "none": 0} for method in SPLIT_METHODS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(studies):
            study = simulate_panels(
                rng, readers=readers, items=items, accuracies=accuracies, reader_sd=reader_sd, case_sd=case_sd
            )
            correct = (study.truth == study.answer).astype(float)
            glmm = compare_models(correct, study.reader, study.item, study.model, omnibus=False)
            split = or_split_plot(study.reader, study.model, study.item, study.truth, study.answer)
            results = {
                "glmm": glmm.differences[0] if glmm.estimable else None,
                "or_split_plot": split.differences[0] if split.estimable else None,
            }
            for method, difference in results.items():
                cell = counts[method]
                if difference is None or difference.ci_low is None:
                    cell["none"] += 1
                    continue
                cell["studies"] += 1
                cell["rejected"] += difference.p_value < 0.05
                cell["covered"] += difference.ci_low <= targets[method] <= difference.ci_high
    return readers, items, effect, studies, counts


def plot_split(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    designs = list(product(PANEL_READERS, PANEL_ITEMS))
    labels = [f"{r}x{i}" for r, i in designs]
    names = {"glmm": "GLMM (Satterthwaite / between-within df)", "or_split_plot": "OR split-plot (Hillis df)"}
    panels = (
        ("type I error at 5% (%)", 0.0, "rejected", (3.5, 6.5)),
        ("coverage of the 95% CI (%)", 0.0, "covered", (93, 97)),
        ("power, +10 points (%)", 0.10, "rejected", None),
    )
    for axis, (title, effect, key, band) in zip(axes, panels, strict=True):
        for method in SPLIT_METHODS:
            values = []
            for readers, items in designs:
                cell = rows[(readers, items, effect)][method]
                values.append(100 * cell[key] / cell["studies"] if cell["studies"] else np.nan)
            axis.plot(range(len(designs)), values, marker="o", label=names[method])
        if band:
            axis.axhspan(*band, color="grey", alpha=0.2)
        axis.set_title(title)
        axis.set_xticks(range(len(designs)))
        axis.set_xticklabels(labels, rotation=90, fontsize=8)
    axes[0].legend(fontsize=8)
    figure.supxlabel("readers per panel x items per model")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def split_plot_main(options):
    if options.plot_only:
        rows = {}
        with (options.out / "split_plot_coverage.csv").open() as handle:
            for line in csv.DictReader(handle):
                key = (int(line["readers_per_panel"]), int(line["items_per_model"]), float(line["effect"]))
                rows.setdefault(key, {})[line["method"]] = {
                    name: int(line[name]) for name in ("studies", "rejected", "covered", "none")
                }
        plot_split(rows, options.out / "split_plot_coverage.png")
        return
    cells = [(r, i, e) for e in EFFECTS for r, i in product(PANEL_READERS, PANEL_ITEMS)]
    tasks = [
        (r, i, e, options.studies if e == 0 else options.power_studies, options.seed + k)
        for k, (r, i, e) in enumerate(cells)
    ]
    started = time.perf_counter()
    results = run_cells(run_split_cell, tasks, options.workers)
    elapsed = time.perf_counter() - started
    rows = {(r, i, e): counts for r, i, e, _, counts in results}
    with (options.out / "split_plot_coverage.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "readers_per_panel",
                "items_per_model",
                "effect",
                "method",
                "studies",
                "rejected",
                "covered",
                "none",
            ]
        )
        for r, i, e, _, counts in results:
            for method, cell in counts.items():
                writer.writerow(
                    [r, i, e, method, cell["studies"], cell["rejected"], cell["covered"], cell["none"]]
                )
    plot_split(rows, options.out / "split_plot_coverage.png")
    total = sum(task[3] for task in tasks)
    print(f"{total} studies, {len(cells)} cells, seed {options.seed}, {elapsed:.0f} s\n")

    def share(cells_, key):
        studies = sum(cell["studies"] for cell in cells_)
        return f"{100 * sum(cell[key] for cell in cells_) / studies:.1f}%" if studies else "-"

    print(
        "| readers per panel | items per model | "
        + " | ".join(f"{m} type I | {m} coverage" for m in SPLIT_METHODS)
        + " |"
    )
    print("|---|---|" + "---|---|" * len(SPLIT_METHODS))
    for r, i in product(PANEL_READERS, PANEL_ITEMS):
        cell = rows[(r, i, 0.0)]
        parts = [f"{share([cell[m]], 'rejected')} | {share([cell[m]], 'covered')}" for m in SPLIT_METHODS]
        print(f"| {r} | {i} | " + " | ".join(parts) + " |")
    null_cells = [rows[(r, i, 0.0)] for r, i in product(PANEL_READERS, PANEL_ITEMS)]
    parts = [
        f"{share([c[m] for c in null_cells], 'rejected')} | {share([c[m] for c in null_cells], 'covered')}"
        for m in SPLIT_METHODS
    ]
    print("| all | all | " + " | ".join(parts) + " |")
    print("\nPower (and coverage) at +5 and +10 points:\n")
    print(
        "| readers per panel | items per model | "
        + " | ".join(f"{m} +{int(100 * e)}" for e in EFFECTS[1:] for m in SPLIT_METHODS)
        + " |"
    )
    print("|---|---|" + "---|" * (len(EFFECTS) - 1) * len(SPLIT_METHODS))
    for r, i in product(PANEL_READERS, PANEL_ITEMS):
        parts = [
            f"{share([rows[(r, i, e)][m]], 'rejected')} ({share([rows[(r, i, e)][m]], 'covered')})"
            for e in EFFECTS[1:]
            for m in SPLIT_METHODS
        ]
        print(f"| {r} | {i} | " + " | ".join(parts) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", choices=("single", "split-plot"), default="single")
    parser.add_argument("--power-studies", type=int, default=25, help="split-plot: studies per power cell")
    parser.add_argument("--studies", type=int, default=50, help="simulated studies per design")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "var" / "coverage", help="folder for the CSV and plot"
    )
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from the CSV in --out")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    if options.design == "split-plot":
        split_plot_main(options)
        return
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
    results = run_cells(run_cell, tasks, options.workers)
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
