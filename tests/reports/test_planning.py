"""Study planning: expected OR half-width and equivalence power, checked by hand and against simulated studies
analysed by the OR analysis itself."""

import math
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from scipy import integrate, stats
from scipy.special import expit, logit

from readerstats import PlanningError, glmm_accuracy, or_analysis, plan_design, required_designs
from reports import selectors


def test_without_random_effects_the_plan_is_the_binomial_of_every_answer():
    plan = plan_design(5, 20, accuracy=0.7, reader_sd=0.0, case_sd=0.0)
    answers = 5 * 40
    assert plan.reader_variance == pytest.approx(0, abs=1e-15)
    assert plan.cov2 == pytest.approx(0, abs=1e-15)
    assert plan.stderr == pytest.approx(math.sqrt(0.7 * 0.3 / answers), rel=1e-9)
    assert plan.ddf == pytest.approx(4)  # Hillis' ddf falls to r - 1 without case variance
    assert plan.half_width == pytest.approx(stats.t.ppf(0.975, 4) * math.sqrt(0.21 / answers), rel=1e-9)
    assert plan.marginal_accuracy == pytest.approx(0.7)


def test_the_variance_components_match_numerical_integration():
    mu, su, sv = logit(0.65), 0.7, 1.1

    def theta(u):  # reader accuracy over the population of cases
        return integrate.quad(lambda v: expit(mu + u + v) * stats.norm.pdf(v, 0, sv), -10, 10)[0]

    def h(v):  # item ease averaged over the population of readers
        return integrate.quad(lambda u: expit(mu + u + v) * stats.norm.pdf(u, 0, su), -8, 8)[0]

    marginal = integrate.quad(lambda u: theta(u) * stats.norm.pdf(u, 0, su), -8, 8)[0]
    reader_variance = integrate.quad(lambda u: (theta(u) - marginal) ** 2 * stats.norm.pdf(u, 0, su), -8, 8)[
        0
    ]
    bernoulli = integrate.quad(lambda u: theta(u) * (1 - theta(u)) * stats.norm.pdf(u, 0, su), -8, 8)[0]
    case_variance = integrate.quad(lambda v: (h(v) - marginal) ** 2 * stats.norm.pdf(v, 0, sv), -10, 10)[0]
    plan = plan_design(8, 30, accuracy=0.65, reader_sd=su, case_sd=sv)
    assert plan.marginal_accuracy == pytest.approx(marginal, abs=1e-6)
    assert plan.reader_variance == pytest.approx(reader_variance, rel=1e-4)
    assert plan.error_variance == pytest.approx(bernoulli / 60, rel=1e-4)
    assert plan.cov2 == pytest.approx(case_variance / 60, rel=1e-4)


@pytest.mark.parametrize(
    ("readers", "items", "accuracy", "reader_sd", "case_sd"),
    [(6, 30, 0.55, 0.5, 0.8), (10, 60, 0.5, 0.3, 1.2), (4, 100, 0.6, 0.8, 0.4)],
)
def test_the_plan_agrees_with_simulated_studies_analysed_by_the_or_analysis(
    readers, items, accuracy, reader_sd, case_sd
):
    rng = np.random.default_rng(2024)
    plan = plan_design(readers, items, accuracy=accuracy, reader_sd=reader_sd, case_sd=case_sd, margin=0.1)
    widths, ses, equivalent = [], [], []
    reader = np.repeat(np.arange(readers), 2 * items)
    case = np.tile(np.arange(2 * items), readers)
    truth = np.where(case < items, "real", "synthetic")
    other = np.where(truth == "real", "synthetic", "real")
    for _ in range(300):
        skill = rng.normal(0, reader_sd, readers)
        ease = rng.normal(0, case_sd, 2 * items)
        correct = rng.random(reader.size) < expit(logit(accuracy) + skill[reader] + ease[case])
        answer = np.where(correct, truth, other)
        result = or_analysis(reader, np.zeros(reader.size), case, truth, answer)
        if not result.estimable:
            continue
        single = result.rrrc.single_modality[0]
        widths.append((single.ci_high - single.ci_low) / 2)
        ses.append(single.stderr)
        t = stats.t.ppf(0.95, single.df)
        equivalent.append(
            single.estimate - t * single.stderr > 0.4 and single.estimate + t * single.stderr < 0.6
        )
    assert len(widths) >= 290
    assert np.mean(np.square(ses)) == pytest.approx(plan.stderr**2, rel=0.12)
    assert np.median(widths) == pytest.approx(plan.half_width, rel=0.12)
    assert np.mean(equivalent) == pytest.approx(plan.equivalence_power, abs=0.08)


