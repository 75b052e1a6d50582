"""Statistics of blinded reader studies ("visual Turing test").

Each answer is one reader's verdict on one image: the truth is ``real`` or ``synthetic``, the answer ``real``,
``synthetic`` or ``indeterminable``. Everything here is pure computation over plain arrays (no Django), and
every function returns a frozen dataclass that names the statistic, the p-value, the counts and what was
assumed, with a ``to_dict()`` that is JSON-serialisable (non-finite numbers become ``None``).

Hypotheses are stated the right way round: for a truth x answer table, H0 is that the answer is independent of
the truth, i.e. readers cannot tell real from synthetic. A small p rejects H0 (readers CAN tell). A large p is
not evidence that they cannot; :func:`equivalence_test` answers that question.

"Binomial" tables use the definite answers only (``indeterminable`` excluded); "multinomial" tables keep all
three answers. Quantities that cannot be computed (a zero denominator, a table with fewer than two non-empty
rows or columns, a model with one cluster) come back as ``None`` with a ``reason``, never as an exception.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import expit
from statsmodels.genmod import families
from statsmodels.genmod.cov_struct import Exchangeable
from statsmodels.genmod.generalized_estimating_equations import GEE

REAL = "real"
SYNTHETIC = "synthetic"
INDETERMINABLE = "indeterminable"
TRUTHS = (REAL, SYNTHETIC)
ANSWERS = (REAL, SYNTHETIC, INDETERMINABLE)
CORRECT = "correct"
WRONG = "wrong"

ALPHA = 0.05
CONFIDENCE = 0.95
EQUIVALENCE_MARGIN = 0.1
PERMUTATION_RESAMPLES = 10_000
PERMUTATION_SEED = 0
# Below this expected cell count the chi-squared approximation is doubtful, so an exact test is also reported.
MIN_EXPECTED_COUNT = 5.0
# Cluster-robust (sandwich) standard errors are too small with few clusters.
FEW_CLUSTERS = 20
# Permutation resamples are processed in chunks of at most this many cells to bound memory.
_PERMUTATION_CHUNK_CELLS = 2_000_000


# --------------------------------------------------------------------------------------------------
# Input table


def _ordered_unique(values: np.ndarray) -> tuple:
    unique = {value.item() if isinstance(value, np.generic) else value for value in values}
    try:
        return tuple(sorted(unique))
    except TypeError:
        return tuple(sorted(unique, key=str))


@dataclass(frozen=True, eq=False)
class AnswerTable:
    """A tidy table of answers: one row per (reader, item) answer, columns as equally long arrays.

    ``truth`` holds ``real``/``synthetic``, ``answer`` holds ``real``/``synthetic``/``indeterminable``;
    ``reader``, ``survey`` and ``item`` hold ids of any hashable type. Item ids are only compared within one
    survey.
    """

    truth: np.ndarray
    answer: np.ndarray
    reader: np.ndarray
    survey: np.ndarray
    item: np.ndarray

    def __post_init__(self):
        truth = np.array([str(value) for value in self.truth], dtype=object)
        answer = np.array([str(value) for value in self.answer], dtype=object)
        columns = {"truth": truth, "answer": answer}
        for name in ("reader", "survey", "item"):
            values = np.empty(len(getattr(self, name)), dtype=object)
            values[:] = [
                value.item() if isinstance(value, np.generic) else value for value in getattr(self, name)
            ]
            columns[name] = values
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"columns differ in length: {lengths}")
        bad_truth = set(truth) - set(TRUTHS)
        if bad_truth:
            raise ValueError(f"truth must be one of {TRUTHS}, got {sorted(bad_truth)}")
        bad_answer = set(answer) - set(ANSWERS)
        if bad_answer:
            raise ValueError(f"answer must be one of {ANSWERS}, got {sorted(bad_answer)}")
        for name, values in columns.items():
            object.__setattr__(self, name, values)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> AnswerTable:
        """Build a table from mappings with the keys truth, answer, reader, survey and item."""
        rows = list(records)
        return cls(
            **{name: [row[name] for row in rows] for name in ("truth", "answer", "reader", "survey", "item")}
        )

    def __len__(self) -> int:
        return len(self.truth)

    @property
    def surveys(self) -> tuple:
        return _ordered_unique(self.survey)

    @property
    def readers(self) -> tuple:
        return _ordered_unique(self.reader)

    @property
    def correct(self) -> np.ndarray:
        return self.truth == self.answer

    @property
    def definite(self) -> np.ndarray:
        return self.answer != INDETERMINABLE

    def select(self, mask: np.ndarray) -> AnswerTable:
        mask = np.asarray(mask, dtype=bool)
        return AnswerTable(
            truth=self.truth[mask],
            answer=self.answer[mask],
            reader=self.reader[mask],
            survey=self.survey[mask],
            item=self.item[mask],
        )

    def for_survey(self, survey) -> AnswerTable:
        return self.select(self.survey == survey)


# --------------------------------------------------------------------------------------------------
# Result plumbing


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("serialise", True)
        }
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return [_jsonable(item) for item in value.tolist()]
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Result:
    def to_dict(self) -> dict:
        """Plain dict of the result, safe for ``json.dumps`` (NaN and infinities become ``None``)."""
        return _jsonable(self)


def _fmt_p(p: float) -> str:
    return f"{p:.3g}" if p >= 0.001 else f"{p:.2e}"


def _float_or_none(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------------
# Proportions: Wilson interval and exact binomial test


def _z(two_sided_confidence: float) -> float:
    return float(stats.norm.ppf(1.0 - (1.0 - two_sided_confidence) / 2.0))


def wilson_interval(successes: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion; ``None`` when ``total`` is 0.

    With z the two-sided normal quantile and p = successes / total the interval is
        (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
    """
    if total <= 0:
        return None
    if not 0 <= successes <= total:
        raise ValueError(f"successes must lie in [0, {total}], got {successes}")
    z = _z(confidence)
    n = float(total)
    proportion = successes / n
    denominator = 1.0 + z * z / n
    centre = (proportion + z * z / (2.0 * n)) / denominator
    half_width = z * math.sqrt(proportion * (1.0 - proportion) / n + z * z / (4.0 * n * n)) / denominator
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def binomial_test_p_value(successes: int, total: int, null_proportion: float = 0.5) -> float | None:
    """Exact two-sided binomial test p-value; ``None`` when ``total`` is 0.

    Two-sided by the minimum-likelihood rule: the p-value sums the probabilities of every outcome no more
    likely under H0 than the one observed (the rule of ``scipy.stats.binomtest``).
    """
    if total <= 0:
        return None
    if not 0.0 < null_proportion < 1.0:
        raise ValueError("null_proportion must lie strictly between 0 and 1")
    pmf = stats.binom.pmf(np.arange(total + 1), total, null_proportion)
    observed = pmf[successes]
    # The relative tolerance keeps outcomes of equal probability (symmetric ones) from being lost to rounding.
    return float(min(1.0, pmf[pmf <= observed * (1.0 + 1e-7)].sum()))


