"""OR MRMC analysis checked against the published OR-DBM MRMC 2.51 output for the Van Dyke data, and edge cases.

The reference files (readerstats/tests/reference/vandyke*.{csv,json}, README.mrmc.md) are copies of the printed
program output; each number is compared to half a unit in its last printed decimal.
"""

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from readerstats.mrmc import or_analysis

REFERENCE = Path(__file__).parent / "reference"
EXPECTED = json.loads((REFERENCE / "vandyke_expected.json").read_text())


def close_to_printed(actual, printed):
    """|actual - printed| <= half a unit in the last decimal of the printed number (as stored in the JSON)."""
    exponent = Decimal(repr(printed)).as_tuple().exponent
    return abs(actual - printed) <= 0.5 * 10.0**exponent + 1e-15


@pytest.fixture(scope="module")
def vandyke():
    data = pd.read_csv(REFERENCE / "vandyke.csv")
    return or_analysis(data.reader, data.modality, data.case, data.truth, data.rating, fom="auc", positive=1)


def test_per_reader_aucs_match(vandyke):
    assert vandyke.estimable
    for row in EXPECTED["auc"]["values"]:
        actual = vandyke.reader_fom[row["modality"] - 1][row["reader"] - 1]
        assert close_to_printed(actual, row["auc"]), row


def test_per_reader_auc_is_the_mann_whitney_statistic():
    data = pd.read_csv(REFERENCE / "vandyke.csv")
    rows = data[(data.reader == 2) & (data.modality == 1)]
    u = stats.mannwhitneyu(rows.rating[rows.truth == 1], rows.rating[rows.truth == 0]).statistic
    analysis = or_analysis(
        data.reader, data.modality, data.case, data.truth, data.rating, fom="auc", positive=1
    )
    assert analysis.reader_fom[0][1] == pytest.approx(u / (45 * 69), abs=1e-12)


def test_modality_means_and_anova_match(vandyke):
    for row in EXPECTED["modality_means"]["values"]:
        assert close_to_printed(vandyke.modality_means[row["modality"] - 1], row["auc"])
    anova = EXPECTED["anova_TR"]["values"]
    assert close_to_printed(vandyke.variance.ms_t, anova["T"]["MS"])
    assert close_to_printed(vandyke.variance.ms_r, anova["R"]["MS"])
    assert close_to_printed(vandyke.variance.ms_tr, anova["T*R"]["MS"])


def test_or_variance_components_match(vandyke):
    expected = EXPECTED["or_variance_components"]["values"]
    v = vandyke.variance
    for name, actual in (
        ("Var_R", v.var_r),
        ("Var_TR", v.var_tr),
        ("Cov1", v.cov1),
        ("Cov2", v.cov2),
        ("Cov3", v.cov3),
        ("Var_Error", v.var_error),
    ):
        assert close_to_printed(actual, expected[name]), name
    # MRMCaov prints more digits of the same jackknife components
    more = EXPECTED["cross_check_MRMCaov"]["jackknife_FRRC"]["or_variance_components"]
    assert v.var_r == pytest.approx(more["Var_R"], abs=5e-11)
    assert v.cov3 == pytest.approx(more["Cov3"], abs=5e-11)


def check_differences(test, expected_block, keys):
    (expected,) = expected_block["differences"]
    (actual,) = test.differences
    assert (actual.modality_a, actual.modality_b) == (1, 2)
    for key, value in keys.items():
        assert close_to_printed(getattr(actual, value), expected[key]), key


def test_rrrc_matches(vandyke):
    expected = EXPECTED["RRRC"]
    rrrc = vandyke.rrrc
    assert close_to_printed(rrrc.statistic, expected["global_test"]["F"])
    assert close_to_printed(rrrc.ddf, expected["global_test"]["ddf"])
    assert close_to_printed(rrrc.p_value, expected["global_test"]["p"])
    assert close_to_printed(rrrc.error_term, expected["global_test"]["error_term_MS"])
    assert rrrc.ndf == 1
    check_differences(
        rrrc,
        expected,
        {
            "difference": "estimate",
            "stderr": "stderr",
            "df": "df",
            "t": "statistic",
            "p": "p_value",
            "ci_lower": "ci_low",
            "ci_upper": "ci_high",
        },
    )
    for single, row in zip(rrrc.single_modality, expected["single_modality"], strict=True):
        assert single.modality == row["modality"]
        for key, attribute in (
            ("auc", "estimate"),
            ("stderr", "stderr"),
            ("df", "df"),
            ("ci_lower", "ci_low"),
            ("ci_upper", "ci_high"),
        ):
            assert close_to_printed(getattr(single, attribute), row[key]), (row["modality"], key)


