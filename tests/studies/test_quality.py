"""Reader quality control, pure parts: the exclusion rules' evaluation (studies.quality) with hand-worked readers,
the catch artefact (studies.catch) and the design options with their one-line refusals."""

import numpy as np
import pytest

from studies.catch import STRIPE_PIXELS, artefact_box, draw_artefact, has_artefact, select_catch
from studies.design import DesignError, StudyDesign
from studies.quality import QualityAnswer, QualityRules, evaluate_reader, longest_run
from studies.sampling import Candidate, SelectionError
from studies.survey_input import SurveyInputError, parse_study_design, parse_survey_input

RULES = QualityRules(min_catch_percent=75, min_median_seconds=1.5, max_run=4)


def answers(spec):
    """'r2.0' = real after 2.0 s, 's0.5c' = synthetic after 0.5 s on a catch item."""
    result = []
    for token in spec.split():
        catch = token.endswith("c")
        token = token.rstrip("c")
        result.append(
            QualityAnswer(
                {"r": "real", "s": "synthetic", "i": "indeterminable"}[token[0]], float(token[1:]), catch
            )
        )
    return result


def test_longest_run_by_hand():
    assert longest_run([]) == (0, "")
    assert longest_run(["real"]) == (1, "real")
    assert longest_run(["real", "real", "synthetic", "synthetic", "synthetic", "real"]) == (3, "synthetic")
    # ties: the first run that reached the length
    assert longest_run(["real", "real", "synthetic", "synthetic"]) == (2, "real")


def test_a_careful_reader_is_kept_with_the_measured_values():
    # catch 4/4 correct; times 2 3 1 4 2 5 2 3 -> sorted 1 2 2 2 3 3 4 5, median (2 + 3) / 2 = 2.5; runs: r s r s ...
    given = answers("r2 s3c r1 s4c s2c r5 s2c r3")
    result = evaluate_reader("R-a", given, RULES)
    assert (result.catch_answers, result.catch_correct, result.catch_accuracy) == (4, 4, 1.0)
    assert result.median_seconds == 2.5
    assert (result.longest_run, result.longest_run_answer) == (2, "synthetic")  # s4c s2c
    assert not result.excluded and result.reasons == ()


def test_a_careless_reader_fails_every_rule_and_each_reason_names_its_value():
    # always "real" in 0.4-0.6 s: catch 0/2, median of 0.4 0.5 0.6 0.4 0.5 = 0.5, a run of 5 reals
    given = answers("r0.4 r0.5c r0.6 r0.4c r0.5")
    result = evaluate_reader("R-b", given, RULES)
    assert result.excluded
    assert result.reasons == (
        "catch accuracy 0/2 (0%) below 75%",
        "median time 0.50 s below 1.5 s",
        "5 answers 'real' in a row, more than 4",
    )


def test_thresholds_are_inclusive_of_the_limit():
    # catch 3/4 = 75% (not below 75); times sorted 1 1.5 1.5 1.5 1.5 2 3 9: median 1.5; runs sss rrrr i: 4
    given = answers("s1.5c s1.5c s1.5c r1.5c r1.0 r2 r3 i9")
    result = evaluate_reader("R-c", given, RULES)
    assert result.catch_accuracy == 0.75 and result.median_seconds == 1.5 and result.longest_run == 4
    assert not result.excluded


def test_no_rule_excludes_nobody_and_no_catch_answer_is_not_a_catch_failure():
    careless = answers("r0.1 r0.1 r0.1 r0.1 r0.1 r0.1")
    assert not evaluate_reader("R-d", careless, QualityRules()).excluded
    only_catch_rule = QualityRules(min_catch_percent=100)
    result = evaluate_reader("R-d", careless, only_catch_rule)
    assert result.catch_accuracy is None and not result.excluded
    assert not evaluate_reader("R-e", [], RULES).excluded


def test_the_artefact_is_a_fixed_striped_square_in_every_slice():
    stack = np.full((3, 64, 64), -1024, dtype=np.int16)
    marked = draw_artefact(stack, low=-1024, high=3071)
    start, side = artefact_box(64)
    assert (start, side) == (24, 16)
    assert marked.shape == stack.shape and marked.dtype == np.int16
    assert (stack == -1024).all()  # the input is left as it was
    for image in marked:
        box = image[start : start + side, start : start + side]
        assert (box[:STRIPE_PIXELS] == 3071).all() and (box[STRIPE_PIXELS : 2 * STRIPE_PIXELS] == -1024).all()
        outside = image.copy()
        outside[start : start + side, start : start + side] = -1024
        assert (outside == -1024).all()
    assert has_artefact(marked, low=-1024, high=3071) and not has_artefact(stack, low=-1024, high=3071)