@dataclass(frozen=True)
class ProportionEstimate(_Result):
    """A proportion with its Wilson interval and an exact binomial test against ``null_proportion``."""

    label: str
    successes: int
    total: int
    proportion: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    null_proportion: float
    p_value: float | None
    method: str
    note: str | None = None


def proportion_estimate(
    successes: int,
    total: int,
    *,
    label: str = "",
    confidence: float = CONFIDENCE,
    null_proportion: float = 0.5,
) -> ProportionEstimate:
    successes, total = int(successes), int(total)
    method = (
        f"Wilson score {confidence:.0%} interval; exact two-sided binomial test against {null_proportion:g}. "
        "Assumes independent answers (ignores clustering by reader and item)."
    )
    if total == 0:
        return ProportionEstimate(
            label,
            0,
            0,
            None,
            None,
            None,
            confidence,
            null_proportion,
            None,
            method,
            "no answers in this group",
        )
    low, high = wilson_interval(successes, total, confidence)
    return ProportionEstimate(
        label=label,
        successes=successes,
        total=total,
        proportion=successes / total,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        null_proportion=null_proportion,
        p_value=binomial_test_p_value(successes, total, null_proportion),
        method=method,
    )


# --------------------------------------------------------------------------------------------------
# Table 2: accuracy per survey


