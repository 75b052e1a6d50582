"""The Laplace GLMM against lme4's glmer on the battery of simulated designs (readerstats/tests/reference/lme4/).

Every committed fit is compared: log-likelihood within 1e-3, fixed effects within 1e-3 (or 1% of their standard
error), variance components within 2% (or 1e-3 absolute); and every fit must be a verified optimum. When R with
lme4 is installed, a few designs are also refitted live through Rscript (the battery script itself), which also
checks that the committed data are the ones the script writes.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from readerstats import glmm
from readerstats.glmm import glmm_fit

BATTERY = Path(__file__).parent / "reference" / "lme4"
LME4 = json.loads((BATTERY / "battery.lme4.json").read_text())
DATA = pd.read_csv(BATTERY / "battery.csv")
CROSSED = [name for name, design in LME4["designs"].items() if design["kind"] == "crossed"]


def fit_design(data, design):
    fixed = None
    if design["truth_effect"]:
        fixed = {"truthsynthetic": (data.truth == "synthetic").astype(float)}
    return glmm_fit(data.correct, data.reader, data.item, fixed=fixed)


def assert_matches_lme4(fit, expected):
    assert fit.estimable and fit.converged, fit.convergence
    assert fit.log_likelihood == pytest.approx(expected["log_likelihood"], abs=1e-3)
    for term, coefficient in zip(fit.terms, fit.coefficients, strict=True):
        reference = expected["fixed"][term]
        tolerance = max(1e-3, 0.01 * reference["std_error"])
        assert coefficient == pytest.approx(reference["estimate"], abs=tolerance), term
    for name, value in (("reader", fit.reader_variance), ("item", fit.item_variance)):
        reference = expected["variance"][name]
        assert abs(value - reference) <= max(0.02 * reference, 1e-3), name


def test_the_battery_has_thirty_designs_spanning_the_brief():
    designs = [LME4["designs"][name] for name in CROSSED]
    assert len(designs) >= 30
    assert min(d["readers"] for d in designs) == 3 and max(d["readers"] for d in designs) == 30
    assert (
        min(d["items_per_side"] for d in designs) == 10 and max(d["items_per_side"] for d in designs) == 200
    )
    assert {0.0, 1.0} <= {d["reader_var"] for d in designs} and {0.0, 3.0} <= {d["item_var"] for d in designs}
    assert sum(1 for d in designs if d["truth_effect"]) >= 5
    on_boundary = [d for d in designs if min(d["laplace"]["variance"].values()) < 1e-6]
    assert len(on_boundary) >= 5


@pytest.mark.parametrize("name", CROSSED)
def test_fit_matches_lme4(name):
    design = LME4["designs"][name]
    fit = fit_design(DATA[DATA.design == name], design)
    assert fit.answer_count == design["laplace"]["n"]
    assert_matches_lme4(fit, design["laplace"])
    # a component reported on the boundary is on lme4's boundary too, and vice versa
    for component in ("reader", "item"):
        assert (component in fit.on_boundary) == (design["laplace"]["variance"][component] < 1e-6), component


def test_standard_errors_match_lme4_off_the_boundary():
    worst = 0.0
    for name in CROSSED:
        design = LME4["designs"][name]
        if min(design["laplace"]["variance"].values()) < 1e-3:
            continue
        fit = fit_design(DATA[DATA.design == name], design)
        for term, stderr in zip(fit.terms, fit.stderrs, strict=True):
            reference = design["laplace"]["fixed"][term]["std_error"]
            worst = max(worst, abs(stderr / reference - 1))
    assert worst < 0.02


def problem_for(name):
    data = DATA[DATA.design == name]
    readers, reader_index = np.unique(data.reader, return_inverse=True)
    items, item_index = np.unique(data.item, return_inverse=True)
    y = data.correct.to_numpy(float)
    return glmm._Problem(y, np.ones((len(y), 1)), reader_index, item_index, len(readers), len(items))


def test_a_boundary_start_that_is_not_an_optimum_is_left():
    # c13: interior optimum (reader variance 0.27). Started with both variances on their bound 0 (where the
    # derivative in theta is 0, so a gradient method stays), the KKT check sees the deviance fall away from 0
    # and the interior restart finds lme4's optimum.
    expected = LME4["designs"]["c13"]["laplace"]
    optimiser = glmm._Optimiser(problem_for("c13"), 1)
    derivatives = optimiser.kkt(np.array([0.4, 0.0, 0.0]))
    assert derivatives[0] < -1 and derivatives[1] < -1
    optimiser.stage_one = lambda beta: np.array([0.4, 0.0, 0.0])
    optimum = optimiser.run(np.array([0.4]))
    assert optimum.converged and optimum.boundary == ()
    assert -optimum.deviance / 2 == pytest.approx(expected["log_likelihood"], abs=1e-3)
    assert optimum.params[1] > 0.5 and optimum.params[2] > 0.3


def test_a_true_boundary_optimum_passes_the_kkt_check():
    # c28: lme4 puts the reader variance at 0; the deviance rises away from 0 in the variance
    fit = fit_design(DATA[DATA.design == "c28"], LME4["designs"]["c28"])
    assert fit.converged and fit.on_boundary == ("reader",)
    assert "derivative of the deviance" in fit.convergence


def test_an_unverified_optimum_is_not_reported_as_converged():
    optimiser = glmm._Optimiser(problem_for("c13"), 1)
    # stop both stages at the boundary and take away the interior restart: the KKT check must refuse it
    optimiser.stage_one = lambda beta: np.array([0.4, 0.0, 0.0])
    optimiser.stage_two = lambda start: (np.array([0.4, 0.0, 0.0]), optimiser.frozen([0.4, 0.0, 0.0]), 0.0)
    optimum = optimiser.run(np.array([0.4]))
    assert not optimum.converged
    assert "deviance decreases away from 0" in optimum.message


def rscript_with_lme4():
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(
        ["Rscript", "-e", "library(lme4); library(jsonlite)"], capture_output=True, text=True, timeout=120
    )
    return check.returncode == 0


@pytest.mark.skipif(not rscript_with_lme4(), reason="R with lme4 and jsonlite is not installed (Rscript)")
def test_live_lme4_refit_agrees_with_the_fixtures_and_with_us(tmp_path):
    names = ["c05", "c13", "c28", "t03", "s01"]
    subprocess.run(
        ["Rscript", str(BATTERY / "battery.R"), str(tmp_path), *names],
        check=True,
        capture_output=True,
        timeout=600,
    )
    live = json.loads((tmp_path / "battery.lme4.json").read_text())["designs"]
    data = pd.read_csv(tmp_path / "battery.csv")
    assert sorted(live) == sorted(names)
    for name in names:
        committed = DATA[DATA.design == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(data[data.design == name].reset_index(drop=True), committed)
        design = live[name]
        if design["kind"] == "crossed":
            fit = fit_design(committed, design)
        else:
            model = committed.model
            fixed = {f"model{m}": (model == m).astype(float) for m in sorted(set(model))[1:]}
            fit = glmm_fit(committed.correct, committed.reader, committed.item, fixed=fixed)
        assert_matches_lme4(fit, design["laplace"])
