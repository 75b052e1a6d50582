"""Chi-squared tests of independence with exact and permutation fallbacks (the paper's Table 3), their hypotheses in words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from readerstats.core import (
    _PERMUTATION_CHUNK_CELLS,
    ALPHA,
    ANSWERS,
    MIN_EXPECTED_COUNT,
    PERMUTATION_RESAMPLES,
    PERMUTATION_SEED,
    TRUTHS,
    _fmt_p,
    _Result,
)

# --------------------------------------------------------------------------------------------------
# Table 3: chi-squared tests with exact fallbacks and Holm adjustment


@dataclass(frozen=True)
class Hypothesis:
    """What a contingency test's H0 says, and what rejecting or keeping it means in words."""

    null: str
    reject: str
    retain: str


TRUTH_VS_ANSWER = Hypothesis(
    null=(
        "H0: the answer is independent of the truth (readers cannot tell real from synthetic); "
        "a small p rejects H0, i.e. readers CAN tell"
    ),
    reject="readers CAN tell real from synthetic (the answers depend on the truth)",
    retain=(
        "no evidence that readers distinguish real from synthetic; a large p is not evidence that they "
        "cannot (see the equivalence test)"
    ),
)


def surveys_hypothesis(subject: str) -> Hypothesis:
    """H0 for a survey x answer table: both surveys share one distribution of ``subject``."""
    return Hypothesis(
        null=f"H0: the distribution of {subject} is the same in both surveys; a small p rejects H0",
        reject=f"the surveys differ in {subject}",
        retain=(
            f"no evidence that the surveys differ in {subject}; a large p is not evidence that they are alike"
        ),
    )


@dataclass(frozen=True)
class ContingencyTest(_Result):
    """Pearson chi-squared test of independence on an r x c table, with an exact test beside it when needed.

    ``observed``/``expected`` and the labels describe the table after all-zero rows and columns were dropped
    (listed in ``dropped_rows``/``dropped_columns``). ``exact_p_value`` is Fisher's exact test (2x2) or a
    Monte Carlo permutation test (larger tables), computed when an expected count is under 5.
    ``decisive_p_value`` is the exact p when there is one, else the chi-squared p; after
    :func:`holm_adjust_tests` the decision uses ``holm_p_value`` instead. ``p_value`` is ``None`` (with
    ``reason``) when fewer than two rows or columns remain.
    """

    label: str
    kind: str
    row_variable: str
    column_variable: str
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    observed: tuple[tuple[int, ...], ...]
    expected: tuple[tuple[float, ...], ...] | None
    dropped_rows: tuple[str, ...]
    dropped_columns: tuple[str, ...]
    statistic: float | None
    dof: int | None
    p_value: float | None
    yates_correction: bool
    min_expected: float | None
    exact_test: str | None
    exact_p_value: float | None
    resamples: int | None
    seed: int | None
    decisive_p_value: float | None
    alpha: float
    rejects_null: bool | None
    null_hypothesis: str
    conclusion: str
    method: str
    notes: tuple[str, ...] = ()
    reason: str | None = None
    holm_p_value: float | None = None
    holm_family: str | None = None
    # Kept so the conclusion can be restated after a Holm adjustment; not part of the serialised result.
    hypothesis: Hypothesis | None = field(
        default=None, repr=False, compare=False, metadata={"serialise": False}
    )


def pearson_chi_squared(
    observed: np.ndarray, *, correction: bool = True
) -> tuple[float, int, float, np.ndarray]:
    """Pearson's chi-squared statistic, degrees of freedom, p-value and expected counts of a table.

    Requires every row and column sum to be positive. With ``correction`` and 1 degree of freedom, Yates'
    correction moves each observed count toward its expected count by 0.5 (or by less, if closer), as
    ``scipy.stats.chi2_contingency`` does.
    """
    observed = np.asarray(observed, dtype=float)
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    if dof == 0:
        return 0.0, 0, 1.0, expected
    difference = observed - expected
    if correction and dof == 1:
        difference = np.sign(difference) * np.maximum(np.abs(difference) - 0.5, 0.0)
    statistic = float((difference * difference / expected).sum())
    return statistic, dof, float(stats.chi2.sf(statistic, dof)), expected


