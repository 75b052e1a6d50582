"""Selecting a survey's slices: balanced, the same layers in the same numbers, one slice per volume and layer
while the pools allow, reproducible from the seed."""

from collections import Counter

import pytest

from studies.models import Truth
from studies.sampling import Candidate, SelectionError, select_balanced
from studies.services import StudyError, create_survey
from studies.survey_input import SurveyInput
from tests.studies.conftest import store_ct_dataset


def pool(volumes: int, layers=range(1, 11), per_layer: int = 2, prefix: str = "v") -> list[Candidate]:
    candidates = []
    next_id = iter(range(1, 100000))
    for volume in range(volumes):
        index = 0
        for layer in layers:
            for _ in range(per_layer):
                candidates.append(Candidate(next(next_id), f"{prefix}{volume}", index, layer))
                index += 1
    return candidates


def test_both_sides_cover_the_same_layers_in_the_same_numbers():
    selection = select_balanced(real=pool(3), synthetic=pool(2, prefix="s"), per_side=10, seed=1)
    assert len(selection.real) == len(selection.synthetic) == 10
    assert Counter(c.layer for c in selection.real) == Counter(c.layer for c in selection.synthetic)
    assert Counter(c.layer for c in selection.real) == dict.fromkeys(range(1, 11), 1)
    assert selection.notes == []


def test_layers_only_one_side_covers_are_not_used():
    real = pool(3, layers=range(1, 11))
    synthetic = pool(3, layers=range(3, 8), prefix="s")
    selection = select_balanced(real=real, synthetic=synthetic, per_side=10, seed=1)
    assert set(selection.per_layer) <= set(range(3, 8))
    assert Counter(c.layer for c in selection.real) == Counter(c.layer for c in selection.synthetic)
    assert sorted(selection.per_layer.values()) == [2, 2, 2, 2, 2]


def test_at_most_one_slice_per_volume_and_layer_while_there_are_volumes_enough():
    selection = select_balanced(
        real=pool(4, layers=[1, 2]), synthetic=pool(4, layers=[1, 2], prefix="s"), per_side=8, seed=3
    )
    for side in (selection.real, selection.synthetic):
        assert len({(c.volume_key, c.layer) for c in side}) == len(side)
    assert selection.notes == []


def test_a_pool_too_small_for_one_slice_per_volume_shares_volumes_and_says_so():
    selection = select_balanced(
        real=pool(1, layers=[1, 2], per_layer=5),
        synthetic=pool(1, layers=[1, 2], per_layer=5, prefix="s"),
        per_side=4,
        seed=3,
    )
    assert len(selection.real) == 4
    assert len(set(selection.real)) == 4  # never the same slice twice
    assert selection.notes
    assert "share a volume" in selection.notes[0]


def test_the_same_seed_selects_the_same_slices_and_another_seed_others():
    real, synthetic = pool(5), pool(5, prefix="s")
    first = select_balanced(real=real, synthetic=synthetic, per_side=10, seed=42)
    again = select_balanced(real=list(reversed(real)), synthetic=synthetic, per_side=10, seed=42)
    other = select_balanced(real=real, synthetic=synthetic, per_side=10, seed=43)
    assert first.real == again.real and first.synthetic == again.synthetic
    assert (first.real, first.synthetic) != (other.real, other.synthetic)


def test_too_few_slices_is_one_clear_error():
    with pytest.raises(SelectionError, match="only 4 slice"):
        select_balanced(
            real=pool(1, layers=[1, 2]), synthetic=pool(1, layers=[1, 2], prefix="s"), per_side=5, seed=1
        )


def test_pools_without_a_common_layer_are_refused():
    with pytest.raises(SelectionError, match="share no axial layer"):
        select_balanced(
            real=pool(1, layers=[1]), synthetic=pool(1, layers=[2], prefix="s"), per_side=1, seed=1
        )


def test_create_survey_stores_a_balanced_stratified_selection(make_survey):
    survey = make_survey(per_side=10)
    items = list(survey.items.all())
    real = Counter(i.axial_layer for i in items if i.truth == Truth.REAL)
    synthetic = Counter(i.axial_layer for i in items if i.truth == Truth.SYNTHETIC)
    assert sum(real.values()) == sum(synthetic.values()) == 10
    assert real == synthetic
    assert all(item.slice.volume.dataset == survey.real_dataset for item in items if item.truth == Truth.REAL)
    assert all(
        item.slice.volume.dataset == survey.model_dataset for item in items if item.truth == Truth.SYNTHETIC
    )


def test_create_survey_selects_the_same_slices_for_the_same_seed(make_survey):
    first = make_survey(seed=5)
    second = make_survey(seed=5)
    third = make_survey(seed=6)
    slices = lambda s: sorted(s.items.values_list("slice_id", flat=True))  # noqa: E731
    assert slices(first) == slices(second)
    assert slices(first) != slices(third)


def test_real_ct_of_another_contrast_kind_is_refused(pools, db):
    noncontrast = store_ct_dataset("Real CT plain", kind="ct", contrast=False, seed=3)
    with pytest.raises(
        StudyError, match="non-contrast CT but model 'Model X output' makes contrast-enhanced CT"
    ):
        create_survey(
            options=SurveyInput(
                name="wrong",
                model=pools.synthetic.name,
                real_dataset=noncontrast.name,
                real=5,
                synthetic=5,
                seed=1,
            )
        )


def test_a_real_dataset_as_the_model_is_refused(pools):
    with pytest.raises(StudyError, match="not synthetic CT"):
        create_survey(
            options=SurveyInput(
                name="wrong", model=pools.real.name, real_dataset=pools.real.name, real=5, synthetic=5, seed=1
            )
        )


def test_unbalanced_counts_are_refused(pools):
    with pytest.raises(StudyError, match="must be equal"):
        create_survey(
            options=SurveyInput(
                name="wrong",
                model=pools.synthetic.name,
                real_dataset=pools.real.name,
                real=5,
                synthetic=6,
                seed=1,
            )
        )


def test_a_pool_too_small_for_the_survey_is_refused_and_nothing_is_created(pools, media_root):
    from studies.models import Survey

    with pytest.raises(StudyError, match="only 40 slice"):
        create_survey(
            options=SurveyInput(
                name="big",
                model=pools.synthetic.name,
                real_dataset=pools.real.name,
                real=41,
                synthetic=41,
                seed=1,
            )
        )
    assert not Survey.objects.exists()
    assert not (media_root / "survey-items").exists()