def test_required_designs_give_the_fewest_items_and_say_when_readers_are_too_few():
    assumptions = dict(accuracy=0.55, reader_sd=0.6, case_sd=0.8)
    options = required_designs(target_half_width=0.08, readers=(3, 16, 30), **assumptions)
    by_readers = {option.readers: option for option in options}
    assert by_readers[3].items_per_side is None  # sigma_R^2 / 3 alone is wider than the target
    for r in (16, 30):
        n = by_readers[r].items_per_side
        assert n is not None and plan_design(r, n, **assumptions).half_width <= 0.08
        assert plan_design(r, n - 1, **assumptions).half_width > 0.08
    assert by_readers[30].items_per_side < by_readers[16].items_per_side
    power = required_designs(target_power=0.8, readers=(10,), accuracy=0.5, reader_sd=0.3, case_sd=0.5)
    assert power[0].items_per_side is not None and power[0].equivalence_power >= 0.8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(readers=1, items_per_side=10), "readers must be a whole number of at least 2"),
        (dict(readers=True, items_per_side=10), "readers must be"),
        (dict(readers=5, items_per_side=0), "items per side"),
        (dict(readers=5, items_per_side=2.5), "items per side"),
        (dict(readers=5, items_per_side=10, accuracy=1.0), "accuracy must be between 0 and 1"),
        (dict(readers=5, items_per_side=10, accuracy=float("nan")), "accuracy must be a number"),
        (dict(readers=5, items_per_side=10, margin=0.6), "margin must be between 0 and 0.5"),
        (dict(readers=5, items_per_side=10, reader_sd=-1), "reader SD"),
        (dict(readers=5, items_per_side=10, case_sd="big"), "case SD"),
    ],
)
def test_impossible_designs_are_refused_in_one_line(kwargs, message):
    with pytest.raises(PlanningError, match=message) as caught:
        plan_design(**kwargs)
    assert "\n" not in str(caught.value)


def test_required_designs_need_exactly_one_target():
    with pytest.raises(PlanningError, match="exactly one target"):
        required_designs()
    with pytest.raises(PlanningError, match="exactly one target"):
        required_designs(target_half_width=0.05, target_power=0.8)


# --- the command ---------------------------------------------------------------------------------------------


def _run(*args):
    out = StringIO()
    call_command("plan_study", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_plan_of_a_design_and_the_fewest_items_for_a_target():
    out = _run(
        "--readers", "10", "--items-per-side", "40", "--accuracy", "0.55", "--target-half-width", "0.1"
    )
    plan = plan_design(10, 40, accuracy=0.55)
    assert f"+- {100 * plan.half_width:.1f} points" in out
    assert f"{100 * plan.equivalence_power:.0f}%" in out
    assert "assumed values, no pilot survey" in out
    for option in required_designs(target_half_width=0.1, accuracy=0.55):
        line = next(
            line for line in out.splitlines() if line.strip().startswith(f"{option.readers} readers:")
        )
        assert ("out of reach" in line) == (option.items_per_side is None)
        if option.items_per_side is not None:
            assert f"{option.items_per_side} items per side" in line


@pytest.mark.django_db
def test_a_pilot_survey_gives_the_assumptions_through_the_glmm(study):
    first, _ = study
    rows = [row for row in selectors.answer_rows([first]) if row.answer in ("real", "synthetic")]
    fit = glmm_accuracy([r.answer == r.truth for r in rows], [r.reader for r in rows], [r.item for r in rows])
    out = _run("--pilot", "Survey 1", "--readers", "6", "--items-per-side", "10")
    assert f"from pilot survey 'Survey 1' ({len(rows)} definite answers" in out
    assert f"typical accuracy {fit.accuracy:.3f}" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--readers", "1"), "readers must be a whole number of at least 2"),
        (("--accuracy", "1.5"), "accuracy must be between 0 and 1"),
        (("--margin", "0"), "margin must be between 0 and 0.5"),
        (("--target-power", "2"), "target power must be between 0 and 1"),
        (("--pilot", "No such survey"), "no survey named 'No such survey'"),
    ],
)
def test_the_command_refuses_garbage_in_one_line(args, message):
    with pytest.raises(CommandError, match=message) as caught:
        _run(*args)
    assert "\n" not in str(caught.value)
