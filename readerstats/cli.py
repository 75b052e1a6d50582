"""``python -m readerstats ANALYSIS readings.csv``: the reader-study analyses on a CSV of readings.

One row per reading, with a header. Columns (case-insensitive, surrounding spaces ignored):

- ``reader``: the reader's id;
- ``modality`` (or ``model`` or ``survey``): what is compared; optional for ``glmm`` (one modality);
- ``case`` (or ``item``): the case's id;
- ``truth``: the case's truth (``real``/``synthetic``, or any two values with ``--positive``);
- ``answer``: the reader's answer (``real``/``synthetic``/``indeterminable``) for the proportion figures of merit,
  the GLMM and the model comparison (these two also take a ``correct`` column of 0/1 instead); ``rating`` (a number, higher = more confident of ``--positive``) for
  ``--fom auc``. An empty cell is a reading without an answer.

Analyses: ``or`` (Obuchowski-Rockette, readers crossed with modalities), ``split-plot`` (OR with each modality its
own readers), ``dbm`` (Dorfman-Berbaum-Metz), ``glmm`` (accuracy of each modality from the logistic GLMM),
``compare`` (GLMM comparison of the modalities: omnibus likelihood ratio and pairwise differences). ``--json``
prints the whole result as JSON. Bad input stops with one line on standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path

from readerstats.core import ANSWERS, INDETERMINABLE, SYNTHETIC, TRUTHS, format_p
from readerstats.dbm import dbm_analysis
from readerstats.glmm import glmm_accuracy
from readerstats.model_comparison import compare_models
from readerstats.mrmc import FOMS, or_analysis, or_split_plot

ANALYSES = ("or", "split-plot", "dbm", "glmm", "compare")
ALIASES = {"modality": ("modality", "model", "survey"), "case": ("case", "item")}
MAX_BYTES = 512 * 1024 * 1024
"""Larger files are refused before they are read (about 10 million readings)."""


class InputError(Exception):
    """Bad input, said in one line."""


def read_readings(
    path: Path, *, score: str, need_modality: bool, proportion_fom: bool = False, vocabulary: bool = False
) -> dict:
    """The columns of a readings CSV as lists (reader, modality, case, truth, score)."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a CSV file")
    if size > MAX_BYTES:
        raise InputError(
            f"{path} is {size / 1e6:.0f} MB; readings files up to {MAX_BYTES // 2**20} MiB are read"
        )
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise InputError(f"{path} is not a text CSV file (it holds NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path} is empty: a header row and one row per reading are needed") from None
    except csv.Error as error:
        raise InputError(f"{path}: the header is not valid CSV ({error})") from None
    names = [name.strip().lower() for name in header]
    wanted = {
        "reader": ("reader",),
        "modality": ALIASES["modality"],
        "case": ALIASES["case"],
        "truth": ("truth",),
    }
    if score == "answer" and "answer" not in names and "correct" in names and not proportion_fom:
        score = "correct"
    wanted[score] = (score,)
    index = {}
    for key, options in wanted.items():
        found = [names.index(option) for option in options if option in names]
        if found:
            index[key] = found[0]
        elif key != "modality" or need_modality:
            choices = " or ".join(repr(option) for option in options)
            raise InputError(f"{path} has no {choices} column (its columns: {', '.join(header) or 'none'})")
    columns: dict = {key: [] for key in ("reader", "modality", "case", "truth", "score")}
    try:
        for number, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InputError(f"{path} line {number} has {len(row)} fields, the header has {len(header)}")
            cells = {key: row[k].strip() for key, k in index.items()}
            for key in ("reader", "case", "truth"):
                if not cells[key]:
                    raise InputError(f"{path} line {number}: the {key} is empty")
            value = cells[score]
            value = _number(value, path, number) if score in ("rating", "correct") else value.lower() or None
            if vocabulary and score == "answer":
                if cells["truth"].lower() not in TRUTHS:
                    raise InputError(
                        f"{path} line {number}: truth must be one of {TRUTHS}, not {cells['truth']!r}"
                    )
                if value is not None and value not in ANSWERS:
                    raise InputError(
                        f"{path} line {number}: answer must be one of {ANSWERS}, not {cells[score]!r}"
                    )
            if score == "correct" and value not in (None, 0.0, 1.0):
                raise InputError(f"{path} line {number}: correct must be 0 or 1, not {cells[score]!r}")
            columns["reader"].append(cells["reader"])
            columns["modality"].append(cells.get("modality", "all"))
            columns["case"].append(cells["case"])
            columns["truth"].append(cells["truth"].lower() if score == "answer" else cells["truth"])
            columns["score"].append(value)
            columns["scored_as"] = score
    except csv.Error as error:
        raise InputError(f"{path} is not valid CSV ({error})") from None
    if not columns["reader"]:
        raise InputError(f"{path} has a header but no readings")
    return columns


