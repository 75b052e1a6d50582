"""Tests of hypotheses on contingency tables: chi-squared with exact/permutation fallbacks, Holm, Cochran-Mantel-Haenszel, survey against survey."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from readerstats.core import (
    _PERMUTATION_CHUNK_CELLS,
    ALPHA,
    ANSWERS,
    CONFIDENCE,
    CORRECT,
    INDETERMINABLE,
    MIN_EXPECTED_COUNT,
    PERMUTATION_RESAMPLES,
    PERMUTATION_SEED,
    REAL,
    SYNTHETIC,
    TRUTHS,
    WRONG,
    AnswerTable,
    _fmt_p,
    _ordered_unique,
    _Result,
    _z,
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


def holm_adjust(p_values: Sequence[float | None]) -> tuple[float | None, ...]:
    """Holm step-down adjusted p-values; ``None`` entries stay ``None`` and do not count toward the family.

    With the m available p-values sorted ascending, p_(i) (i = 1..m) becomes
        max_{j<=i} min(1, (m - j + 1) p_(j)).
    """
    present = [index for index, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    order = sorted(present, key=lambda index: p_values[index])
    running_max = 0.0
    for rank, index in enumerate(order):
        running_max = max(running_max, min(1.0, (len(order) - rank) * float(p_values[index])))
        adjusted[index] = running_max
    return tuple(adjusted)


def holm_adjust_tests(tests: Sequence[ContingencyTest], family: str) -> tuple[ContingencyTest, ...]:
    """The tests with ``holm_p_value`` filled in (Holm over their decisive p-values), conclusions restated."""
    adjusted = holm_adjust([test.decisive_p_value for test in tests])
    result = []
    for test, p_value in zip(tests, adjusted, strict=True):
        if p_value is None:
            result.append(dataclasses.replace(test, holm_family=family))
            continue
        rejects, conclusion = _decide(
            p_value,
            test.alpha,
            test.hypothesis or TRUTH_VS_ANSWER,
            which=f"Holm-adjusted ({len(tests)} tests)",
        )
        result.append(
            dataclasses.replace(
                test, holm_p_value=p_value, holm_family=family, rejects_null=rejects, conclusion=conclusion
            )
        )
    return tuple(result)


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


# --------------------------------------------------------------------------------------------------
# Cochran-Mantel-Haenszel test over surveys


@dataclass(frozen=True)
class MantelHaenszelTest(_Result):
    """Cochran-Mantel-Haenszel test of truth x answer (2x2, definite answers) stratified by survey.

    The odds ratio is (real answered real x synthetic answered synthetic) / (the two kinds of error); above 1
    means the answers follow the truth. Its confidence interval uses the Robins-Breslow-Greenland variance.
    """

    statistic: float | None
    dof: int
    p_value: float | None
    continuity_correction: bool
    pooled_odds_ratio: float | None
    odds_ratio_ci_low: float | None
    odds_ratio_ci_high: float | None
    confidence: float
    strata: tuple
    dropped_strata: tuple
    answer_count: int
    alpha: float
    rejects_null: bool | None
    null_hypothesis: str
    conclusion: str
    method: str
    notes: tuple[str, ...] = ()
    reason: str | None = None


def mantel_haenszel_test(
    truth,
    answer,
    stratum,
    *,
    correction: bool = True,
    alpha: float = ALPHA,
    confidence: float = CONFIDENCE,
) -> MantelHaenszelTest:
    """CMH test that the truth x answer odds ratio is 1 in every stratum, on definite answers only.

    Statistic, with a_k the real items answered real in stratum k, r1 r2 its row and c1 c2 its column sums:
        (|Σ a_k − Σ E[a_k]| − c)² / Σ Var(a_k),  E[a_k] = r1 c1 / n,  Var(a_k) = r1 r2 c1 c2 / (n² (n − 1)),
    with c = 0.5 under the continuity correction (the difference floored at 0), else 0. Strata with fewer
    than 2 definite answers carry no information and are dropped.
    """
    truth = np.asarray(truth, dtype=object)
    answer = np.asarray(answer, dtype=object)
    stratum = np.asarray(stratum, dtype=object)
    definite = answer != INDETERMINABLE
    truth, answer, stratum = truth[definite], answer[definite], stratum[definite]
    method = (
        "Cochran-Mantel-Haenszel chi-squared (1 dof), truth x answer 2x2 per stratum, indeterminable "
        "excluded, "
        + ("continuity correction 0.5 applied" if correction else "no continuity correction")
        + "; Mantel-Haenszel pooled odds ratio with Robins-Breslow-Greenland CI"
    )
    hypothesis = TRUTH_VS_ANSWER
    labels = _ordered_unique(stratum)
    tables = {
        label: _crosstab(truth[stratum == label], TRUTHS, answer[stratum == label], TRUTHS)
        for label in labels
    }
    kept = tuple(label for label in labels if tables[label].sum() >= 2)
    dropped = tuple(label for label in labels if tables[label].sum() < 2)
    notes = (f"dropped strata with fewer than 2 definite answers: {list(dropped)}",) if dropped else ()
    base = {
        "dof": 1,
        "continuity_correction": correction,
        "confidence": confidence,
        "strata": kept,
        "dropped_strata": dropped,
        "answer_count": int(sum(tables[label].sum() for label in kept)),
        "alpha": alpha,
        "null_hypothesis": "H0: within every stratum the answer is independent of the truth (common odds "
        "ratio 1); " + hypothesis.null.split("; ", 1)[1],
        "method": method,
        "notes": notes,
    }
    if not kept:
        reason = "no stratum has 2 or more definite answers"
        return MantelHaenszelTest(
            statistic=None,
            p_value=None,
            pooled_odds_ratio=None,
            odds_ratio_ci_low=None,
            odds_ratio_ci_high=None,
            rejects_null=None,
            conclusion=f"no test: {reason}.",
            reason=reason,
            **base,
        )
    stacked = np.array([tables[label] for label in kept], dtype=float)
    a, b, c, d = stacked[:, 0, 0], stacked[:, 0, 1], stacked[:, 1, 0], stacked[:, 1, 1]
    n = a + b + c + d
    expected_a = (a + b) * (a + c) / n
    variance = (a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1))
    total_variance = float(variance.sum())
    odds_ratio = ci_low = ci_high = None
    ad, bc = float((a * d / n).sum()), float((b * c / n).sum())
    if ad > 0 and bc > 0:
        odds_ratio = ad / bc
        p_sum = (a + d) / n
        q_sum = (b + c) / n
        log_variance = (
            (p_sum * a * d / n).sum() / (2 * ad * ad)
            + (p_sum * b * c / n + q_sum * a * d / n).sum() / (2 * ad * bc)
            + (q_sum * b * c / n).sum() / (2 * bc * bc)
        )
        half_width = _z(confidence) * math.sqrt(log_variance)
        ci_low = math.exp(math.log(odds_ratio) - half_width)
        ci_high = math.exp(math.log(odds_ratio) + half_width)
    elif ad > 0 or bc > 0:
        notes = (*notes, "pooled odds ratio is infinite or zero (an error or a success type never occurs)")
    if total_variance <= 0:
        reason = "every stratum has an empty truth or answer margin, so the CMH variance is 0"
        return MantelHaenszelTest(
            statistic=None,
            p_value=None,
            pooled_odds_ratio=odds_ratio,
            odds_ratio_ci_low=ci_low,
            odds_ratio_ci_high=ci_high,
            rejects_null=None,
            conclusion=f"no test: {reason}.",
            reason=reason,
            **{**base, "notes": notes},
        )
    deviation = abs(float((a - expected_a).sum()))
    if correction:
        deviation = max(deviation - 0.5, 0.0)
    statistic = deviation * deviation / total_variance
    p_value = float(stats.chi2.sf(statistic, 1))
    rejects, conclusion = _decide(p_value, alpha, hypothesis, which="CMH")
    return MantelHaenszelTest(
        statistic=statistic,
        p_value=p_value,
        pooled_odds_ratio=odds_ratio,
        odds_ratio_ci_low=ci_low,
        odds_ratio_ci_high=ci_high,
        rejects_null=rejects,
        conclusion=conclusion,
        **{**base, "notes": notes},
    )


# --------------------------------------------------------------------------------------------------
# Survey against survey


@dataclass(frozen=True)
class SurveyComparison(_Result):
    """Table 3 "Survey A vs Survey B": survey x answer on synthetic items, on real items, and survey x
    correctness on all items, each binomial (indeterminable excluded) and multinomial (indeterminable kept).
    """

    survey_a: Any
    survey_b: Any
    synthetic_items_binomial: ContingencyTest
    synthetic_items_multinomial: ContingencyTest
    real_items_binomial: ContingencyTest
    real_items_multinomial: ContingencyTest
    correctness_binomial: ContingencyTest
    correctness_multinomial: ContingencyTest

    TESTS = (
        "synthetic_items_binomial",
        "synthetic_items_multinomial",
        "real_items_binomial",
        "real_items_multinomial",
        "correctness_binomial",
        "correctness_multinomial",
    )


def compare_surveys(
    table: AnswerTable,
    survey_a,
    survey_b,
    *,
    alpha: float = ALPHA,
    n_resamples: int = PERMUTATION_RESAMPLES,
    seed: int | None = PERMUTATION_SEED,
) -> SurveyComparison:
    pair = (survey_a, survey_b)
    in_pair = (table.survey == survey_a) | (table.survey == survey_b)
    rows = tuple(str(survey) for survey in pair)
    survey_names = np.array([str(survey) for survey in table.survey], dtype=object)
    options = {"alpha": alpha, "n_resamples": n_resamples, "seed": seed}
    correctness = np.where(
        table.answer == INDETERMINABLE, INDETERMINABLE, np.where(table.correct, CORRECT, WRONG)
    ).astype(object)
    tests = {}
    for subset, mask, values, subject in (
        ("synthetic_items", table.truth == SYNTHETIC, table.answer, "answers on synthetic items"),
        ("real_items", table.truth == REAL, table.answer, "answers on real items"),
        ("correctness", np.ones(len(table), dtype=bool), correctness, "correctness over all items"),
    ):
        definite_columns = (CORRECT, WRONG) if subset == "correctness" else TRUTHS
        for kind, columns in (
            ("binomial", definite_columns),
            ("multinomial", (*definite_columns, INDETERMINABLE)),
        ):
            selected = mask & in_pair
            tests[f"{subset}_{kind}"] = independence_test(
                _crosstab(survey_names[selected], rows, values[selected], columns),
                row_labels=rows,
                column_labels=columns,
                row_variable="survey",
                column_variable="correctness" if subset == "correctness" else "answer",
                hypothesis=surveys_hypothesis(subject),
                label=f"Survey {survey_a} vs Survey {survey_b}: {subject} ({kind})",
                kind=kind,
                **options,
            )
    return SurveyComparison(survey_a=survey_a, survey_b=survey_b, **tests)