def permutation_test_p_value(
    observed: np.ndarray, *, n_resamples: int = PERMUTATION_RESAMPLES, seed: int | None = PERMUTATION_SEED
) -> float:
    """Monte Carlo permutation p-value of Pearson's chi-squared statistic for an r x c table of counts.

    The table is expanded into one (row, column) pair per count; the column labels are shuffled against the
    row labels, which keeps both margins fixed (the reference distribution of Fisher's exact test). With k of
    the ``n_resamples`` shuffled tables having a statistic at least the observed one, p = (k + 1) /
    (n_resamples + 1). Requires every row and column sum to be positive.
    """
    observed = np.asarray(observed, dtype=np.int64)
    rows, columns = observed.shape
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    observed_statistic = float(((observed - expected) ** 2 / expected).sum())
    row_codes = np.repeat(np.arange(rows), observed.sum(axis=1))
    column_codes = np.concatenate([np.repeat(np.arange(columns), observed[row]) for row in range(rows)])
    answers = column_codes.size
    cells = rows * columns
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _PERMUTATION_CHUNK_CELLS // max(answers, 1)))
    # Ties (equal statistics) must count as "at least as extreme" despite rounding.
    threshold = observed_statistic - 1e-9 * max(1.0, observed_statistic)
    at_least_as_extreme = 0
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        shuffled = rng.permuted(np.tile(column_codes, (size, 1)), axis=1)
        cell_index = row_codes * columns + shuffled + (np.arange(size) * cells)[:, None]
        tables = np.bincount(cell_index.ravel(), minlength=size * cells).reshape(size, rows, columns)
        statistics = ((tables - expected) ** 2 / expected).sum(axis=(1, 2))
        at_least_as_extreme += int(np.count_nonzero(statistics >= threshold))
    return (at_least_as_extreme + 1) / (n_resamples + 1)


def _decide(
    p_value: float | None, alpha: float, hypothesis: Hypothesis, *, which: str
) -> tuple[bool | None, str]:
    if p_value is None:
        return None, "no test possible"
    if p_value < alpha:
        return True, f"{which} p = {_fmt_p(p_value)} < {alpha:g}: H0 rejected; {hypothesis.reject}."
    return False, f"{which} p = {_fmt_p(p_value)} >= {alpha:g}: H0 not rejected; {hypothesis.retain}."


