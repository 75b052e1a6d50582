"""DBM analysis of the Van Dyke data checked against the published OR-DBM MRMC 2.51 output (its "Corresponding DBM
variance component" block, printed to 8 decimals), against an independent ANOVA of the pseudovalues (statsmodels),
and against the OR-DBM equivalence identities (Hillis 2005, 2007); then edge cases."""

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from readerstats.dbm import dbm_analysis, dbm_pseudovalues
from readerstats.mrmc import or_analysis

REFERENCE = Path(__file__).parent / "reference"
EXPECTED = json.loads((REFERENCE / "vandyke_expected.json").read_text())


def close_to_printed(actual, printed):
    """|actual - printed| <= half a unit in the last printed decimal (as stored in the JSON)."""
    exponent = Decimal(repr(printed)).as_tuple().exponent
    return abs(actual - printed) <= 0.5 * 10.0**exponent + 1e-15


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REFERENCE / "vandyke.csv")


@pytest.fixture(scope="module")
def dbm(data):
    return dbm_analysis(data.reader, data.modality, data.case, data.truth, data.rating, fom="auc", positive=1)


@pytest.fixture(scope="module")
def oracle(data):
    return or_analysis(data.reader, data.modality, data.case, data.truth, data.rating, fom="auc", positive=1)


def test_variance_components_match_the_printed_dbm_block(dbm):
    assert dbm.estimable and dbm.case_count == 114
    expected = EXPECTED["dbm_variance_components"]["values"]
    v = dbm.variance
    for name, actual in (
        ("Var_R", v.var_r),
        ("Var_C", v.var_c),
        ("Var_TR", v.var_tr),
        ("Var_TC", v.var_tc),
        ("Var_RC", v.var_rc),
        ("Var_TRC_plus_Error", v.var_error),
    ):
        assert close_to_printed(actual, expected[name]), name


def test_rrrc_matches_the_printed_or_result(dbm):
    expected = EXPECTED["RRRC"]
    rrrc = dbm.rrrc
    assert rrrc.ndf == 1
    assert close_to_printed(rrrc.statistic, expected["global_test"]["F"])
    assert close_to_printed(rrrc.ddf, expected["global_test"]["ddf"])
    assert close_to_printed(rrrc.p_value, expected["global_test"]["p"])
    (difference,) = rrrc.differences
    (row,) = expected["differences"]
    for key, attribute in (
        ("difference", "estimate"),
        ("stderr", "stderr"),
        ("ci_lower", "ci_low"),
        ("ci_upper", "ci_high"),
        ("p", "p_value"),
    ):
        assert close_to_printed(getattr(difference, attribute), row[key]), key


def test_pseudovalue_anova_equals_statsmodels(data, dbm):
    rows = data[data.modality == 1]
    assert set(rows.case) == set(data.case)
    # the pseudovalues from their definition, case by case, for an independent ANOVA
    analysis = dbm
    cases = sorted(data.case.unique())
    records = []
    for i, modality in enumerate((1, 2)):
        for j, reader in enumerate((1, 2, 3, 4, 5)):
            mine = data[(data.modality == modality) & (data.reader == reader)].set_index("case")
            theta = analysis.reader_fom[i][j]
            left_out = []
            for k in cases:
                rest = mine.drop(index=k)
                pos, neg = rest.rating[rest.truth == 1].to_numpy(), rest.rating[rest.truth == 0].to_numpy()
                diff = pos[:, None] - neg[None, :]
                left_out.append(((diff > 0) + 0.5 * (diff == 0)).mean())
            y = dbm_pseudovalues(np.array(theta), np.array(left_out))
            assert y.mean() == pytest.approx(theta, abs=1e-12)
            records += [
                {"modality": modality, "reader": reader, "case": k, "y": value}
                for k, value in zip(cases, y, strict=True)
            ]
    frame = pd.DataFrame(records)
    fit = smf.ols(
        "y ~ C(modality) + C(reader) + C(case) + C(modality):C(reader) + C(modality):C(case) + C(reader):C(case)",
        data=frame,
    ).fit()
    table = anova_lm(fit, typ=1)
    names = {
        "T": "C(modality)",
        "R": "C(reader)",
        "C": "C(case)",
        "TR": "C(modality):C(reader)",
        "TC": "C(modality):C(case)",
        "RC": "C(reader):C(case)",
        "TRC": "Residual",
    }
    for source, row in names.items():
        assert dbm.anova.df[source] == int(table.loc[row, "df"]), source
        assert dbm.anova.ms[source] == pytest.approx(table.loc[row, "mean_sq"], rel=1e-9), source


