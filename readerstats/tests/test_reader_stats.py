"""Reader-study statistics checked against independent implementations (SciPy, statsmodels) and hand-made cases."""

import json
import math
from itertools import product

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from scipy.special import comb, expit
from statsmodels.genmod import families
from statsmodels.genmod.cov_struct import Exchangeable
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss_kappa
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from readerstats import (
    ANSWERS,
    INDETERMINABLE,
    REAL,
    SYNTHETIC,
    TRUTH_VS_ANSWER,
    AnswerTable,
    accuracy_breakdown,
    binomial_test_p_value,
    compare_surveys,
    equivalence_sample_size,
    equivalence_test,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    gee_accuracy,
    holm_adjust,
    holm_adjust_tests,
    independence_test,
    mantel_haenszel_test,
    pearson_chi_squared,
    per_reader_accuracy,
    permutation_test_p_value,
    proportion_estimate,
    study_report,
    survey_report,
    truth_answer_test,
    wilson_interval,
)


def answers_from_counts(counts, *, survey="S", readers=1, start_item=0):
    """Rows for a truth x answer count table {truth: {answer: n}}, spread round-robin over readers."""
    rows = []
    item = start_item
    for truth, by_answer in counts.items():
        for answer, n in by_answer.items():
            for _ in range(n):
                rows.append(
                    {
                        "truth": truth,
                        "answer": answer,
                        "reader": item % readers,
                        "survey": survey,
                        "item": item,
                    }
                )
                item += 1
    return rows


def balanced_study(rng, *, surveys=(1, 2), readers=5, items=20, answer_probabilities=(0.45, 0.45, 0.1)):
    """Every reader answers every item of every survey at random; half the items are synthetic."""
    rows = []
    for survey, reader, item in product(surveys, range(readers), range(items)):
        rows.append(
            {
                "truth": REAL if item < items // 2 else SYNTHETIC,
                "answer": rng.choice(ANSWERS, p=answer_probabilities),
                "reader": f"reader-{reader}",
                "survey": survey,
                "item": item,
            }
        )
    return AnswerTable.from_records(rows)


def perfect_table(*, readers, items=20, survey="perfect"):
    rows = [
        {"truth": truth, "answer": truth, "reader": reader, "survey": survey, "item": item}
        for reader in range(readers)
        for item in range(items)
        for truth in [REAL if item % 2 else SYNTHETIC]
    ]
    return AnswerTable.from_records(rows)


def coin_flip_table(*, seed, readers=1, items=200, survey="coin"):
    rng = np.random.default_rng(seed)
    rows = [
        {
            "truth": REAL if item % 2 else SYNTHETIC,
            "answer": rng.choice([REAL, SYNTHETIC]),
            "reader": reader,
            "survey": survey,
            "item": item,
        }
        for reader in range(readers)
        for item in range(items)
    ]
    return AnswerTable.from_records(rows)


# ---------------------------------------------------------------------------------------------------------------
# Input table


def test_answer_table_rejects_an_unknown_answer():
    with pytest.raises(ValueError, match="answer must be one of"):
        AnswerTable.from_records([{"truth": REAL, "answer": "maybe", "reader": 1, "survey": 1, "item": 1}])


def test_answer_table_rejects_columns_of_different_length():
    with pytest.raises(ValueError, match="differ in length"):
        AnswerTable(truth=[REAL], answer=[REAL, REAL], reader=[1], survey=[1], item=[1])


# ---------------------------------------------------------------------------------------------------------------
# Proportions


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_statsmodels(confidence):
    rng = np.random.default_rng(7)
    cases = [(0, 1), (1, 1), (0, 20), (20, 20), (7, 13)] + [
        (int(k), int(n)) for n in rng.integers(1, 400, size=40) for k in [rng.integers(0, n + 1)]
    ]
    for successes, total in cases:
        low, high = wilson_interval(successes, total, confidence)
        expected_low, expected_high = proportion_confint(
            successes, total, alpha=1 - confidence, method="wilson"
        )
        assert low == pytest.approx(expected_low, abs=1e-12)
        assert high == pytest.approx(expected_high, abs=1e-12)


def test_wilson_interval_of_no_answers_is_none():
    assert wilson_interval(0, 0) is None


def test_binomial_test_matches_scipy_binomtest():
    rng = np.random.default_rng(11)
    cases = [(0, 1), (1, 1), (10, 20), (0, 20), (3, 7)] + [
        (int(k), int(n)) for n in rng.integers(1, 300, size=60) for k in [rng.integers(0, n + 1)]
    ]
    for null_proportion in (0.5, 0.3):
        for successes, total in cases:
            expected = stats.binomtest(successes, total, null_proportion, alternative="two-sided").pvalue
            assert binomial_test_p_value(successes, total, null_proportion) == pytest.approx(
                expected, rel=1e-9
            )


