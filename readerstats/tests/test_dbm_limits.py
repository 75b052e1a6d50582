"""DBM's limits: zero checks relative to the analysis' scale (two identical readers), and missing readings inside a
modality refused with a one-line reason instead of being imputed."""

from pathlib import Path

import pandas as pd
import pytest

from readerstats.dbm import dbm_analysis
from readerstats.mrmc import or_analysis

REFERENCE = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def identical_readers():
    data = pd.read_csv(REFERENCE / "vandyke.csv")
    one = data[data.reader == data.reader.iloc[0]]
    return pd.concat([one, one.assign(reader="copy")])


def test_two_identical_readers_leave_no_reader_by_modality_variance(identical_readers):
    d = identical_readers
    dbm = dbm_analysis(d.reader, d.modality, d.case, d.truth, d.rating, fom="auc", positive=1)
    orx = or_analysis(d.reader, d.modality, d.case, d.truth, d.rating, fom="auc", positive=1)
    # the ANOVA's MS(T*R) is rounding noise (about 1e-27), not a variance to divide by
    assert 0 < dbm.anova.ms["TR"] < 1e-20
    assert not dbm.rrfc.estimable and dbm.rrfc.statistic is None
    assert dbm.rrfc.reason.startswith("not estimable because MS(T*R) is 0 (up to rounding)")
    assert not orx.rrfc.estimable
    # RRRC stays estimable through the case term, with Hillis' ddf at its infinite limit, as OR
    assert dbm.rrrc.estimable and dbm.rrrc.ddf is None
    assert dbm.rrrc.statistic == pytest.approx(orx.rrrc.statistic)
    assert dbm.rrrc.p_value == pytest.approx(orx.rrrc.p_value)


def test_a_missing_reading_inside_a_modality_is_refused():
    data = pd.read_csv(REFERENCE / "vandyke.csv")
    reader, case = data.reader.iloc[0], data.case.iloc[0]
    dropped = data[
        ~((data.reader == reader) & (data.case == case) & (data.modality == data.modality.iloc[0]))
    ]
    result = dbm_analysis(
        dropped.reader, dropped.modality, dropped.case, dropped.truth, dropped.rating, fom="auc", positive=1
    )
    assert not result.estimable and result.rrrc is None
    assert result.reason.startswith(
        f"not estimable because reader {reader} has no scored reading of 1 of the 114"
    )
    assert "\n" not in result.reason


def test_an_indeterminable_answer_is_a_missing_reading_unless_counted_wrong():
    readers = ["a"] * 3 + ["b"] * 3
    rows = dict(reader=readers * 2, modality=["m1"] * 6 + ["m2"] * 6, case=[1, 2, 3] * 4)
    truth = ["real", "synthetic", "real"] * 4
    answer = ["real", "indeterminable", "synthetic", "real", "synthetic", "real"]
    answer += ["synthetic", "synthetic", "real", "real", "real", "synthetic"]
    excluded = dbm_analysis(rows["reader"], rows["modality"], rows["case"], truth, answer, fom="accuracy")
    assert excluded.reason.startswith(
        "not estimable because reader a has no scored reading of 1 of the 3 cases"
    )
    wrong = dbm_analysis(
        rows["reader"], rows["modality"], rows["case"], truth, answer, fom="accuracy", indeterminable="wrong"
    )
    assert wrong.anova is not None and wrong.case_count == 3