@dataclass(frozen=True)
class ScopedAccuracy(_Result):
    """Accuracy over all items, real items only and synthetic items only, for one way of scoring
    indeterminable answers."""

    indeterminable: str  # "excluded" or "counted as wrong"
    all_items: ProportionEstimate
    real_items: ProportionEstimate
    synthetic_items: ProportionEstimate


@dataclass(frozen=True)
class AccuracyBreakdown(_Result):
    """The paper's Table 2 for one group of answers, plus sensitivity and specificity for "synthetic".

    Sensitivity is P(answer synthetic | synthetic item) and specificity P(answer real | real item), both over
    definite answers; they equal the accuracies on synthetic and on real items with indeterminable excluded.
    """

    answer_count: int
    indeterminable_count: int
    indeterminable_excluded: ScopedAccuracy
    indeterminable_as_wrong: ScopedAccuracy
    sensitivity: ProportionEstimate
    specificity: ProportionEstimate


def accuracy_breakdown(truth, answer, *, confidence: float = CONFIDENCE) -> AccuracyBreakdown:
    truth = np.asarray(truth, dtype=object)
    answer = np.asarray(answer, dtype=object)
    correct = truth == answer
    definite = answer != INDETERMINABLE
    scopes = {"all_items": np.ones(len(truth), dtype=bool), "real_items": truth == REAL}
    scopes["synthetic_items"] = truth == SYNTHETIC

    def scoped(indeterminable: str, counted: np.ndarray) -> ScopedAccuracy:
        return ScopedAccuracy(
            indeterminable=indeterminable,
            **{
                name: proportion_estimate(
                    np.count_nonzero(correct & mask),
                    np.count_nonzero(counted & mask),
                    label=f"accuracy, {name.replace('_', ' ')}, indeterminable {indeterminable}",
                    confidence=confidence,
                )
                for name, mask in scopes.items()
            },
        )

    synthetic_items, real_items = scopes["synthetic_items"], scopes["real_items"]
    return AccuracyBreakdown(
        answer_count=len(truth),
        indeterminable_count=int(np.count_nonzero(~definite)),
        indeterminable_excluded=scoped("excluded", definite),
        indeterminable_as_wrong=scoped("counted as wrong", np.ones(len(truth), dtype=bool)),
        sensitivity=proportion_estimate(
            np.count_nonzero(synthetic_items & (answer == SYNTHETIC)),
            np.count_nonzero(synthetic_items & definite),
            label="sensitivity for synthetic (indeterminable excluded)",
            confidence=confidence,
        ),
        specificity=proportion_estimate(
            np.count_nonzero(real_items & (answer == REAL)),
            np.count_nonzero(real_items & definite),
            label="specificity for synthetic (indeterminable excluded)",
            confidence=confidence,
        ),
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


# --------------------------------------------------------------------------------------------------
# Readers: per-reader accuracy, agreement, clustered model, equivalence


@dataclass(frozen=True)
class ReaderAccuracy(_Result):
    reader: Any
    answer_count: int
    indeterminable_count: int
    indeterminable_excluded: ProportionEstimate
    indeterminable_as_wrong: ProportionEstimate


def per_reader_accuracy(
    truth, answer, reader, *, confidence: float = CONFIDENCE
) -> tuple[ReaderAccuracy, ...]:
    """Each reader's accuracy over all their answers, with indeterminable excluded and counted as wrong."""
    truth = np.asarray(truth, dtype=object)
    answer = np.asarray(answer, dtype=object)
    reader = np.asarray(reader, dtype=object)
    result = []
    for name in _ordered_unique(reader):
        mine = reader == name
        correct = int(np.count_nonzero(mine & (truth == answer)))
        definite = int(np.count_nonzero(mine & (answer != INDETERMINABLE)))
        total = int(np.count_nonzero(mine))
        result.append(
            ReaderAccuracy(
                reader=name,
                answer_count=total,
                indeterminable_count=total - definite,
                indeterminable_excluded=proportion_estimate(
                    correct, definite, label=f"reader {name}, indeterminable excluded", confidence=confidence
                ),
                indeterminable_as_wrong=proportion_estimate(
                    correct,
                    total,
                    label=f"reader {name}, indeterminable counted as wrong",
                    confidence=confidence,
                ),
            )
        )
    return tuple(result)


@dataclass(frozen=True)
class FleissKappa(_Result):
    """Fleiss' kappa of the readers' answers (categories real, synthetic, indeterminable)."""

    kappa: float | None
    item_count: int
    raters_per_item: int | None
    dropped_item_count: int
    categories: tuple[str, ...]
    observed_agreement: float | None
    chance_agreement: float | None
    method: str
    notes: tuple[str, ...] = ()
    reason: str | None = None


def fleiss_kappa_from_counts(counts) -> tuple[float | None, float, float]:
    """Fleiss' kappa, mean observed agreement and chance agreement of an items x categories table of counts.

    Every item must have the same number n >= 2 of ratings, N is the number of items:
        P_i = (Σ_j n_ij² − n) / (n (n − 1)),  P̄ = mean P_i,  p_j = Σ_i n_ij / (N n),  P_e = Σ p_j²,
        kappa = (P̄ − P_e) / (1 − P_e);
    kappa is ``None`` when P_e = 1 (every answer in one category).
    """
    counts = np.asarray(counts, dtype=float)
    raters = counts.sum(axis=1)
    if counts.shape[0] == 0 or not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("every item needs the same number (at least 2) of ratings")
    n = raters[0]
    observed = float(((counts * counts).sum(axis=1) - n).mean() / (n * (n - 1)))
    category_share = counts.sum(axis=0) / counts.sum()
    chance = float((category_share * category_share).sum())
    if chance >= 1.0 - 1e-12:
        return None, observed, chance
    return (observed - chance) / (1.0 - chance), observed, chance


def fleiss_kappa(item, answer, *, categories: Sequence[str] = ANSWERS) -> FleissKappa:
    """Fleiss' kappa across readers, one row per answer, for items of one survey.

    Fleiss' kappa needs the same number of ratings per item. Items with fewer than 2 ratings are dropped; if
    the rest differ in their number of ratings, only items with the most common number are kept (ties go to
    the larger number), and the count of dropped items is reported.
    """
    item = np.asarray(item, dtype=object)
    answer = np.asarray(answer, dtype=object)
    categories = tuple(categories)
    method = (
        "Fleiss' kappa (1971) over items x answer categories; chance agreement from the pooled category "
        "shares"
    )
    items = _ordered_unique(item)
    counts = (
        _crosstab(item, items, answer, categories) if items else np.zeros((0, len(categories)), dtype=int)
    )
    ratings = counts.sum(axis=1)
    notes = []
    eligible = ratings >= 2
    if not eligible.any():
        reason = "no item was rated by 2 or more readers"
        return FleissKappa(None, 0, None, len(items), categories, None, None, method, (), reason)
    values, frequencies = np.unique(ratings[eligible], return_counts=True)
    modal = int(values[frequencies == frequencies.max()].max())
    kept = ratings == modal
    dropped = len(items) - int(kept.sum())
    if dropped:
        notes.append(
            f"items differ in their number of ratings; kept the {int(kept.sum())} items rated {modal} times "
            f"(the most common count), dropped {dropped}"
        )
    kappa, observed, chance = fleiss_kappa_from_counts(counts[kept])
    reason = None
    if kappa is None:
        reason = "every answer falls in one category, so chance agreement is 1 and kappa is undefined"
    return FleissKappa(
        kappa=kappa,
        item_count=int(kept.sum()),
        raters_per_item=modal,
        dropped_item_count=dropped,
        categories=categories,
        observed_agreement=observed,
        chance_agreement=chance,
        method=method,
        notes=tuple(notes),
        reason=reason,
    )


@dataclass(frozen=True)
class GeeAccuracy(_Result):
    """Accuracy from a GEE logistic model of correctness with readers as clusters.

    Model: logit P(correct) = b0 + b1·t with t = +1/2 for synthetic and −1/2 for real items, so b0 is the mean
    log-odds of a correct answer over real and synthetic items and ``accuracy`` = expit(b0); b1 is the log
    odds ratio of being correct on synthetic versus real items. Intervals and p-values use the cluster-robust
    (sandwich) covariance; ``p_value`` tests b0 = 0 (accuracy 50%).
    """

    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    intercept_log_odds: float | None
    intercept_se: float | None
    p_value: float | None
    real_items_accuracy: float | None
    real_items_ci: tuple[float, float] | None
    synthetic_items_accuracy: float | None
    synthetic_items_ci: tuple[float, float] | None
    truth_log_odds_ratio: float | None
    truth_p_value: float | None
    working_correlation: float | None
    cluster_count: int
    answer_count: int
    confidence: float
    alpha: float
    rejects_null: bool | None
    conclusion: str
    method: str
    notes: tuple[str, ...] = ()
    reason: str | None = None


def gee_accuracy(
    correct, truth, reader, *, alpha: float = ALPHA, confidence: float = CONFIDENCE
) -> GeeAccuracy:
    """Fit the GEE model of :class:`GeeAccuracy`: Binomial family, logit link, exchangeable correlation.

    Returns a result with a ``reason`` instead of estimates when there are no answers, fewer than 2 readers,
    no variation in correctness, or perfect separation (all answers on real or on synthetic items correct, or
    all wrong), where the log-odds are infinite.
    """
    correct = np.asarray(correct, dtype=bool)
    truth = np.asarray(truth, dtype=object)
    reader = np.asarray(reader, dtype=object)
    readers = _ordered_unique(reader)
    method = (
        "GEE, Binomial family (logit link), exchangeable working correlation within readers, cluster-robust "
        "(sandwich) covariance; covariates: intercept and truth coded synthetic +1/2, real -1/2; Wald z "
        "tests. Items are not modelled as clusters."
    )
    empty = {
        "accuracy": None,
        "ci_low": None,
        "ci_high": None,
        "intercept_log_odds": None,
        "intercept_se": None,
        "p_value": None,
        "real_items_accuracy": None,
        "real_items_ci": None,
        "synthetic_items_accuracy": None,
        "synthetic_items_ci": None,
        "truth_log_odds_ratio": None,
        "truth_p_value": None,
        "working_correlation": None,
        "cluster_count": len(readers),
        "answer_count": len(correct),
        "confidence": confidence,
        "alpha": alpha,
        "rejects_null": None,
        "method": method,
    }

    def without_estimate(reason: str, notes: Sequence[str] = ()) -> GeeAccuracy:
        return GeeAccuracy(**empty, conclusion=f"no model: {reason}.", notes=tuple(notes), reason=reason)

    if len(correct) == 0:
        return without_estimate("no answers")
    if len(readers) < 2:
        return without_estimate(
            f"{len(readers)} reader: a model with reader clusters needs at least 2 readers "
            "(use the per-reader accuracy instead)"
        )
    if correct.all() or not correct.any():
        state = "correct" if correct.all() else "wrong"
        return without_estimate(f"no variation: every answer is {state}, so the log-odds are infinite")
    levels = [level for level in TRUTHS if np.any(truth == level)]
    for level in levels:
        on_level = correct[truth == level]
        if on_level.all() or not on_level.any():
            state = "correct" if on_level.all() else "wrong"
            return without_estimate(
                f"perfect separation: every answer on {level} items is {state}, so the log-odds are infinite"
            )
    notes = []
    if len(levels) == 2:
        exog = np.column_stack([np.ones(len(correct)), np.where(truth == SYNTHETIC, 0.5, -0.5)])
    else:
        exog = np.ones((len(correct), 1))
        notes.append(f"only {levels[0]} items: the truth covariate was dropped")
    groups = np.array([readers.index(name) for name in reader])
    if len(readers) < FEW_CLUSTERS:
        notes.append(
            f"only {len(readers)} readers: cluster-robust standard errors are too small with fewer than "
            f"about {FEW_CLUSTERS} clusters, so the interval is optimistic"
        )
    model = GEE(
        correct.astype(float), exog, groups=groups, family=families.Binomial(), cov_struct=Exchangeable()
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit()
        except (ValueError, np.linalg.LinAlgError) as error:
            return without_estimate(f"the GEE fit failed: {error}", notes)
    notes.extend(f"statsmodels warned: {warning.message}" for warning in caught)
    params = np.asarray(fit.params, dtype=float)
    covariance = np.asarray(fit.cov_params(), dtype=float)
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(covariance))) or covariance[0, 0] <= 0:
        return without_estimate("the GEE fit gave no finite estimate or standard error", notes)
    z = _z(confidence)

    def on_probability_scale(weights: np.ndarray) -> tuple[float, tuple[float, float], float, float]:
        log_odds = float(weights @ params)
        se = math.sqrt(float(weights @ covariance @ weights))
        return (
            float(expit(log_odds)),
            (float(expit(log_odds - z * se)), float(expit(log_odds + z * se))),
            log_odds,
            se,
        )

    accuracy, (low, high), intercept, intercept_se = on_probability_scale(np.eye(len(params))[0])
    p_value = float(2 * stats.norm.sf(abs(intercept / intercept_se)))
    estimates = {}
    if len(levels) == 2:
        real, real_ci, _, _ = on_probability_scale(np.array([1.0, -0.5]))
        synthetic, synthetic_ci, _, _ = on_probability_scale(np.array([1.0, 0.5]))
        truth_se = math.sqrt(covariance[1, 1])
        estimates = {
            "real_items_accuracy": real,
            "real_items_ci": real_ci,
            "synthetic_items_accuracy": synthetic,
            "synthetic_items_ci": synthetic_ci,
            "truth_log_odds_ratio": float(params[1]),
            "truth_p_value": float(2 * stats.norm.sf(abs(params[1] / truth_se))) if truth_se > 0 else None,
        }
    chance = Hypothesis(
        null="H0: accuracy is 50% (intercept log-odds 0)",
        reject=(
            "accuracy differs from chance after allowing for reader clustering"
            + (
                " (above 50%: readers CAN tell)"
                if accuracy > 0.5
                else " (below 50%: answers systematically inverted)"
            )
        ),
        retain="no evidence that accuracy differs from chance; this is not evidence that it equals chance",
    )
    rejects, conclusion = _decide(p_value, alpha, chance, which="GEE")
    dependence = np.asarray(fit.model.cov_struct.dep_params, dtype=float).ravel()
    return GeeAccuracy(
        **{
            **empty,
            **estimates,
            "accuracy": accuracy,
            "ci_low": low,
            "ci_high": high,
            "intercept_log_odds": intercept,
            "intercept_se": intercept_se,
            "p_value": p_value,
            "working_correlation": _float_or_none(dependence[0]) if dependence.size else None,
            "rejects_null": rejects,
        },
        conclusion=conclusion,
        notes=tuple(notes),
    )