def test_proportion_of_no_answers_is_none_with_a_note():
    estimate = proportion_estimate(0, 0, label="empty")
    assert (estimate.proportion, estimate.ci_low, estimate.ci_high, estimate.p_value) == (
        None,
        None,
        None,
        None,
    )
    assert estimate.note == "no answers in this group"


# ---------------------------------------------------------------------------------------------------------------
# Table 2


def test_accuracy_breakdown_excludes_or_penalises_indeterminable_as_asked():
    rows = answers_from_counts(
        {
            REAL: {REAL: 6, SYNTHETIC: 2, INDETERMINABLE: 2},
            SYNTHETIC: {SYNTHETIC: 3, REAL: 5, INDETERMINABLE: 2},
        }
    )
    table = AnswerTable.from_records(rows)
    breakdown = accuracy_breakdown(table.truth, table.answer)

    excluded, as_wrong = breakdown.indeterminable_excluded, breakdown.indeterminable_as_wrong
    assert (excluded.all_items.successes, excluded.all_items.total) == (9, 16)
    assert (excluded.real_items.successes, excluded.real_items.total) == (6, 8)
    assert (excluded.synthetic_items.successes, excluded.synthetic_items.total) == (3, 8)
    assert (as_wrong.all_items.successes, as_wrong.all_items.total) == (9, 20)
    assert (as_wrong.real_items.successes, as_wrong.real_items.total) == (6, 10)
    assert (as_wrong.synthetic_items.successes, as_wrong.synthetic_items.total) == (3, 10)
    assert breakdown.indeterminable_count == 4
    assert (breakdown.sensitivity.successes, breakdown.sensitivity.total) == (3, 8)
    assert (breakdown.specificity.successes, breakdown.specificity.total) == (6, 8)
    low, high = proportion_confint(9, 16, method="wilson")
    assert (excluded.all_items.ci_low, excluded.all_items.ci_high) == pytest.approx((low, high))
    assert excluded.all_items.p_value == pytest.approx(stats.binomtest(9, 16).pvalue)


def test_accuracy_breakdown_without_synthetic_items_returns_none_instead_of_dividing_by_zero():
    table = AnswerTable.from_records(answers_from_counts({REAL: {REAL: 4, SYNTHETIC: 1}}))
    breakdown = accuracy_breakdown(table.truth, table.answer)
    assert breakdown.indeterminable_excluded.synthetic_items.proportion is None
    assert breakdown.sensitivity.note == "no answers in this group"
    assert breakdown.specificity.proportion == pytest.approx(0.8)


# ---------------------------------------------------------------------------------------------------------------
# Chi-squared, Fisher, permutation


def test_pearson_chi_squared_matches_scipy_on_random_tables():
    rng = np.random.default_rng(3)
    for shape in [(2, 2), (2, 3), (3, 3), (2, 5)]:
        for _ in range(25):
            table = rng.integers(1, 40, size=shape)
            for correction in (True, False):
                statistic, dof, p_value, expected = pearson_chi_squared(table, correction=correction)
                reference = stats.chi2_contingency(table, correction=correction)
                assert statistic == pytest.approx(reference.statistic, rel=1e-10, abs=1e-12)
                assert dof == reference.dof
                assert p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-15)
                np.testing.assert_allclose(expected, reference.expected_freq)


def test_binomial_truth_answer_test_applies_yates_and_matches_scipy():
    rng = np.random.default_rng(5)
    for _ in range(20):
        counts = rng.integers(5, 60, size=(2, 3))
        rows = answers_from_counts(
            {
                truth: dict(zip(ANSWERS, counts[row], strict=True))
                for row, truth in enumerate((REAL, SYNTHETIC))
            }
        )
        table = AnswerTable.from_records(rows)
        binomial = truth_answer_test(table.truth, table.answer, multinomial=False)
        multinomial = truth_answer_test(table.truth, table.answer, multinomial=True)

        assert binomial.yates_correction
        assert "Yates' continuity correction applied (2x2, 1 dof)" in binomial.method
        assert binomial.p_value == pytest.approx(
            stats.chi2_contingency(counts[:, :2], correction=True).pvalue
        )
        assert not multinomial.yates_correction
        assert "no continuity correction (2x3, 2 dof)" in multinomial.method
        assert multinomial.p_value == pytest.approx(stats.chi2_contingency(counts, correction=False).pvalue)


