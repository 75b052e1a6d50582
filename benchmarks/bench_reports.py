"""Time the reader-study statistics and the full PDF report at 100 readers x 200 items.

Synthetic answers are made in memory (seeded): the 200 items split into four surveys of 50 (25 real, 25 synthetic;
``--surveys 1`` for one survey of 200), every one of the 100 readers answering every item (20,000 answers), about
5% indeterminable, a 5-point confidence rating on every answer (1 = certainly real .. 5 = certainly synthetic,
consistent with the answer: 1-2 for "real", 3 for "indeterminable", 4-5 for "synthetic"), a reason on about a third
of the answers, and stored-like metric results (every metric, ten layers and the mean, with spectra) for one model
per survey. Stages are timed separately and together; the report content includes the MRMC section (OR accuracy,
OR AUC from the ratings, ROC curves, the crossed GLMM, and with several surveys the OR comparison), timed on its own
too; the PDF stage includes rendering every figure (the ROC curves among them).

    taskset -c 0,1 .venv/bin/python benchmarks/bench_reports.py             # the 2-core figures
    taskset -c 0,1 .venv/bin/python benchmarks/bench_reports.py --surveys 1 --repeat 5

Writes the PDF to var/bench/report.pdf so that it can be looked at.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metrics.measures.layerwise import AVERAGE_LAYER, LAYERS, METRICS  # noqa: E402
from readerstats import study_report  # noqa: E402
from reports.content.exports import AnswerRow, MetricRow, answer_table, answers_csv  # noqa: E402
from reports.content.pdf import report_pdf  # noqa: E402
from reports.content.report import SurveyInfo, build_report  # noqa: E402
from reports.content.report_mrmc import mrmc_section  # noqa: E402

READERS = 100
ITEMS = 200
REASONS = (
    "costal asymmetry",
    "hyperdense kidneys",
    "unclear delineation between muscles",
    "spleen morphology not realistic",
    "vessels poorly defined",
    "looks like a normal scan",
    "noise texture too uniform",
    "liver contour irregular",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def synthetic_answers(surveys: int = 4, seed: int = 0) -> tuple[list[AnswerRow], list[SurveyInfo]]:
    rng = np.random.default_rng(seed)
    per_survey = ITEMS // surveys
    surveys = [
        SurveyInfo(
            f"Survey {index + 1}",
            f"Model {index + 1}",
            f"Synthetic CT {index + 1}",
            "Real CT",
            "closed",
            per_survey,
            READERS,
        )
        for index in range(surveys)
    ]
    started = datetime(2024, 5, 1, tzinfo=UTC)
    skill = rng.normal(0.55, 0.05, READERS)
    rows = []
    for survey_index, survey in enumerate(surveys):
        for item in range(per_survey):
            truth = "real" if item < per_survey // 2 else "synthetic"
            layer = int(rng.integers(1, 11))
            for reader in range(READERS):
                draw = rng.random()
                if draw < 0.05:
                    answer = "indeterminable"
                elif rng.random() < skill[reader] + 0.02 * survey_index:
                    answer = truth
                else:
                    answer = "synthetic" if truth == "real" else "real"
                step = int(rng.random() < 0.5)
                rating = {"real": 2 - step, "indeterminable": 3, "synthetic": 4 + step}[answer]
                reason = REASONS[int(rng.integers(len(REASONS)))] if rng.random() < 0.33 else ""
                rows.append(
                    AnswerRow(
                        survey=survey.name,
                        model_alias=survey.model_alias,
                        model=survey.model,
                        reader=f"R-{reader:03d}",
                        reader_specialty="radiation_oncology",
                        reader_years_of_experience=int(rng.integers(1, 30)),
                        item=f"item-{survey_index}-{item:03d}",
                        truth=truth,
                        answer=answer,
                        reason=reason,
                        seconds_on_slice=float(rng.gamma(2.0, 6.0)),
                        window_width=400.0,
                        window_level=40.0,
                        window_changed=bool(rng.random() < 0.2),
                        zoom=1.0,
                        axial_layer=layer,
                        revisions=1,
                        answered_at=started + timedelta(seconds=int(rng.integers(0, 86400 * 30))),
                        rating_scale="five_point",
                        rating=rating,
                    )
                )
    return rows, surveys


def synthetic_metric_rows(models: int = 4, seed: int = 0) -> list[MetricRow]:
    rng = np.random.default_rng(seed)
    radius = np.arange(363)
    spectrum = 9.0 - 1.2 * np.log1p(radius)
    rows = []
    for model in range(models):
        for layer in (*LAYERS, AVERAGE_LAYER):
            for metric in METRICS:
                baseline = float(rng.uniform(0.5, 1.5))
                value = baseline * float(rng.uniform(0.8, 2.0))
                detail = {}
                if metric == "spectral_score":
                    detail = {
                        name: list(spectrum + rng.normal(0, 0.05, spectrum.size))
                        for name in ("reference_spectrum", "held_out_spectrum", "synthetic_spectrum")
                    }
                rows.append(
                    MetricRow(
                        f"Synthetic CT {model + 1}",
                        "Real CT",
                        layer,
                        metric,
                        value,
                        baseline,
                        value / baseline,
                        40,
                        40,
                        40,
                        detail=detail,
                    )
                )
    return rows


def timed(function, repeat: int):
    """Run ``function`` ``repeat`` times; wall-clock and CPU seconds (this process, all threads) of each run.

    On a shared machine the wall clock includes waiting for a core; the CPU time does not, and for this
    mostly single-threaded work it is what the wall clock would be on idle cores.
    """
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return result, (wall, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--surveys", type=int, default=4, help="Split the 200 items into this many surveys")
    parser.add_argument("--out", default="var/bench/report.pdf")
    args = parser.parse_args()

    rows, surveys = synthetic_answers(args.surveys)
    metric_rows = synthetic_metric_rows(args.surveys)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import matplotlib
    import reportlab
    import scipy
    import statsmodels

    print(f"CPU: {cpu_model()}; cores available to this process: {cores}; load average {load_average()}")
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, statsmodels "
        f"{statsmodels.__version__}, matplotlib {matplotlib.__version__}, reportlab {reportlab.Version}"
    )
    print(f"{READERS} readers x {ITEMS} items = {len(rows)} answers in {len(surveys)} survey(s)")

    _, stats_seconds = timed(lambda: study_report(answer_table(rows)), args.repeat)
    names = [survey.name for survey in surveys]
    section, mrmc_seconds = timed(lambda: mrmc_section(rows, names), args.repeat)
    for entry in section.surveys:
        auc = entry.auc_estimate
        print(
            f"  {entry.survey}: accuracy {entry.accuracy.estimate:.3f}, AUC {auc.estimate:.3f}, "
            f"GLMM {entry.glmm.accuracy:.3f}"
        )
    report, build_seconds = timed(lambda: build_report(rows, surveys, metric_rows), args.repeat)
    pdf, pdf_seconds = timed(lambda: report_pdf(report), args.repeat)
    _, total_seconds = timed(lambda: report_pdf(build_report(rows, surveys, metric_rows)), args.repeat)
    _, csv_seconds = timed(lambda: answers_csv(rows), args.repeat)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)

    def line(name, seconds):
        wall, cpu = seconds
        print(
            f"{name:<38} wall median {statistics.median(wall):5.2f} s (min {min(wall):.2f}, max {max(wall):.2f}); "
            f"CPU median {statistics.median(cpu):5.2f} s"
        )

    line("statistics (study_report)", stats_seconds)
    line("MRMC section (OR acc + AUC, ROC, GLMM)", mrmc_seconds)
    line("report content (statistics + tables)", build_seconds)
    line("PDF (figures + layout)", pdf_seconds)
    line("statistics + PDF together", total_seconds)
    line("answers CSV", csv_seconds)
    print(f"PDF: {len(pdf) / 1e6:.2f} MB written to {out}")


if __name__ == "__main__":
    main()