def equivalence_sample_size(
    margin: float = EQUIVALENCE_MARGIN,
    *,
    alpha: float = ALPHA,
    power: float = 0.8,
    true_accuracy: float = 0.5,
) -> int:
    """Number of independent answers for the equivalence test to show 0.5 − margin < accuracy < 0.5 + margin.

    With a true accuracy of exactly 0.5 both one-sided tests must succeed, so each gets β/2 (β = 1 − power):
        n = (z_{1−α} + z_{1−β/2})² · p(1 − p) / margin²,  p = 0.5.
    For another true accuracy p the nearer bound dominates:
        n = (z_{1−α} + z_{1−β})² · p(1 − p) / (margin − |p − 0.5|)².
    The defaults (margin 0.1, α 0.05, power 0.8) give 215. Answers clustered within readers need more:
    multiply by the design effect 1 + (m − 1)ρ for m answers per reader and intra-reader correlation ρ.
    """
    distance = abs(true_accuracy - 0.5)
    if not 0 < margin < 0.5 or distance >= margin:
        raise ValueError("need 0 < margin < 0.5 and |true_accuracy - 0.5| < margin")
    beta = 1.0 - power
    z_power = stats.norm.ppf(1.0 - beta / 2.0) if distance == 0 else stats.norm.ppf(1.0 - beta)
    n = (
        (stats.norm.ppf(1.0 - alpha) + z_power) ** 2
        * true_accuracy
        * (1.0 - true_accuracy)
        / (margin - distance) ** 2
    )
    return math.ceil(n - 1e-9)