def test_nobody_answering_indeterminable_reduces_the_multinomial_test_to_2x2_and_says_so():
    table = AnswerTable.from_records(
        answers_from_counts({REAL: {REAL: 30, SYNTHETIC: 12}, SYNTHETIC: {REAL: 14, SYNTHETIC: 25}})
    )
    multinomial = truth_answer_test(table.truth, table.answer, multinomial=True)
    binomial = truth_answer_test(table.truth, table.answer, multinomial=False)

    assert multinomial.dropped_columns == (INDETERMINABLE,)
    assert multinomial.column_labels == (REAL, SYNTHETIC)
    assert any("the 2x3 table became 2x2" in note for note in multinomial.notes)
    assert multinomial.yates_correction
    assert multinomial.p_value == pytest.approx(binomial.p_value)
    assert multinomial.p_value == pytest.approx(stats.chi2_contingency([[30, 12], [14, 25]]).pvalue)


def test_a_table_with_one_non_empty_column_gives_a_reason_instead_of_a_p_value():
    table = AnswerTable.from_records(answers_from_counts({REAL: {REAL: 5}, SYNTHETIC: {REAL: 5}}))
    result = truth_answer_test(table.truth, table.answer, multinomial=True)
    assert result.p_value is None
    assert result.rejects_null is None
    assert "2x1" in result.reason
    assert json.dumps(result.to_dict(), allow_nan=False)


def test_an_empty_table_gives_a_reason_instead_of_a_p_value():
    result = truth_answer_test([], [], multinomial=False)
    assert result.p_value is None
    assert result.dropped_rows == (REAL, SYNTHETIC)
    assert "0x0" in result.reason


def test_fisher_exact_is_reported_for_a_sparse_2x2_table_and_decides():
    table = AnswerTable.from_records(
        answers_from_counts({REAL: {REAL: 6, SYNTHETIC: 1}, SYNTHETIC: {REAL: 1, SYNTHETIC: 5}})
    )
    result = truth_answer_test(table.truth, table.answer, multinomial=False)
    assert result.min_expected < 5
    assert result.exact_test.startswith("Fisher's exact test")
    assert result.exact_p_value == pytest.approx(stats.fisher_exact([[6, 1], [1, 5]]).pvalue)
    assert result.decisive_p_value == result.exact_p_value


def test_no_exact_test_is_run_when_every_expected_count_is_at_least_5():
    table = AnswerTable.from_records(
        answers_from_counts({REAL: {REAL: 20, SYNTHETIC: 15}, SYNTHETIC: {REAL: 12, SYNTHETIC: 22}})
    )
    result = truth_answer_test(table.truth, table.answer, multinomial=False)
    assert result.exact_p_value is None
    assert result.decisive_p_value == result.p_value


def exact_permutation_p_value(table):
    """Exact conditional p-value of Pearson's statistic for a 2 x c table by enumerating all first rows."""
    table = np.asarray(table)
    column_sums = table.sum(axis=0)
    first_row_sum = table[0].sum()
    total = table.sum()
    _, _, _, expected = pearson_chi_squared(table, correction=False)
    observed = ((table - expected) ** 2 / expected).sum()
    p_value = 0.0
    for first_row in product(*(range(count + 1) for count in column_sums)):
        if sum(first_row) != first_row_sum:
            continue
        candidate = np.array([first_row, column_sums - np.array(first_row)])
        probability = np.prod([comb(c, x, exact=True) for c, x in zip(column_sums, first_row, strict=True)])
        probability /= comb(total, first_row_sum, exact=True)
        if ((candidate - expected) ** 2 / expected).sum() >= observed - 1e-9:
            p_value += probability
    return p_value


@pytest.mark.parametrize("table", [[[6, 1, 2], [2, 5, 0]], [[3, 3, 1], [2, 4, 3]], [[8, 0, 0], [1, 4, 3]]])
def test_permutation_test_agrees_with_exact_enumeration(table):
    expected = exact_permutation_p_value(table)
    observed = permutation_test_p_value(np.array(table), n_resamples=20_000, seed=1)
    # Monte Carlo standard error is at most 0.0036 with 20,000 resamples.
    assert observed == pytest.approx(expected, abs=0.015)


def test_permutation_test_is_reproducible_and_has_the_plus_one_form():
    table = np.array([[10, 12, 3], [14, 9, 1]])
    first = permutation_test_p_value(table, n_resamples=999, seed=42)
    assert permutation_test_p_value(table, n_resamples=999, seed=42) == first
    assert (first * 1000) == pytest.approx(round(first * 1000))
    assert first >= 1 / 1000