def test_catch_slices_are_synthetic_slices_not_used_elsewhere_drawn_by_the_seed():
    pool = [Candidate(slice_id=i, volume_key="v", index=i, layer=1 + i % 10) for i in range(20)]
    chosen = select_catch(synthetic=pool, exclude=set(range(15)), count=3, seed=4)
    assert len({c.slice_id for c in chosen}) == 3 and all(c.slice_id >= 15 for c in chosen)
    assert chosen == select_catch(synthetic=pool, exclude=set(range(15)), count=3, seed=4)
    assert select_catch(synthetic=pool, exclude=set(), count=0, seed=4) == []
    with pytest.raises(SelectionError, match="only 5 are left"):
        select_catch(synthetic=pool, exclude=set(range(15)), count=6, seed=4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"catch_items": -1}, "catch_items must be 0..50, not -1"),
        ({"catch_items": 51}, "catch_items must be 0..50, not 51"),
        ({"catch_items": 1.5}, "catch_items must be a whole number, not 1.5"),
        ({"qc_min_catch_percent": 80}, "qc_min_catch_percent needs catch items (catch_items at least 1)"),
        (
            {"catch_items": 2, "qc_min_catch_percent": 101},
            "qc_min_catch_percent must be 0..100 (0: no rule), not 101",
        ),
        ({"qc_min_median_seconds": -1}, "qc_min_median_seconds must be 0..600 (0: no rule), not -1"),
        ({"qc_min_median_seconds": "1"}, "qc_min_median_seconds must be a number of seconds, not '1'"),
        ({"qc_max_run": 1}, "qc_max_run must be 0 (no rule) or at least 2, not 1"),
        ({"qc_max_run": -3}, "qc_max_run must be 0 (no rule) or at least 2, not -3"),
    ],
)
def test_bad_quality_options_are_refused_in_one_line(options, message):
    with pytest.raises(DesignError) as caught:
        StudyDesign(**options)
    assert str(caught.value) == message


def test_the_options_round_trip_and_are_described():
    design = StudyDesign(catch_items=4, qc_min_catch_percent=75, qc_min_median_seconds=2, qc_max_run=6)
    assert design.qc_min_median_seconds == 2.0 and design.has_catch
    assert StudyDesign.from_dict(design.to_dict()) == design
    assert design.quality_rules == QualityRules(75, 2.0, 6)
    assert "4 catch item(s)" in design.describe() and "median time per item at least 2 s" in design.describe()
    assert StudyDesign().quality_rules.any is False


def test_every_door_takes_the_options_as_text_or_json():
    text = parse_study_design(
        {"catch_items": "3", "qc_min_catch_percent": "80", "qc_min_median_seconds": "1.5", "qc_max_run": "7"}
    )
    assert text == StudyDesign(
        catch_items=3, qc_min_catch_percent=80, qc_min_median_seconds=1.5, qc_max_run=7
    )
    assert parse_study_design({"qc_min_median_seconds": ""}).qc_min_median_seconds == 0.0
    with pytest.raises(
        SurveyInputError, match=r"^study design: qc_min_median_seconds must be a number, not 'soon'$"
    ):
        parse_study_design({"qc_min_median_seconds": "soon"})
    base = {"name": "s", "model": "m", "real_dataset": "r", "real": 2, "synthetic": 2, "seed": 1}
    with pytest.raises(
        SurveyInputError, match=r"^3 catch items are more than the survey's synthetic items \(2\)"
    ):
        parse_survey_input({**base, "design": {"catch_items": 3}})


@pytest.mark.parametrize(
    "options",
    [
        {"exposure": "fixed", "exposure_ms": 500},
        {"slab_thickness_mm": 24, "slab_spacing_mm": 2.0},
        {"task": "2afc"},
    ],
)
def test_catch_items_are_refused_with_an_exposure_a_slab_or_pairs(options):
    from studies.design import DesignError, StudyDesign

    with pytest.raises(DesignError, match="^catch items are drawn on single slices and stacks"):
        StudyDesign(catch_items=2, **options)
    assert StudyDesign(catch_items=2).catch_items == 2
