"""Datasets shipped with readerstats, for examples and checks.

- Van Dyke et al. (1993): 5 radiologists read 114 cases (45 diseased) in two modalities (cine MRI and spin-echo MRI)
  and rated each on a 5-point scale; the classic MRMC example, whose OR-DBM MRMC 2.51 output is in
  ``tests/reference/vandyke_expected.json``. Columns ``reader, modality, case, truth, rating`` (truth 1 = diseased).
"""

from __future__ import annotations

import csv
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "tests" / "reference"


def vandyke_path() -> Path:
    """The Van Dyke readings as a CSV file (``python -m readerstats or PATH --fom auc --positive 1``)."""
    return REFERENCE / "vandyke.csv"


def read_vandyke() -> dict[str, list[int]]:
    """The Van Dyke readings as columns of integers: reader, modality, case, truth, rating."""
    with vandyke_path().open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        name: [int(row[name]) for row in rows] for name in ("reader", "modality", "case", "truth", "rating")
    }