def test_sparse_multinomial_table_reports_a_seeded_permutation_test():
    table = AnswerTable.from_records(
        answers_from_counts(
            {
                REAL: {REAL: 6, SYNTHETIC: 2, INDETERMINABLE: 1},
                SYNTHETIC: {REAL: 2, SYNTHETIC: 5, INDETERMINABLE: 2},
            }
        )
    )
    result = truth_answer_test(table.truth, table.answer, multinomial=True, n_resamples=5000, seed=9)
    assert result.resamples == 5000 and result.seed == 9
    assert "permutation" in result.exact_test
    assert result.exact_p_value == permutation_test_p_value(
        np.array([[6, 2, 1], [2, 5, 2]]), n_resamples=5000, seed=9
    )


# ---------------------------------------------------------------------------------------------------------------
# Holm


def test_holm_matches_statsmodels_multipletests():
    rng = np.random.default_rng(17)
    for size in (1, 2, 5, 12):
        for _ in range(4):
            p_values = rng.uniform(0, 0.2, size=size) ** rng.uniform(0.5, 2)
            expected = multipletests(p_values, method="holm")[1]
            np.testing.assert_allclose(holm_adjust(list(p_values)), expected, rtol=1e-12)


def test_holm_leaves_missing_p_values_out_of_the_family():
    adjusted = holm_adjust([0.01, None, 0.04])
    assert adjusted[1] is None
    np.testing.assert_allclose([adjusted[0], adjusted[2]], multipletests([0.01, 0.04], method="holm")[1])


def test_holm_adjusted_tests_restate_the_decision_with_the_adjusted_p():
    significant = independence_test(
        [[40, 10], [10, 40]],
        row_labels=("real", "synthetic"),
        column_labels=("real", "synthetic"),
        row_variable="truth",
        column_variable="answer",
        hypothesis=TRUTH_VS_ANSWER,
    )
    borderline = independence_test(
        [[28, 20], [19, 29]],
        row_labels=("real", "synthetic"),
        column_labels=("real", "synthetic"),
        row_variable="truth",
        column_variable="answer",
        hypothesis=TRUTH_VS_ANSWER,
    )
    adjusted = holm_adjust_tests([significant, borderline], "family")
    expected = multipletests([significant.p_value, borderline.p_value], method="holm")[1]
    assert [test.holm_p_value for test in adjusted] == pytest.approx(list(expected))
    assert all(test.holm_family == "family" for test in adjusted)
    assert adjusted[0].rejects_null is True and "Holm-adjusted" in adjusted[0].conclusion
    assert adjusted[1].rejects_null == (expected[1] < 0.05)


# ---------------------------------------------------------------------------------------------------------------
# Cochran-Mantel-Haenszel


@pytest.mark.parametrize("correction", [True, False])
def test_mantel_haenszel_matches_statsmodels_stratified_table(correction):
    rng = np.random.default_rng(23 if correction else 29)
    for _ in range(15):
        strata = rng.integers(2, 6)
        tables = rng.integers(3, 30, size=(strata, 2, 2))
        truth, answer, stratum = [], [], []
        for index, table in enumerate(tables):
            for (row, truth_label), (column, answer_label) in product(
                enumerate((REAL, SYNTHETIC)), enumerate((REAL, SYNTHETIC))
            ):
                truth += [truth_label] * table[row, column]
                answer += [answer_label] * table[row, column]
                stratum += [index] * table[row, column]
        truth += [REAL] * 3
        answer += [INDETERMINABLE] * 3
        stratum += [0] * 3
        result = mantel_haenszel_test(truth, answer, stratum, correction=correction)
        reference = StratifiedTable(np.transpose(tables, (1, 2, 0)))
        test = reference.test_null_odds(correction=correction)
        deviation = abs(
            sum(tables[:, 0, 0] - tables[:, 0, :].sum(1) * tables[:, :, 0].sum(1) / tables.sum((1, 2)))
        )
        if correction and deviation < 0.5:
            # statsmodels squares a negative |deviation| - 0.5; the correction is meant to stop at 0.
            assert (result.statistic, result.p_value) == (0.0, 1.0)
        else:
            assert result.statistic == pytest.approx(test.statistic, rel=1e-9)
            assert result.p_value == pytest.approx(test.pvalue, rel=1e-7, abs=1e-14)
        assert result.pooled_odds_ratio == pytest.approx(reference.oddsratio_pooled)
        low, high = reference.oddsratio_pooled_confint()
        assert (result.odds_ratio_ci_low, result.odds_ratio_ci_high) == pytest.approx((low, high))
        assert result.answer_count == tables.sum()