def test_frrc_matches(vandyke):
    expected = EXPECTED["FRRC"]
    frrc = vandyke.frrc
    assert close_to_printed(frrc.statistic, expected["global_test"]["X2"])
    assert close_to_printed(frrc.p_value, expected["global_test"]["p"])
    check_differences(
        frrc,
        expected,
        {"stderr": "stderr", "z": "statistic", "p": "p_value", "ci_lower": "ci_low", "ci_upper": "ci_high"},
    )
    for single, row in zip(frrc.single_modality, expected["single_modality"], strict=True):
        for key, attribute in (("stderr", "stderr"), ("ci_lower", "ci_low"), ("ci_upper", "ci_high")):
            assert close_to_printed(getattr(single, attribute), row[key]), (row["modality"], key)
    for (reader, actual), row in zip(
        frrc.reader_differences, expected["single_reader_differences"], strict=True
    ):
        assert reader == row["reader"]
        for key, attribute in (
            ("difference", "estimate"),
            ("stderr", "stderr"),
            ("p", "p_value"),
            ("ci_lower", "ci_low"),
            ("ci_upper", "ci_high"),
        ):
            assert close_to_printed(getattr(actual, attribute), row[key]), (reader, key)


def test_rrfc_matches(vandyke):
    expected = EXPECTED["RRFC"]
    rrfc = vandyke.rrfc
    assert close_to_printed(rrfc.statistic, expected["global_test"]["F"])
    assert close_to_printed(rrfc.p_value, expected["global_test"]["p"])
    assert rrfc.ddf == expected["global_test"]["ddf"]
    check_differences(
        rrfc,
        expected,
        {"stderr": "stderr", "t": "statistic", "p": "p_value", "ci_lower": "ci_low", "ci_upper": "ci_high"},
    )
    for single, row in zip(rrfc.single_modality, expected["single_modality"], strict=True):
        for key, attribute in (("stderr", "stderr"), ("ci_lower", "ci_low"), ("ci_upper", "ci_high")):
            assert close_to_printed(getattr(single, attribute), row[key]), (row["modality"], key)


def test_result_is_json_serialisable(vandyke):
    text = json.dumps(vandyke.to_dict())
    assert "NaN" not in text and '"rrrc"' in text


# --------------------------------------------------------------------------------------------------
# Blindread designs: answers, proportion FOMs, cases nested within modality


def answers(rng, readers=6, real=20, synthetic=20, modalities=("A", "B"), shared_real=True, skill=0.7):
    rows = []
    for m in modalities:
        cases = [(f"real-{k}" if shared_real else f"{m}-real-{k}", "real") for k in range(real)]
        cases += [(f"{m}-syn-{k}", "synthetic") for k in range(synthetic)]
        for j in range(readers):
            p = np.clip(skill + rng.normal(0, 0.1), 0.05, 0.95)
            for case, truth in cases:
                right = rng.random() < p
                answer = truth if right else ("synthetic" if truth == "real" else "real")
                rows.append((f"R{j}", m, case, truth, answer))
    return pd.DataFrame(rows, columns=["reader", "modality", "case", "truth", "answer"])


def analyse(frame, **options):
    return or_analysis(frame.reader, frame.modality, frame.case, frame.truth, frame.answer, **options)


def test_accuracy_fom_is_the_proportion_correct_per_reader():
    frame = answers(np.random.default_rng(1))
    analysis = analyse(frame)
    for i, m in enumerate(("A", "B")):
        for j, r in enumerate(analysis.readers):
            rows = frame[(frame.modality == m) & (frame.reader == r)]
            assert analysis.reader_fom[i][j] == pytest.approx((rows.truth == rows.answer).mean())


def test_sensitivity_and_specificity_use_their_cases_only():
    frame = answers(np.random.default_rng(2))
    sens = analyse(frame, fom="sensitivity")
    spec = analyse(frame, fom="specificity")
    rows = frame[(frame.modality == "A") & (frame.reader == "R0")]
    syn, real = rows[rows.truth == "synthetic"], rows[rows.truth == "real"]
    assert sens.reader_fom[0][0] == pytest.approx((syn.answer == "synthetic").mean())
    assert spec.reader_fom[0][0] == pytest.approx((real.answer == "real").mean())
    assert sens.case_counts == (20, 20) and sens.shared_case_count == 0
    assert spec.shared_case_count == 20


def test_jackknife_variance_of_one_proportion_is_the_binomial_variance():
    # one modality, proportion correct: the jackknife variance of a mean is s^2/n exactly
    frame = answers(np.random.default_rng(3), modalities=("A",))
    analysis = analyse(frame)
    rows = frame[frame.reader == analysis.readers[0]]
    correct = (rows.truth == rows.answer).to_numpy(float)
    expected = correct.var(ddof=1) / len(correct)
    # Var is the mean over readers; check reader 0 alone through a one-reader-pair design
    values = []
    for reader in analysis.readers:
        c = frame[frame.reader == reader]
        c = (c.truth == c.answer).to_numpy(float)
        values.append(c.var(ddof=1) / len(c))
    assert analysis.variance.var_error == pytest.approx(np.mean(values))
    assert expected == pytest.approx(values[0])


def test_disjoint_synthetic_cases_have_no_cross_modality_covariance():
    frame = answers(np.random.default_rng(4), shared_real=False)
    analysis = analyse(frame)
    assert analysis.shared_case_count == 0
    assert analysis.variance.cov1 == 0 and analysis.variance.cov3 == 0
    assert (
        analysis.rrrc.estimable and analysis.rrrc.differences[0].ci_low < analysis.rrrc.differences[0].ci_high
    )