def test_or_dbm_equivalence_identities(dbm, oracle):
    c = dbm.case_count
    v, o = dbm.variance, oracle.variance
    assert dbm.anova.ms["T"] == pytest.approx(c * o.ms_t, rel=1e-10)
    assert dbm.anova.ms["R"] == pytest.approx(c * o.ms_r, rel=1e-10)
    assert dbm.anova.ms["TR"] == pytest.approx(c * o.ms_tr, rel=1e-10)
    assert v.var_r == pytest.approx(o.var_r, rel=1e-9)
    assert v.var_tr == pytest.approx(o.var_tr, rel=1e-9)
    assert v.var_c == pytest.approx(c * o.cov3, rel=1e-9)
    assert v.var_tc == pytest.approx(c * (o.cov2 - o.cov3), rel=1e-9)
    assert v.var_rc == pytest.approx(c * (o.cov1 - o.cov3), rel=1e-9)
    assert v.var_error == pytest.approx(c * (o.var_error - o.cov1 - o.cov2 + o.cov3), rel=1e-9)
    for kind in ("rrrc", "rrfc"):
        mine, theirs = getattr(dbm, kind), getattr(oracle, kind)
        assert mine.statistic == pytest.approx(theirs.statistic, rel=1e-10), kind
        assert mine.ddf == pytest.approx(theirs.ddf, rel=1e-10), kind
        assert mine.p_value == pytest.approx(theirs.p_value, rel=1e-9), kind
        assert mine.differences[0].ci_low == pytest.approx(theirs.differences[0].ci_low, rel=1e-9), kind
    # fixed readers: DBM's F(1, c-1) on MS(T)/MS(T*C) has the OR chi-squared as its numerator
    assert dbm.frrc.statistic == pytest.approx(oracle.frrc.statistic, rel=1e-10)
    assert dbm.frrc.ddf == c - 1


def test_result_is_json_serialisable(dbm):
    text = json.dumps(dbm.to_dict())
    assert "Dorfman-Berbaum-Metz" in text and "NaN" not in text


def test_accuracy_fom_matches_or_for_binary_answers():
    rng = np.random.default_rng(4)
    rows = [
        (reader, modality, case, truth, truth if rng.random() < 0.6 + 0.05 * reader else 1 - truth)
        for reader in range(4)
        for modality in ("A", "B")
        for case, truth in enumerate([0, 1] * 15)
    ]
    reader, modality, case, truth, answer = (list(column) for column in zip(*rows, strict=True))
    kwargs = dict(fom="accuracy", positive=1)
    dbm = dbm_analysis(reader, modality, case, truth, answer, **kwargs)
    oracle = or_analysis(reader, modality, case, truth, answer, **kwargs)
    assert dbm.estimable
    assert dbm.rrrc.statistic == pytest.approx(oracle.rrrc.statistic, rel=1e-9)
    assert dbm.rrrc.p_value == pytest.approx(oracle.rrrc.p_value, rel=1e-9)


def small(**change):
    rows = {
        "reader": [1, 1, 1, 1, 2, 2, 2, 2] * 2,
        "modality": [1] * 8 + [2] * 8,
        "case": [1, 2, 3, 4] * 4,
        "truth": [0, 0, 1, 1] * 4,
        "rating": [1, 2, 3, 2, 2, 1, 3, 3, 1, 3, 2, 3, 1, 2, 3, 1],
    }
    rows.update(change)
    return dbm_analysis(*rows.values(), fom="auc", positive=1)


def test_small_study_is_estimable():
    assert small().estimable


def test_one_reader_is_not_estimable():
    result = small(reader=[1] * 16)
    assert not result.estimable
    assert result.reason == "not estimable because there is one reader: reader variability needs at least two"


def test_one_modality_gives_components_but_no_test():
    result = small(modality=[1] * 8 + [1] * 8, reader=[1] * 4 + [2] * 4 + [3] * 4 + [4] * 4)
    assert not result.estimable and "one modality" in result.reason
    assert result.variance is not None and result.rrrc is None


def test_cases_nested_within_modality_are_not_estimable():
    result = small(case=[1, 2, 3, 4] * 2 + [5, 6, 7, 8] * 2)
    assert not result.estimable and "different cases" in result.reason


def test_reader_missing_from_a_modality_is_not_estimable():
    result = small(reader=[1, 1, 1, 1, 2, 2, 2, 2] + [1] * 8)
    assert not result.estimable and "reader 2 read nothing in modality 2" in result.reason


def test_all_ratings_tied_are_not_estimable():
    result = small(rating=[3] * 16)
    assert not result.estimable and result.reason.startswith("not estimable because")


def test_no_positive_case_is_not_estimable():
    result = small(truth=[0] * 16)
    assert not result.estimable and "positive and negative" in result.reason


@pytest.mark.parametrize(
    ("change", "message"),
    [({"fom": "kappa"}, "fom must be one of"), ({"confidence": 1.5}, "confidence must be between 0 and 1")],
)
def test_bad_options_raise_one_line_errors(change, message):
    with pytest.raises(ValueError, match=message):
        dbm_analysis([1, 2], [1, 1], [1, 1], [0, 0], [1, 2], **change)


def test_columns_of_different_lengths_raise():
    with pytest.raises(ValueError, match="columns differ in length"):
        dbm_analysis([1, 2], [1], [1, 2], [0, 1], [1, 2])