@dataclass(frozen=True)
class EquivalenceTest(_Result):
    """Two one-sided tests (TOST) that accuracy lies within 0.5 ± margin ("indistinguishable from chance").

    Equivalence is shown when the (1 − 2α) Wilson interval lies inside (0.5 − margin, 0.5 + margin), i.e. when
    both one-sided score tests reject at α; ``tost_p_value`` is the larger of their p-values.
    """

    successes: int
    total: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    interval_confidence: float
    margin: float
    lower_bound: float
    upper_bound: float
    tost_p_value: float | None
    equivalent: bool | None
    required_answers: int
    alpha: float
    power: float
    conclusion: str
    method: str
    reason: str | None = None


def equivalence_test(
    successes: int,
    total: int,
    *,
    margin: float = EQUIVALENCE_MARGIN,
    alpha: float = ALPHA,
    power: float = 0.8,
) -> EquivalenceTest:
    successes, total = int(successes), int(total)
    lower, upper = 0.5 - margin, 0.5 + margin
    required = equivalence_sample_size(margin, alpha=alpha, power=power)
    method = (
        f"TOST against 0.5 ± {margin:g}: {1 - 2 * alpha:.0%} Wilson interval inside the margin "
        f"(equivalently both one-sided score tests at α = {alpha:g}); treats answers as independent, so with "
        f"reader clustering the interval is optimistic. {required} answers give {power:.0%} power at a true "
        "accuracy of 0.5."
    )
    base = {
        "successes": successes,
        "total": total,
        "interval_confidence": 1 - 2 * alpha,
        "margin": margin,
        "lower_bound": lower,
        "upper_bound": upper,
        "required_answers": required,
        "alpha": alpha,
        "power": power,
        "method": method,
    }
    if total == 0:
        reason = "no answers"
        return EquivalenceTest(
            accuracy=None,
            ci_low=None,
            ci_high=None,
            tost_p_value=None,
            equivalent=None,
            conclusion=f"no test: {reason}.",
            reason=reason,
            **base,
        )
    accuracy = successes / total
    low, high = wilson_interval(successes, total, 1 - 2 * alpha)
    p_above_lower = stats.norm.sf((accuracy - lower) / math.sqrt(lower * (1 - lower) / total))
    p_below_upper = stats.norm.cdf((accuracy - upper) / math.sqrt(upper * (1 - upper) / total))
    equivalent = bool(low > lower and high < upper)
    interval = f"{1 - 2 * alpha:.0%} CI {low:.3f}-{high:.3f}"
    if equivalent:
        conclusion = (
            f"accuracy {accuracy:.3f} ({interval}) lies within 0.5 ± {margin:g}: readers are "
            "indistinguishable from chance at this margin."
        )
    else:
        conclusion = (
            f"accuracy {accuracy:.3f} ({interval}) is not shown to lie within 0.5 ± {margin:g}: equivalence "
            f"to chance not shown ({total} answers; about {required} would give {power:.0%} power)."
        )
    return EquivalenceTest(
        accuracy=accuracy,
        ci_low=low,
        ci_high=high,
        tost_p_value=float(max(p_above_lower, p_below_upper)),
        equivalent=equivalent,
        conclusion=conclusion,
        **base,
    )