def test_mantel_haenszel_drops_a_stratum_with_a_single_answer():
    truth = [REAL, REAL, SYNTHETIC, SYNTHETIC, REAL, SYNTHETIC]
    answer = [REAL, SYNTHETIC, SYNTHETIC, SYNTHETIC, REAL, REAL]
    stratum = ["a", "a", "a", "a", "b", "c"]
    result = mantel_haenszel_test(truth, answer, stratum)
    assert result.dropped_strata == ("b", "c")
    assert result.strata == ("a",)
    assert result.p_value is not None


def test_mantel_haenszel_without_answers_gives_a_reason():
    result = mantel_haenszel_test([], [], [])
    assert result.p_value is None
    assert result.reason == "no stratum has 2 or more definite answers"


# ---------------------------------------------------------------------------------------------------------------
# Survey against survey


def test_compare_surveys_builds_the_paper_tables_and_matches_scipy():
    rows = answers_from_counts(
        {
            REAL: {REAL: 20, SYNTHETIC: 8, INDETERMINABLE: 2},
            SYNTHETIC: {REAL: 9, SYNTHETIC: 18, INDETERMINABLE: 3},
        },
        survey="A",
    ) + answers_from_counts(
        {REAL: {REAL: 14, SYNTHETIC: 14, INDETERMINABLE: 4}, SYNTHETIC: {REAL: 15, SYNTHETIC: 11}},
        survey="B",
        start_item=100,
    )
    comparison = compare_surveys(AnswerTable.from_records(rows), "A", "B")

    assert comparison.synthetic_items_multinomial.observed == ((9, 18, 3), (15, 11, 0))
    assert comparison.synthetic_items_binomial.observed == ((9, 18), (15, 11))
    assert comparison.real_items_binomial.observed == ((20, 8), (14, 14))
    assert comparison.correctness_binomial.column_labels == ("correct", "wrong")
    assert comparison.correctness_binomial.observed == ((38, 17), (25, 29))
    assert comparison.correctness_multinomial.observed == ((38, 17, 5), (25, 29, 4))
    assert comparison.synthetic_items_binomial.p_value == pytest.approx(
        stats.chi2_contingency([[9, 18], [15, 11]], correction=True).pvalue
    )
    assert comparison.correctness_binomial.p_value == pytest.approx(
        stats.chi2_contingency([[38, 17], [25, 29]], correction=True).pvalue
    )
    assert comparison.correctness_multinomial.p_value == pytest.approx(
        stats.chi2_contingency([[38, 17, 5], [25, 29, 4]], correction=False).pvalue
    )


def test_comparing_with_an_empty_survey_gives_reasons_not_errors():
    table = AnswerTable.from_records(
        answers_from_counts({REAL: {REAL: 3}, SYNTHETIC: {SYNTHETIC: 3}}, survey="A")
    )
    comparison = compare_surveys(table, "A", "missing")
    assert comparison.synthetic_items_binomial.p_value is None
    assert comparison.synthetic_items_binomial.dropped_rows == ("missing",)


# ---------------------------------------------------------------------------------------------------------------
# Readers


def test_per_reader_accuracy_counts_each_reader_separately():
    truth = [REAL, SYNTHETIC, REAL, SYNTHETIC, REAL, SYNTHETIC]
    answer = [REAL, SYNTHETIC, INDETERMINABLE, REAL, SYNTHETIC, SYNTHETIC]
    reader = ["ann", "ann", "ann", "bob", "bob", "bob"]
    ann, bob = per_reader_accuracy(truth, answer, reader)
    assert ann.reader == "ann" and bob.reader == "bob"
    assert (ann.indeterminable_excluded.successes, ann.indeterminable_excluded.total) == (2, 2)
    assert (ann.indeterminable_as_wrong.successes, ann.indeterminable_as_wrong.total) == (2, 3)
    assert (bob.indeterminable_excluded.successes, bob.indeterminable_excluded.total) == (1, 3)
    assert ann.indeterminable_count == 1
    low, high = proportion_confint(1, 3, method="wilson")
    assert (bob.indeterminable_excluded.ci_low, bob.indeterminable_excluded.ci_high) == pytest.approx(
        (low, high)
    )


