import pytest

from generation.pairing import SliceRef, VolumeRef, pair_slices


def volume(volume_id, patient, modality, z_values):
    slices = tuple(SliceRef(volume_id * 1000 + i, i, z) for i, z in enumerate(z_values))
    return VolumeRef(volume_id, patient, modality, slices)


def test_a_single_input_pairs_every_slice_of_its_modality_and_ignores_the_others():
    plan = pair_slices([volume(1, "p", "t1_in", [0, 7, 14]), volume(2, "p", "t2", [3, 10])], ["t1_in"])
    assert plan.pair_count == 3
    assert [pair.source_key for pair in plan.groups[0].pairs] == ["1000", "1001", "1002"]
    assert plan.unpaired == []


def test_partners_are_the_nearest_slice_of_the_same_patient_within_the_tolerance():
    t1 = volume(1, "p", "t1_in", [0.0, 7.0, 14.0, 21.0])
    t2 = volume(2, "p", "t2", [2.0, 9.5, 30.0])
    other_patient = volume(3, "q", "t2", [0.0, 7.0, 14.0, 21.0])
    plan = pair_slices([t1, t2, other_patient], ["t1_in", "t2"], tolerance_mm=3.0)
    keys = [pair.source_key for pair in plan.groups[0].pairs]
    assert keys == ["1000-2000", "1001-2001"]  # z 0 -> 2 (2 mm), z 7 -> 9.5 (2.5 mm); 14 and 21 too far
    reasons = {(u.patient, u.modality, u.index): u.reason for u in plan.unpaired}
    assert reasons[("p", "t1_in", 2)] == "nearest t2 slice is 4.50 mm away (tolerance 3.00 mm)"
    assert reasons[("p", "t1_in", 3)] == "nearest t2 slice is 9.00 mm away (tolerance 3.00 mm)"
    assert reasons[("p", "t2", 2)] == "no t1_in slice chose it as the nearest within tolerance"
    assert reasons[("q", "t2", 0)] == "patient has no t1_in volume"
    assert len(plan.unpaired) == 2 + 1 + 4


def test_the_default_tolerance_is_half_the_leading_volume_spacing():
    t1 = volume(1, "p", "t1_in", [0.0, 8.0, 16.0])
    t2 = volume(2, "p", "t1_out", [3.9, 12.1, 16.0])
    plan = pair_slices([t1, t2], ["t1_in", "t1_out"])
    assert [pair.source_key for pair in plan.groups[0].pairs] == ["1000-2000", "1002-2002"]
    assert "tolerance 4.00 mm" in plan.unpaired[0].reason


def test_every_slice_of_a_patient_without_a_partner_volume_is_reported():
    plan = pair_slices([volume(1, "p", "t1_in", [0, 7])], ["t1_in", "t1_out", "t2"])
    assert plan.pair_count == 0
    assert [(u.index, u.reason) for u in plan.unpaired] == [
        (0, "patient has no t1_out volume"),
        (1, "patient has no t1_out volume"),
    ]


def test_the_partner_volume_overlapping_most_in_z_is_chosen():
    t1 = volume(1, "p", "t1_in", [0.0, 7.0, 14.0])
    far = volume(2, "p", "t1_out", [100.0, 107.0, 114.0])
    near = volume(3, "p", "t1_out", [0.5, 7.5, 14.5])
    plan = pair_slices([t1, far, near], ["t1_in", "t1_out"])
    assert [pair.slices[1].slice_id for pair in plan.groups[0].pairs] == [3000, 3001, 3002]


def test_three_inputs_keep_the_declared_channel_order():
    vols = [volume(1, "p", "t2", [0.0]), volume(2, "p", "t1_out", [0.0]), volume(3, "p", "t1_in", [0.0])]
    plan = pair_slices(vols, ["t1_in", "t1_out", "t2"])
    assert plan.groups[0].pairs[0].source_key == "3000-2000-1000"


@pytest.mark.parametrize(("inputs", "tolerance"), [([], None), (["t1_in", "t1_in"], None), (["t1_in"], 0.0)])
def test_bad_pairing_arguments_are_refused(inputs, tolerance):
    with pytest.raises(ValueError):
        pair_slices([], inputs, tolerance)