# --------------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class SurveyReport(_Result):
    """Everything computed for one survey; equivalence and GEE score definite answers only."""

    survey: Any
    answer_count: int
    reader_count: int
    item_count: int
    accuracy: AccuracyBreakdown
    truth_answer_binomial: ContingencyTest
    truth_answer_multinomial: ContingencyTest
    per_reader: tuple[ReaderAccuracy, ...]
    fleiss_kappa: FleissKappa
    gee: GeeAccuracy
    equivalence: EquivalenceTest
    notes: tuple[str, ...] = ()


def survey_report(
    table: AnswerTable,
    *,
    survey=None,
    alpha: float = ALPHA,
    margin: float = EQUIVALENCE_MARGIN,
    n_resamples: int = PERMUTATION_RESAMPLES,
    seed: int | None = PERMUTATION_SEED,
) -> SurveyReport:
    """All statistics of one survey: ``table`` restricted to ``survey`` if given, else taken whole."""
    notes = []
    if survey is not None:
        table = table.for_survey(survey)
    elif len(table.surveys) == 1:
        survey = table.surveys[0]
    elif len(table.surveys) > 1:
        notes.append(f"answers from {len(table.surveys)} surveys were analysed together")
    if len(table) == 0:
        notes.append("the survey has no answers")
    name = f"Survey {survey}" if survey is not None else "All answers"
    options = {"alpha": alpha, "n_resamples": n_resamples, "seed": seed}
    definite = table.definite
    return SurveyReport(
        survey=survey,
        answer_count=len(table),
        reader_count=len(table.readers),
        item_count=len(_ordered_unique(table.item)),
        accuracy=accuracy_breakdown(table.truth, table.answer),
        truth_answer_binomial=truth_answer_test(
            table.truth,
            table.answer,
            multinomial=False,
            label=f"{name}: real vs synthetic (binomial)",
            **options,
        ),
        truth_answer_multinomial=truth_answer_test(
            table.truth,
            table.answer,
            multinomial=True,
            label=f"{name}: real vs synthetic (multinomial)",
            **options,
        ),
        per_reader=per_reader_accuracy(table.truth, table.answer, table.reader),
        fleiss_kappa=fleiss_kappa(table.item, table.answer),
        gee=gee_accuracy(table.correct[definite], table.truth[definite], table.reader[definite], alpha=alpha),
        equivalence=equivalence_test(
            int(np.count_nonzero(table.correct)), int(np.count_nonzero(definite)), margin=margin, alpha=alpha
        ),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class StudyReport(_Result):
    """Everything computed for several surveys: per survey, pooled, stratified by survey, and survey pairs.

    Holm families (each adjusted separately): the within-survey binomial tests; the within-survey multinomial
    tests; and, over all survey pairs, each of the six kinds of :class:`SurveyComparison` test.
    """

    surveys: tuple[SurveyReport, ...]
    pooled_accuracy: AccuracyBreakdown
    pooled_binomial: ContingencyTest
    pooled_multinomial: ContingencyTest
    mantel_haenszel: MantelHaenszelTest
    comparisons: tuple[SurveyComparison, ...]
    holm_families: tuple[str, ...]


def study_report(
    table: AnswerTable,
    *,
    alpha: float = ALPHA,
    margin: float = EQUIVALENCE_MARGIN,
    n_resamples: int = PERMUTATION_RESAMPLES,
    seed: int | None = PERMUTATION_SEED,
) -> StudyReport:
    options = {"alpha": alpha, "n_resamples": n_resamples, "seed": seed}
    reports = [survey_report(table, survey=survey, margin=margin, **options) for survey in table.surveys]
    families_used = []
    for attribute, family in (
        ("truth_answer_binomial", "within-survey real vs synthetic (binomial)"),
        ("truth_answer_multinomial", "within-survey real vs synthetic (multinomial)"),
    ):
        adjusted = holm_adjust_tests([getattr(report, attribute) for report in reports], family)
        reports = [
            dataclasses.replace(report, **{attribute: test})
            for report, test in zip(reports, adjusted, strict=True)
        ]
        families_used.append(family)
    comparisons = [compare_surveys(table, a, b, **options) for a, b in combinations(table.surveys, 2)]
    for attribute in SurveyComparison.TESTS:
        family = f"survey pairs: {attribute.replace('_', ' ')}"
        adjusted = holm_adjust_tests([getattr(comparison, attribute) for comparison in comparisons], family)
        comparisons = [
            dataclasses.replace(comparison, **{attribute: test})
            for comparison, test in zip(comparisons, adjusted, strict=True)
        ]
        families_used.append(family)
    return StudyReport(
        surveys=tuple(reports),
        pooled_accuracy=accuracy_breakdown(table.truth, table.answer),
        pooled_binomial=truth_answer_test(
            table.truth,
            table.answer,
            multinomial=False,
            label="All surveys: real vs synthetic (binomial)",
            **options,
        ),
        pooled_multinomial=truth_answer_test(
            table.truth,
            table.answer,
            multinomial=True,
            label="All surveys: real vs synthetic (multinomial)",
            **options,
        ),
        mantel_haenszel=mantel_haenszel_test(table.truth, table.answer, table.survey, alpha=alpha),
        comparisons=tuple(comparisons),
        holm_families=tuple(families_used),
    )