def test_fleiss_kappa_matches_statsmodels_on_random_count_tables():
    rng = np.random.default_rng(31)
    for raters in (2, 3, 7):
        for _ in range(20):
            counts = rng.multinomial(raters, rng.dirichlet([1, 1, 1]), size=rng.integers(2, 30))
            kappa, _, _ = fleiss_kappa_from_counts(counts)
            assert kappa == pytest.approx(statsmodels_fleiss_kappa(counts, method="fleiss"), abs=1e-12)


def test_fleiss_kappa_from_answers_matches_statsmodels():
    table = balanced_study(np.random.default_rng(37), surveys=(1,), readers=6, items=30)
    counts = np.array(
        [[np.sum((table.item == item) & (table.answer == a)) for a in ANSWERS] for item in range(30)]
    )
    result = fleiss_kappa(table.item, table.answer)
    assert result.kappa == pytest.approx(statsmodels_fleiss_kappa(counts), abs=1e-12)
    assert (result.item_count, result.raters_per_item, result.dropped_item_count) == (30, 6, 0)


def test_fleiss_kappa_keeps_only_items_with_the_most_common_number_of_ratings():
    item = [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4]
    answer = [REAL, REAL, REAL, SYNTHETIC, REAL, REAL, SYNTHETIC, SYNTHETIC, SYNTHETIC, SYNTHETIC, REAL]
    result = fleiss_kappa(item, answer)
    assert (result.item_count, result.raters_per_item, result.dropped_item_count) == (2, 3, 2)
    expected = statsmodels_fleiss_kappa(np.array([[2, 1, 0], [0, 3, 0]]))
    assert result.kappa == pytest.approx(expected)
    assert "dropped 2" in result.notes[0]


def test_fleiss_kappa_of_identical_answers_is_undefined_with_a_reason():
    result = fleiss_kappa([1, 1, 2, 2], [REAL] * 4)
    assert result.kappa is None
    assert "chance agreement is 1" in result.reason


def test_gee_matches_a_direct_statsmodels_fit():
    rng = np.random.default_rng(41)
    reader_skill = rng.normal(0.3, 0.5, size=12)
    rows = []
    for reader, skill in enumerate(reader_skill):
        for item in range(40):
            synthetic = item % 2
            probability = expit(skill + (0.4 if synthetic else -0.2))
            rows.append(
                {"reader": reader, "synthetic": synthetic, "correct": int(rng.random() < probability)}
            )
    frame = pd.DataFrame(rows)
    frame["truth_code"] = frame["synthetic"] - 0.5
    reference = smf.gee(
        "correct ~ truth_code",
        groups="reader",
        data=frame,
        family=families.Binomial(),
        cov_struct=Exchangeable(),
    ).fit()
    truth = np.where(frame["synthetic"] == 1, SYNTHETIC, REAL)

    result = gee_accuracy(frame["correct"].to_numpy(), truth, frame["reader"].to_numpy())

    intercept, slope = reference.params["Intercept"], reference.params["truth_code"]
    se = reference.bse["Intercept"]
    assert result.intercept_log_odds == pytest.approx(intercept, rel=1e-6)
    assert result.accuracy == pytest.approx(expit(intercept), rel=1e-6)
    assert result.ci_low == pytest.approx(expit(intercept - 1.959963984540054 * se), rel=1e-6)
    assert result.ci_high == pytest.approx(expit(intercept + 1.959963984540054 * se), rel=1e-6)
    assert result.p_value == pytest.approx(reference.pvalues["Intercept"], rel=1e-6)
    assert result.truth_log_odds_ratio == pytest.approx(slope, rel=1e-6)
    assert result.truth_p_value == pytest.approx(reference.pvalues["truth_code"], rel=1e-6)
    assert result.synthetic_items_accuracy == pytest.approx(expit(intercept + slope / 2), rel=1e-6)
    assert result.cluster_count == 12


def test_gee_with_one_reader_gives_a_reason_instead_of_crashing():
    table = coin_flip_table(seed=1, readers=1, items=40)
    result = gee_accuracy(table.correct, table.truth, table.reader)
    assert result.accuracy is None
    assert "needs at least 2 readers" in result.reason


def test_gee_without_variation_gives_a_reason():
    table = perfect_table(readers=3)
    result = gee_accuracy(table.correct, table.truth, table.reader)
    assert result.accuracy is None
    assert "every answer is correct" in result.reason


def test_gee_with_perfect_separation_on_one_truth_gives_a_reason():
    truth = [REAL, REAL, SYNTHETIC, SYNTHETIC] * 3
    correct = [True, True, True, False] * 3
    reader = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    result = gee_accuracy(correct, truth, reader)
    assert "perfect separation: every answer on real items is correct" in result.reason