def _number(value: str, path: Path, number: int) -> float | None:
    if not value:
        return None
    try:
        result = float(value)
    except ValueError:
        raise InputError(f"{path} line {number}: the rating {value!r} is not a number") from None
    if not math.isfinite(result):
        raise InputError(f"{path} line {number}: the rating {value!r} is not a finite number")
    return result


def _correct(columns, indeterminable: str) -> list:
    if columns.get("scored_as") == "correct":
        return list(columns["score"])
    result = []
    for truth, answer in zip(columns["truth"], columns["score"], strict=True):
        if answer is None or (answer == INDETERMINABLE and indeterminable == "exclude"):
            result.append(None)
        else:
            result.append(1.0 if answer == truth else 0.0)
    return result


def _interval(low, high) -> str:
    return "n/a" if low is None else f"({low:.4f}, {high:.4f})"


def _summary(analysis: str, result) -> list[str]:
    lines = [result.method if hasattr(result, "method") else ""]
    if not getattr(result, "estimable", True):
        return [*lines, result.reason]
    if analysis in ("or", "dbm", "split-plot"):
        lines.append(f"figure of merit: {result.fom_label}")
        for modality, mean in zip(result.modalities, result.modality_means, strict=True):
            lines.append(f"  {modality}: {mean:.4f}")
        tests = (
            [("RRRC", result)] if analysis == "split-plot" else [("RRRC", result.rrrc), ("FRRC", result.frrc)]
        )
        if analysis != "split-plot":
            tests.append(("RRFC", result.rrfc))
        for name, test in tests:
            if test is None:
                continue
            if not test.estimable:
                lines.append(f"{name}: {test.reason}")
                continue
            ddf = "inf" if test.ddf is None else f"{test.ddf:.2f}"
            lines.append(
                f"{name}: statistic {test.statistic:.4f} on {test.ndf} and {ddf} df, p {format_p(test.p_value)}"
            )
            for d in test.differences:
                lines.append(
                    f"  {d.modality_a} - {d.modality_b}: {d.estimate:+.5f} (SE {d.stderr or math.nan:.5f}), "
                    f"CI {_interval(d.ci_low, d.ci_high)}, p {format_p(d.p_value)}"
                )
        return lines
    if analysis == "glmm":
        for modality, accuracy in result:
            if not accuracy.estimable:
                lines.append(f"{modality}: {accuracy.reason}")
                continue
            lines.append(
                f"{modality}: accuracy {accuracy.accuracy:.4f}, CI {_interval(accuracy.ci_low, accuracy.ci_high)}, "
                f"p {format_p(accuracy.p_value)} (against 50%), reader variance {accuracy.reader_variance:.4f}, "
                f"item variance {accuracy.item_variance:.4f}"
            )
        return lines[1:]
    lines.append(f"design: {result.design}" + (f"; {result.real_items}" if result.real_items else ""))
    for accuracy in result.accuracies:
        lines.append(
            f"  {accuracy.model}: accuracy {accuracy.accuracy:.4f}, CI {_interval(accuracy.ci_low, accuracy.ci_high)}"
        )
    if result.omnibus is not None:
        lines.append(
            f"omnibus likelihood ratio: chi-squared {result.omnibus.statistic:.4f} on {result.omnibus.df} df, "
            f"p {format_p(result.omnibus.p_value)}"
        )
    for d in result.differences:
        lines.append(
            f"  {d.model_a} - {d.model_b}: {d.difference:+.2f} points (SE {d.stderr:.2f}), simultaneous CI "
            f"({d.ci_low:+.2f}, {d.ci_high:+.2f}), p {format_p(d.p_value)}, Holm p {format_p(d.holm_p_value)}"
        )
    return lines