def independence_test(
    observed,
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    row_variable: str,
    column_variable: str,
    hypothesis: Hypothesis,
    label: str = "",
    kind: str = "",
    alpha: float = ALPHA,
    n_resamples: int = PERMUTATION_RESAMPLES,
    seed: int | None = PERMUTATION_SEED,
) -> ContingencyTest:
    """Chi-squared test of independence of the rows and columns of a table of counts.

    All-zero rows and columns are dropped first (said in ``notes``). Yates' correction is applied when the
    table is 2x2. When an expected count is under 5, Fisher's exact test (2x2) or a seeded Monte Carlo
    permutation test (larger) is also run, and the conclusion rests on it.
    """
    table = np.asarray(observed, dtype=np.int64).reshape(len(row_labels), len(column_labels))
    original_shape = table.shape
    keep_rows = table.sum(axis=1) > 0
    keep_columns = table.sum(axis=0) > 0
    dropped_rows = tuple(str(name) for name, keep in zip(row_labels, keep_rows, strict=True) if not keep)
    dropped_columns = tuple(
        str(name) for name, keep in zip(column_labels, keep_columns, strict=True) if not keep
    )
    table = table[keep_rows][:, keep_columns]
    rows = tuple(str(name) for name, keep in zip(row_labels, keep_rows, strict=True) if keep)
    columns = tuple(str(name) for name, keep in zip(column_labels, keep_columns, strict=True) if keep)
    notes = []
    if dropped_rows or dropped_columns:
        dropped = [f"row '{name}'" for name in dropped_rows] + [
            f"column '{name}'" for name in dropped_columns
        ]
        notes.append(
            f"dropped all-zero {', '.join(dropped)} (no answers there); the {original_shape[0]}x"
            f"{original_shape[1]} table became {table.shape[0]}x{table.shape[1]}"
        )
    common = {
        "label": label,
        "kind": kind,
        "row_variable": row_variable,
        "column_variable": column_variable,
        "row_labels": rows,
        "column_labels": columns,
        "observed": tuple(tuple(int(count) for count in row) for row in table),
        "dropped_rows": dropped_rows,
        "dropped_columns": dropped_columns,
        "alpha": alpha,
        "null_hypothesis": hypothesis.null,
        "hypothesis": hypothesis,
    }
    if table.shape[0] < 2 or table.shape[1] < 2:
        reason = (
            f"no test: after dropping empty rows/columns the table is {table.shape[0]}x{table.shape[1]}; "
            f"a test of independence needs at least 2 non-empty {row_variable} rows and 2 non-empty "
            f"{column_variable} columns"
        )
        return ContingencyTest(
            **common,
            expected=None,
            statistic=None,
            dof=None,
            p_value=None,
            yates_correction=False,
            min_expected=None,
            exact_test=None,
            exact_p_value=None,
            resamples=None,
            seed=None,
            decisive_p_value=None,
            rejects_null=None,
            conclusion=f"{reason}.",
            method="Pearson chi-squared test of independence (not run)",
            notes=tuple(notes),
            reason=reason,
        )
    yates = table.shape == (2, 2)
    statistic, dof, p_value, expected = pearson_chi_squared(table, correction=yates)
    shape = f"{table.shape[0]}x{table.shape[1]}, {dof} dof"
    method = (
        f"Pearson chi-squared, Yates' continuity correction applied ({shape})"
        if yates
        else f"Pearson chi-squared, no continuity correction ({shape})"
    )
    min_expected = float(expected.min())
    exact_test = exact_p_value = resamples = used_seed = None
    if min_expected < MIN_EXPECTED_COUNT:
        if yates:
            exact_test = "Fisher's exact test (2x2, two-sided)"
            exact_p_value = float(stats.fisher_exact(table).pvalue)
        else:
            exact_test = (
                f"Monte Carlo permutation test of the chi-squared statistic, margins fixed "
                f"({n_resamples} resamples, seed {seed}, p = (k+1)/(n+1))"
            )
            exact_p_value = permutation_test_p_value(table, n_resamples=n_resamples, seed=seed)
            resamples, used_seed = n_resamples, seed
        notes.append(
            f"smallest expected count {min_expected:.2g} < {MIN_EXPECTED_COUNT:g}: the chi-squared "
            f"approximation is doubtful, so the conclusion rests on the {exact_test.split(' (')[0]}"
        )
    decisive = exact_p_value if exact_p_value is not None else p_value
    which = "exact" if exact_p_value is not None else "chi-squared"
    rejects, conclusion = _decide(decisive, alpha, hypothesis, which=which)
    return ContingencyTest(
        **common,
        expected=tuple(tuple(float(count) for count in row) for row in expected),
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        yates_correction=yates,
        min_expected=min_expected,
        exact_test=exact_test,
        exact_p_value=exact_p_value,
        resamples=resamples,
        seed=used_seed,
        decisive_p_value=decisive,
        rejects_null=rejects,
        conclusion=conclusion,
        method=method,
        notes=tuple(notes),
    )


def _crosstab(row_values, row_labels, column_values, column_labels) -> np.ndarray:
    row_values = np.asarray(row_values, dtype=object)
    column_values = np.asarray(column_values, dtype=object)
    return np.array(
        [
            [np.count_nonzero((row_values == row) & (column_values == column)) for column in column_labels]
            for row in row_labels
        ],
        dtype=np.int64,
    )


def truth_answer_test(
    truth,
    answer,
    *,
    multinomial: bool,
    label: str = "",
    alpha: float = ALPHA,
    n_resamples: int = PERMUTATION_RESAMPLES,
    seed: int | None = PERMUTATION_SEED,
) -> ContingencyTest:
    """Table 3 "real vs synthetic": truth x answer, 2x2 without indeterminable or 2x3 with it."""
    columns = ANSWERS if multinomial else TRUTHS
    return independence_test(
        _crosstab(truth, TRUTHS, answer, columns),
        row_labels=TRUTHS,
        column_labels=columns,
        row_variable="truth",
        column_variable="answer",
        hypothesis=TRUTH_VS_ANSWER,
        label=label,
        kind="multinomial" if multinomial else "binomial",
        alpha=alpha,
        n_resamples=n_resamples,
        seed=seed,
    )