# ---------------------------------------------------------------------------------------------------------------
# Equivalence


def test_equivalence_sample_size_follows_the_documented_formula():
    z_alpha, z_half_beta = stats.norm.ppf(0.95), stats.norm.ppf(0.9)
    assert equivalence_sample_size() == math.ceil((z_alpha + z_half_beta) ** 2 * 0.25 / 0.01) == 215
    assert equivalence_sample_size(0.05) == math.ceil((z_alpha + z_half_beta) ** 2 * 0.25 / 0.0025)


def test_equivalence_sample_size_delivers_about_80_percent_power_exactly_computed():
    n = equivalence_sample_size()
    successes = np.arange(n + 1)
    shown = np.array([equivalence_test(k, n).equivalent for k in successes])
    power = stats.binom.pmf(successes, n, 0.5)[shown].sum()
    assert 0.75 < power < 0.9


def test_equivalence_decision_agrees_with_the_tost_p_value():
    for total in (50, 215, 400, 1000):
        for successes in range(0, total + 1, max(1, total // 60)):
            result = equivalence_test(successes, total)
            assert result.equivalent == (result.tost_p_value < 0.05)
            assert result.interval_confidence == pytest.approx(0.9)
            low, high = proportion_confint(successes, total, alpha=0.1, method="wilson")
            assert (result.ci_low, result.ci_high) == pytest.approx((low, high))


def test_coin_flipping_is_shown_equivalent_to_chance_only_with_enough_answers():
    large = coin_flip_table(seed=3, items=1000)
    small = coin_flip_table(seed=3, items=20)
    assert equivalence_test(np.count_nonzero(large.correct), len(large)).equivalent is True
    small_result = equivalence_test(np.count_nonzero(small.correct), len(small))
    assert small_result.equivalent is False
    assert "not shown" in small_result.conclusion


def test_equivalence_without_answers_gives_a_reason():
    result = equivalence_test(0, 0)
    assert result.equivalent is None and result.reason == "no answers"


# ---------------------------------------------------------------------------------------------------------------
# Reports and hand-made extremes


def test_a_perfect_reader_is_detected():
    report = survey_report(perfect_table(readers=1))
    accuracy = report.accuracy.indeterminable_excluded.all_items
    assert accuracy.proportion == 1.0
    assert accuracy.p_value == pytest.approx(2 * 0.5**20)
    assert report.truth_answer_binomial.rejects_null is True
    assert "can tell" in report.truth_answer_binomial.conclusion.lower()
    assert report.equivalence.equivalent is False


def test_several_perfect_readers_agree_perfectly():
    report = survey_report(perfect_table(readers=4))
    assert report.fleiss_kappa.kappa == pytest.approx(1.0)
    assert report.gee.reason.startswith("no variation")


def test_a_coin_flipping_reader_is_not_said_to_tell():
    report = survey_report(coin_flip_table(seed=2024, items=200))
    test = report.truth_answer_binomial
    assert test.p_value > 0.05
    assert test.rejects_null is False
    assert "can tell" not in test.conclusion.lower()
    assert "not evidence that they cannot" in test.conclusion


def test_a_one_reader_survey_is_reported_without_crashing():
    report = survey_report(coin_flip_table(seed=5, readers=1, items=30))
    assert report.reader_count == 1
    assert "needs at least 2 readers" in report.gee.reason
    assert report.fleiss_kappa.kappa is None
    assert report.fleiss_kappa.reason == "no item was rated by 2 or more readers"
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_an_empty_survey_is_reported_without_crashing():
    table = balanced_study(np.random.default_rng(0), surveys=(1,), readers=2, items=4)
    report = survey_report(table, survey="missing")
    assert report.answer_count == 0
    assert report.accuracy.indeterminable_excluded.all_items.proportion is None
    assert report.truth_answer_binomial.p_value is None
    assert report.truth_answer_multinomial.p_value is None
    assert report.gee.reason == "no answers"
    assert report.equivalence.reason == "no answers"
    assert report.notes == ("the survey has no answers",)
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_study_report_is_json_serialisable_and_holm_adjusts_each_family():
    table = balanced_study(np.random.default_rng(43), surveys=(1, 2, 3), readers=4, items=20)
    report = study_report(table, n_resamples=500)
    encoded = json.dumps(report.to_dict(), allow_nan=False)
    assert '"hypothesis"' not in encoded

    assert [survey.survey for survey in report.surveys] == [1, 2, 3]
    assert len(report.comparisons) == 3
    within = [survey.truth_answer_binomial for survey in report.surveys]
    expected = multipletests([test.decisive_p_value for test in within], method="holm")[1]
    assert [test.holm_p_value for test in within] == pytest.approx(list(expected))
    pairs = [comparison.real_items_multinomial for comparison in report.comparisons]
    expected = multipletests([test.decisive_p_value for test in pairs], method="holm")[1]
    assert [test.holm_p_value for test in pairs] == pytest.approx(list(expected))
    assert len(report.holm_families) == 8
    assert (
        report.pooled_binomial.observed
        == truth_answer_test(table.truth, table.answer, multinomial=False).observed
    )
    assert report.mantel_haenszel.strata == (1, 2, 3)


# Survey sizes and accuracies like the paper's Table 2 (11, 8, 6 and 6 readers; 10 real and 10 synthetic
# slices each). The split into indeterminable answers is not published, so it is made up here.
PAPER_LIKE_COUNTS = {
    1: {
        REAL: {REAL: 49, SYNTHETIC: 51, INDETERMINABLE: 10},
        SYNTHETIC: {SYNTHETIC: 48, REAL: 45, INDETERMINABLE: 17},
    },
    2: {
        REAL: {REAL: 50, SYNTHETIC: 25, INDETERMINABLE: 5},
        SYNTHETIC: {SYNTHETIC: 38, REAL: 33, INDETERMINABLE: 9},
    },
    3: {
        REAL: {REAL: 32, SYNTHETIC: 22, INDETERMINABLE: 6},
        SYNTHETIC: {SYNTHETIC: 30, REAL: 24, INDETERMINABLE: 6},
    },
    4: {
        REAL: {REAL: 31, SYNTHETIC: 25, INDETERMINABLE: 4},
        SYNTHETIC: {SYNTHETIC: 26, REAL: 29, INDETERMINABLE: 5},
    },
}


def deciding_p_value(test):
    for name in ("holm_p_value", "decisive_p_value", "p_value"):
        value = getattr(test, name, None)
        if value is not None:
            return value
    raise AssertionError(f"no p-value in {test!r}")


PAPER_TABLE_2 = {1: (49.0, 51.6), 2: (66.7, 53.5), 3: (59.3, 55.6), 4: (55.4, 47.3)}


def test_paper_like_counts_say_readers_can_tell_exactly_when_p_is_below_alpha():
    rows = []
    for survey, counts in PAPER_LIKE_COUNTS.items():
        rows += answers_from_counts(counts, survey=survey, readers=6, start_item=1000 * survey)
    table = AnswerTable.from_records(rows)
    report = study_report(table, n_resamples=2000)

    for survey in report.surveys:
        accuracy = survey.accuracy.indeterminable_excluded
        real, synthetic = PAPER_TABLE_2[survey.survey]
        assert round(100 * accuracy.real_items.proportion, 1) == real
        assert round(100 * accuracy.synthetic_items.proportion, 1) == synthetic

    truth_tests = [report.pooled_binomial, report.pooled_multinomial, report.mantel_haenszel]
    for survey in report.surveys:
        answers = table.for_survey(survey.survey)
        for multinomial in (False, True):
            # Holm-adjusted within the study, and unadjusted as a single test.
            truth_tests.append(
                survey.truth_answer_multinomial if multinomial else survey.truth_answer_binomial
            )
            truth_tests.append(
                truth_answer_test(answers.truth, answers.answer, multinomial=multinomial, n_resamples=2000)
            )
    decisions = []
    for test in truth_tests:
        p_value = deciding_p_value(test)
        says_can_tell = "can tell" in test.conclusion.lower()
        assert says_can_tell == (p_value < 0.05), test.conclusion
        assert test.rejects_null == (p_value < 0.05)
        decisions.append(says_can_tell)
    assert any(decisions) and not all(decisions)

    survey_2 = truth_answer_test(
        table.for_survey(2).truth, table.for_survey(2).answer, multinomial=False, n_resamples=2000
    )
    survey_1 = truth_answer_test(
        table.for_survey(1).truth, table.for_survey(1).answer, multinomial=False, n_resamples=2000
    )
    assert survey_2.p_value < 0.05 and "readers CAN tell" in survey_2.conclusion
    assert survey_1.p_value > 0.05 and "can tell" not in survey_1.conclusion.lower()
    for comparison in report.comparisons:
        for name in comparison.TESTS:
            assert "can tell" not in getattr(comparison, name).conclusion.lower()