def run(options) -> tuple[object, list[str]]:
    score = "rating" if options.fom == "auc" else "answer"
    if options.analysis in ("glmm", "compare") and options.fom != "accuracy":
        raise InputError(
            f"the {options.analysis} analysis uses accuracy; --fom {options.fom} is for or, split-plot and dbm"
        )
    need_modality = options.analysis != "glmm"
    columns = read_readings(
        options.csv,
        score=score,
        need_modality=need_modality,
        proportion_fom=options.analysis in ("or", "dbm", "split-plot"),
        vocabulary=options.analysis in ("glmm", "compare"),
    )
    common = dict(fom=options.fom, positive=options.positive, confidence=options.confidence)
    if options.analysis in ("or", "dbm", "split-plot"):
        function = {"or": or_analysis, "dbm": dbm_analysis, "split-plot": or_split_plot}[options.analysis]
        result = function(
            columns["reader"], columns["modality"], columns["case"], columns["truth"], columns["score"],
            indeterminable=options.indeterminable, **common,
        )  # fmt: skip
    elif options.analysis == "glmm":
        correct = _correct(columns, options.indeterminable)
        result = []
        for modality in sorted(set(columns["modality"])):
            rows = [k for k, m in enumerate(columns["modality"]) if m == modality]
            result.append(
                (
                    modality,
                    glmm_accuracy(
                        [correct[k] for k in rows],
                        [columns["reader"][k] for k in rows],
                        [columns["case"][k] for k in rows],
                        confidence=options.confidence,
                    ),
                )
            )
    else:
        result = compare_models(
            _correct(columns, options.indeterminable),
            columns["reader"],
            columns["case"],
            columns["modality"],
            truth=columns["truth"],
            confidence=options.confidence,
        )
    return result, _summary(options.analysis, result)


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="python -m readerstats",
        description="The reader-study analyses on a CSV of readings.",
        epilog="\n\n".join(__doc__.split("\n\n")[1:]).replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("analysis", choices=ANALYSES)
    command.add_argument("csv", type=Path, help="readings, one row per reading (columns below)")
    command.add_argument("--fom", choices=FOMS, default="accuracy", help="figure of merit (default accuracy)")
    command.add_argument(
        "--positive", default=SYNTHETIC, help="the truth value of a positive case (default synthetic)"
    )
    command.add_argument(
        "--indeterminable",
        choices=("exclude", "wrong"),
        default="exclude",
        help="how indeterminable answers count",
    )
    command.add_argument("--confidence", type=float, default=0.95)
    command.add_argument("--json", action="store_true", help="print the whole result as JSON")
    return command


def main(argv=None) -> int:
    options = parser().parse_args(argv)
    try:
        result, lines = run(options)
    except (InputError, ValueError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"readerstats: error: {message}", file=sys.stderr)
        return 2
    if options.json:
        if isinstance(result, list):
            payload = {str(modality): accuracy.to_dict() for modality, accuracy in result}
        else:
            payload = result.to_dict()
        print(json.dumps(payload, indent=2))
    else:
        print("\n".join(line for line in lines if line))
    return 0