def test_single_modality_tests_accuracy_against_chance():
    frame = answers(np.random.default_rng(5), modalities=("A",), readers=8, skill=0.8)
    analysis = analyse(frame)
    (single,) = analysis.rrrc.single_modality
    assert analysis.rrrc.differences == () and analysis.rrrc.statistic is None
    assert single.ci_low < single.estimate < single.ci_high
    assert single.statistic == pytest.approx((single.estimate - 0.5) / single.stderr)
    assert single.p_value == pytest.approx(2 * stats.t.sf(abs(single.statistic), single.df))
    assert single.p_value < 0.001


def test_indeterminable_excluded_or_wrong():
    frame = answers(np.random.default_rng(6))
    frame.loc[frame.index[:10], "answer"] = "indeterminable"
    excluded = analyse(frame)
    wrong = analyse(frame, indeterminable="wrong")
    rows = frame[(frame.modality == "A") & (frame.reader == "R0")]
    definite = rows[rows.answer != "indeterminable"]
    assert excluded.reader_fom[0][0] == pytest.approx((definite.truth == definite.answer).mean())
    assert wrong.reader_fom[0][0] == pytest.approx((rows.truth == rows.answer).mean())


# --------------------------------------------------------------------------------------------------
# Not estimable


def test_one_reader_is_not_estimable():
    frame = answers(np.random.default_rng(7), readers=1)
    analysis = analyse(frame)
    assert not analysis.estimable
    assert analysis.reason.startswith("not estimable because there is one reader")
    assert "NaN" not in json.dumps(analysis.to_dict())


def test_all_answers_correct_is_not_estimable():
    frame = answers(np.random.default_rng(8))
    frame["answer"] = frame.truth
    analysis = analyse(frame)
    assert not analysis.estimable and "every answer correct" in analysis.reason
    assert analysis.rrrc.single_modality[0].reason.startswith("not estimable because the standard error is 0")
    assert analysis.rrrc.single_modality[0].ci_low is None
    assert "NaN" not in json.dumps(analysis.to_dict())


def test_reader_answering_only_indeterminable_is_not_estimable():
    frame = answers(np.random.default_rng(9))
    frame.loc[(frame.reader == "R2") & (frame.modality == "B"), "answer"] = "indeterminable"
    analysis = analyse(frame)
    assert not analysis.estimable
    assert analysis.reason.startswith(
        "not estimable because reader R2 answered only 'indeterminable' in modality B"
    )
    assert analyse(frame, indeterminable="wrong").estimable


def test_case_nobody_answered_is_left_out_with_a_note():
    frame = answers(np.random.default_rng(10))
    frame["answer"] = frame.answer.astype(object)
    frame.loc[frame.case == "A-syn-3", "answer"] = None
    analysis = analyse(frame)
    assert analysis.estimable
    assert analysis.notes == ("1 case(s) nobody answered were left out: A-syn-3",)
    assert analysis.case_counts == (39, 40)
    reference = analyse(frame[frame.case != "A-syn-3"])
    assert analysis.rrrc.statistic == pytest.approx(reference.rrrc.statistic)


def test_ratings_all_tied_are_not_estimable():
    frame = answers(np.random.default_rng(11))
    frame["rating"] = 3
    analysis = or_analysis(frame.reader, frame.modality, frame.case, frame.truth, frame.rating, fom="auc")
    assert not analysis.estimable and "all ratings tied" in analysis.reason
    assert analysis.reader_fom[0][0] == 0.5


def test_reader_missing_from_a_modality_is_not_estimable():
    frame = answers(np.random.default_rng(12))
    frame = frame[~((frame.reader == "R1") & (frame.modality == "A"))]
    analysis = analyse(frame)
    assert analysis.reason.startswith("not estimable because reader R1 read nothing in modality A")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fom": "median"}, "fom must be one of"),
        ({"indeterminable": "maybe"}, "indeterminable must be"),
        ({"confidence": 1.5}, "confidence must be"),
    ],
)
def test_bad_options_raise_one_line_errors(change, message):
    frame = answers(np.random.default_rng(13))
    with pytest.raises(ValueError, match=message):
        analyse(frame, **change)


def test_garbage_input_raises_one_line_errors():
    with pytest.raises(ValueError, match="columns differ in length"):
        or_analysis([1, 2], [1], [1], [1], [1])
    frame = answers(np.random.default_rng(14))
    frame.loc[frame.index[0], "truth"] = "synthetic" if frame.truth.iloc[0] == "real" else "real"
    with pytest.raises(ValueError, match="two different truths"):
        analyse(frame)
    doubled = pd.concat([answers(np.random.default_rng(15)).iloc[:1], answers(np.random.default_rng(15))])
    with pytest.raises(ValueError, match="two answers"):
        analyse(doubled)
    assert not or_analysis([], [], [], [], []).estimable
