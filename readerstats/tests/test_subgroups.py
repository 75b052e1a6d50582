"""Reader subgroups: the group-effect likelihood ratio against lme4 (the battery's split-plot design s02, whose
three reader panels are three groups), per-group accuracy and AUC against pandas and scikit-learn, experience bands
at their edges, and what is not estimable."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from readerstats.subgroups import (
    by_experience,
    by_specialty,
    experience_band,
    experience_bands,
    subgroup_analysis,
)

BATTERY = Path(__file__).parent / "reference" / "lme4"
LME4 = json.loads((BATTERY / "battery.lme4.json").read_text())["designs"]
DATA = pd.read_csv(BATTERY / "battery.csv")


def test_group_effect_likelihood_ratio_matches_lme4():
    rows = DATA[DATA.design == "s02"]
    result = subgroup_analysis(rows.correct, rows.reader, rows.item, rows.model, grouping="panel")
    expected = LME4["s02"]["likelihood_ratio"]
    assert result.test.estimable and result.test.df == expected["df"] == 2
    assert result.test.statistic == pytest.approx(expected["chisq"], abs=2e-3)
    assert result.test.p_value == pytest.approx(expected["p"], abs=1e-3)
    assert result.test.log_likelihood_full == pytest.approx(
        LME4["s02"]["laplace"]["log_likelihood"], abs=1e-3
    )


def test_accuracy_and_auc_per_group_match_pandas_and_scikit_learn():
    rng = np.random.default_rng(7)
    readers = [f"R{j}" for j in range(6)]
    specialty = dict(zip(readers, ["radiology"] * 3 + ["radiation_oncology"] * 3, strict=True))
    rows = []
    for r in readers:
        for k in range(30):
            truth = "synthetic" if k % 2 else "real"
            rating = int(rng.integers(1, 6)) + (1 if truth == "synthetic" else 0)
            rows.append(dict(reader=r, item=k, truth=truth, rating=rating, correct=int(rng.random() < 0.65)))
    data = pd.DataFrame(rows)
    data["specialty"] = data.reader.map(specialty)
    result = by_specialty(
        data.correct, data.reader, data.item, data.specialty, truth=data.truth, rating=data.rating
    )
    assert [g.group for g in result.groups] == ["radiation_oncology", "radiology"]
    for summary in result.groups:
        mine = data[data.specialty == summary.group]
        assert summary.reader_count == 3 and summary.answer_count == len(mine)
        assert summary.accuracy.proportion == pytest.approx(mine.correct.mean())
        assert summary.mean_reader_accuracy == pytest.approx(mine.groupby("reader").correct.mean().mean())
        aucs = [roc_auc_score(d.truth == "synthetic", d.rating) for _, d in mine.groupby("reader")]
        assert summary.mean_reader_auc == pytest.approx(np.mean(aucs))
    assert result.test.estimable and result.test.df == 1
    frame = result.to_frame()
    assert list(frame.group) == ["radiation_oncology", "radiology"]
    assert json.dumps(result.to_dict())


@pytest.mark.parametrize(
    ("years", "band"),
    [(0, "< 5"), (4.9, "< 5"), (5, "5-15"), (15, "5-15"), (15.5, "> 15"), (40, "> 15"), (None, None)],
)
def test_default_experience_bands(years, band):
    assert experience_band(years) == band


def test_bands_are_a_parameter():
    assert experience_bands((2, 10, 20)) == ("< 2", "2-10", "10-20", "> 20")
    assert [experience_band(y, (2, 10, 20)) for y in (1, 2, 9, 10, 20, 21)] == [
        "< 2", "2-10", "2-10", "10-20", "10-20", "> 20"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="increasing"):
        experience_bands((10, 5))
    with pytest.raises(ValueError, match=">= 0"):
        experience_band(-1)


def test_a_group_with_one_reader_is_not_estimable_and_says_what_would_make_it_so():
    rows = DATA[DATA.design == "c13"]
    years = rows.reader.map(lambda r: 2 if r == "R1" else (30 if r in ("R2", "R3") else None))
    result = by_experience(rows.correct, rows.reader, rows.item, years)
    assert [g.group for g in result.groups] == ["< 5", "> 15"]
    assert result.readers_without_group == 5 and result.answers_without_group == 5 * 120
    assert not result.test.estimable
    assert result.test.reason == (
        "not estimable because these experience groups have fewer than 2 readers: < 5 (1); it becomes estimable with at "
        "least 2 readers in every group (add readers, or merge the group with another)"
    )
    one_group = by_specialty(rows.correct, rows.reader, rows.item, ["radiology"] * len(rows))
    assert one_group.test.reason.startswith("not estimable because the readers form 1 specialty group(s)")


def test_garbage_is_refused_with_one_line_errors():
    with pytest.raises(ValueError, match="reader a is in more than one specialty"):
        by_specialty([1, 0], ["a", "a"], [1, 2], ["radiology", "other"])
    with pytest.raises(ValueError, match="columns differ in length"):
        subgroup_analysis([1, 0], ["a"], [1, 2], ["x", "y"])
    with pytest.raises(ValueError, match="ratings need the truth"):
        subgroup_analysis([1, 0], ["a", "b"], [1, 2], ["x", "y"], rating=[1, 2])
