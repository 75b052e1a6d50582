import numpy as np
import pytest
import scipy.ndimage
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from metrics.measures.observer import (
    FEATURE_NAMES,
    ObserverInputError,
    ObserverPool,
    RawSlice,
    auc_estimates,
    interpretable_observer,
    observer_features,
    patient_folds,
    prepare_pool,
    slice_features,
    weighted_auc,
)
from metrics.measures.observer._validation import refit_cross_validation
from metrics.measures.observer.cnn import cnn_observer
from studies.rendering import DisplayPolicy, render_slice

SIZE = 64


def ct_like(rng, *, noise_hu=20.0, organ_hu=60.0, smoothing=0.0, size=SIZE):
    """Air around an elliptic body: fat, a soft-tissue organ, a bone, correlated CT-like noise inside."""
    yy, xx = np.mgrid[:size, :size]
    cy, cx = size / 2 + rng.normal(0, 1.5, 2)
    body = ((yy - cy) / (size * 0.36)) ** 2 + ((xx - cx) / (size * 0.44)) ** 2 < 1
    values = np.full((size, size), -100.0)
    oy, ox = rng.normal(0, 3, 2)
    values[(yy - cy - oy) ** 2 + (xx - cx - ox) ** 2 < (size * rng.uniform(0.12, 0.18)) ** 2] = organ_hu
    values[(yy - cy - size * 0.22) ** 2 + (xx - cx) ** 2 < (size * 0.06) ** 2] = 650
    noise = scipy.ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 0.6)
    values += noise / noise.std() * noise_hu
    if smoothing:
        values = scipy.ndimage.gaussian_filter(values, smoothing)
    hu = np.full((size, size), -1024.0)
    hu[body] = values[body]
    return np.rint(hu).astype(np.int16)


def make_pool(
    *,
    patients=8,
    slices_per_patient=20,
    synthetic_smoothing=0.0,
    seed=0,
    pure_patients=False,
    patient_offsets=None,
):
    """Each patient has real and synthetic slices over ten layers (as phantom MRI and CT of one anatomy), or,
    with ``pure_patients``, is entirely real or entirely synthetic."""
    rng = np.random.default_rng(seed)
    hu, who, layers, synthetic = [], [], [], []
    for patient in range(patients):
        offset = 0.0 if patient_offsets is None else patient_offsets[patient]
        for index in range(slices_per_patient):
            fake = (patient % 2 == 1) if pure_patients else (index % 2 == 1)
            smoothing = synthetic_smoothing if fake else 0.0
            hu.append(ct_like(rng, organ_hu=60 + offset, noise_hu=20 + offset / 10, smoothing=smoothing))
            who.append(f"p{patient}")
            layers.append(1 + (index // 2) % 10)
            synthetic.append(fake)
    return ObserverPool(
        hu=np.stack(hu), patients=np.array(who), layers=np.array(layers), synthetic=np.array(synthetic)
    )


# --- features ------------------------------------------------------------------------------------------------


def test_the_noise_feature_of_white_noise_is_its_expected_median_absolute_laplacian():
    # for i.i.d. Gaussian noise of sd s the 4-neighbour Laplacian has sd sqrt(20) s, so its median absolute
    # value is 0.6745 * sqrt(20) * s (about 3.02 s)
    rng = np.random.default_rng(1)
    hu = np.full((200, 200), -1024, dtype=np.int16)
    hu[20:180, 20:180] = np.rint(40 + rng.normal(0, 20, (160, 160))).astype(np.int16)
    noise = dict(zip(FEATURE_NAMES, slice_features(hu), strict=True))["noise"]
    assert noise == pytest.approx(0.6745 * np.sqrt(20) * 20, rel=0.05)


def test_distinct_values_and_tissue_shares_are_counted_inside_the_body():
    hu = np.full((40, 40), -1024, dtype=np.int16)
    hu[5:35, 5:35] = 40
    hu[10:20, 10:20] = 500  # bone: 100 of 900 body pixels
    hu[22:27, 22:27] = -800  # lung: 25 pixels, a hole in the body that the mask fills
    features = dict(zip(FEATURE_NAMES, slice_features(hu), strict=True))
    assert features["distinct_hu_values"] == 3
    assert features["bone_fraction"] == pytest.approx(100 / 900)
    assert features["air_fraction"] == pytest.approx(25 / 900)
    assert features["noise"] == 0


def test_smoothing_lowers_noise_texture_and_the_spectral_slope():
    rng = np.random.default_rng(2)
    noisy = np.array([ct_like(rng, size=96) for _ in range(3)])
    smooth = np.array([ct_like(rng, size=96, smoothing=1.0) for _ in range(3)])
    f_noisy, f_smooth = observer_features(noisy, workers=1), observer_features(smooth, workers=2)
    for name in ("noise", "glcm_contrast", "spectral_slope"):
        column = FEATURE_NAMES.index(name)
        assert (f_smooth[:, column] < f_noisy[:, column]).all(), name


def test_features_do_not_depend_on_the_number_of_threads():
    pool = make_pool(patients=2, slices_per_patient=3)
    np.testing.assert_array_equal(
        observer_features(pool.hu, workers=1), observer_features(pool.hu, workers=3)
    )


# --- pools ---------------------------------------------------------------------------------------------------


def test_a_pool_is_prepared_through_the_readers_display_pipeline():
    rng = np.random.default_rng(3)
    policy = DisplayPolicy(matrix_size=48, hu_min=-1024, hu_max=3071, field_of_view_mm=64.0)
    raw = [
        RawSlice(ct_like(rng, size=80), 0.8, 0.8, "a", 3, False),
        RawSlice(ct_like(rng, size=40, smoothing=1), 1.6, 1.6, "a", 3, True),
    ]
    pool = prepare_pool(raw, policy=policy)
    assert pool.hu.shape == (2, 48, 48) and pool.hu.dtype == np.int16
    for index, slice_ in enumerate(raw):
        expected = render_slice(
            slice_.hu, row_spacing_mm=0.8 * (1 + index), column_spacing_mm=0.8 * (1 + index), policy=policy
        )
        np.testing.assert_array_equal(pool.hu[index], expected)
    assert list(pool.synthetic) == [False, True] and pool.n_patients == 1
    with pytest.raises(ObserverInputError, match="no field of view"):
        prepare_pool(raw, policy=DisplayPolicy(matrix_size=48))


def test_a_pool_refuses_arrays_that_do_not_match_or_layers_outside_1_to_10():
    hu = np.zeros((3, 16, 16), dtype=np.int16)
    with pytest.raises(ObserverInputError, match="patients must have one entry per slice"):
        ObserverPool(hu=hu, patients=["a", "b"], layers=[1, 1, 1], synthetic=[0, 1, 0])
    with pytest.raises(ObserverInputError, match="axial layers must be 1..10"):
        ObserverPool(hu=hu, patients=["a", "b", "c"], layers=[1, 11, 1], synthetic=[0, 1, 0])
    with pytest.raises(ObserverInputError, match="integer HU"):
        ObserverPool(hu=hu.astype(float), patients=["a", "b", "c"], layers=[1, 1, 1], synthetic=[0, 1, 0])


# --- folds ---------------------------------------------------------------------------------------------------


def test_no_patient_is_in_two_folds_and_every_fold_tests_both_kinds_over_the_layers():
    pool = make_pool(patients=10, slices_per_patient=20)
    fold_of = patient_folds(pool, folds=5, seed=4)
    assert set(fold_of) == set(range(5))
    for patient in np.unique(pool.patients):
        assert len(set(fold_of[pool.patients == patient])) == 1
    for fold in range(5):
        test = fold_of == fold
        assert pool.synthetic[test].any() and (~pool.synthetic[test]).any()
        assert len(set(pool.layers[test])) == 10
    assert not np.array_equal(fold_of, patient_folds(pool, folds=5, seed=5))
    np.testing.assert_array_equal(fold_of, patient_folds(pool, folds=5, seed=4))


def test_too_few_patients_for_the_folds_is_refused_in_one_line():
    pool = make_pool(patients=3, slices_per_patient=4)
    with pytest.raises(ObserverInputError) as refused:
        interpretable_observer(pool, folds=5)
    assert isinstance(refused.value, ValueError)
    message = str(refused.value)
    assert message == "5-fold cross-validation grouped by patient needs at least 5 patients; the pools hold 3"
    assert "\n" not in message
    with pytest.raises(ObserverInputError, match="at least 2 patients; the pools hold 1"):
        patient_folds(make_pool(patients=1, slices_per_patient=4))


def test_pools_without_one_kind_or_with_a_fold_missing_one_are_refused():
    pool = make_pool(patients=4, slices_per_patient=4)
    only_real = ObserverPool(pool.hu, pool.patients, pool.layers, np.zeros(len(pool), dtype=bool))
    with pytest.raises(
        ObserverInputError, match="needs real and synthetic slices; got 16 real and 0 synthetic"
    ):
        patient_folds(only_real)
    # one synthetic patient among four: three folds cannot all have synthetic slices to test on
    lopsided = make_pool(patients=4, slices_per_patient=4, pure_patients=True)
    synthetic = lopsided.patients == "p1"
    with pytest.raises(
        ObserverInputError, match="fold .* of 3 has .* real and 0 synthetic slices in its test set"
    ):
        patient_folds(ObserverPool(lopsided.hu, lopsided.patients, lopsided.layers, synthetic), folds=3)


# --- AUC -----------------------------------------------------------------------------------------------------


def test_the_auc_equals_scikit_learns_with_ties_and_weights():
    rng = np.random.default_rng(6)
    scores = rng.integers(0, 6, 200).astype(float)  # many ties
    synthetic = rng.random(200) < 0.4
    weights = rng.integers(0, 4, 200).astype(float)
    assert weighted_auc(scores, synthetic) == pytest.approx(roc_auc_score(synthetic, scores))
    assert weighted_auc(scores, synthetic, weights) == pytest.approx(
        roc_auc_score(synthetic, scores, sample_weight=weights)
    )
    assert np.isnan(weighted_auc(scores, np.zeros(200, dtype=bool)))


def test_the_bootstrap_resamples_patients_not_slices():
    # four patients, each either all-real or all-synthetic with one score for all its slices: a resample of
    # patients can only give AUCs from patients' scores, so with 1000 slices per patient the CI stays wide,
    # where a bootstrap of slices would be nearly a point
    patients = np.repeat(["a", "b", "c", "d"], 1000)
    synthetic = np.repeat([False, True, False, True], 1000)
    scores = np.repeat([0.1, 0.3, 0.5, 0.9], 1000)
    hu = np.zeros((4000, 8, 8), dtype=np.int16)
    pool = ObserverPool(hu=hu, patients=patients, layers=np.ones(4000, dtype=int), synthetic=synthetic)
    overall, (layer_1,) = auc_estimates(pool, scores, replicates=400, seed=1)
    assert overall.auc == pytest.approx(0.75)
    assert overall.ci_low <= 0.5 and overall.ci_high == 1.0
    assert overall.valid_replicates < 400  # resamples without a synthetic (or real) patient are left out
    assert layer_1.layer == 1 and layer_1.auc == overall.auc and overall.n_patients == 4


# --- the interpretable observer ------------------------------------------------------------------------------


def test_real_and_synthetic_from_the_same_distribution_give_an_auc_ci_covering_one_half():
    pool = make_pool(patients=8, slices_per_patient=20, seed=7)
    result = interpretable_observer(pool, seed=7, bootstrap=100, workers=1)
    assert result.folds == 5
    assert result.overall.covers(0.5), result.overall
    assert 0.3 < result.overall.auc < 0.7
    assert len(result.by_layer) == 10


def test_a_planted_smoothing_is_found_and_named_as_the_most_telling_feature():
    pool = make_pool(patients=8, slices_per_patient=20, synthetic_smoothing=1.0, seed=8)
    result = interpretable_observer(pool, seed=8, bootstrap=100, workers=2)
    assert result.overall.auc > 0.95 and result.overall.ci_low > 0.9
    top = result.telling[0]
    assert top.name == "noise"
    assert top.synthetic.median < top.real.median / 2
    assert top.sentence.startswith("synthetic slices are smoother: noise ")
    assert top.sentence == (
        f"synthetic slices are smoother: noise {top.synthetic.median:.0f} HU vs {top.real.median:.0f} HU"
    )
    assert len(result.telling) == 3 and len(result.weights) == len(FEATURE_NAMES)
    noise_weight = next(weight for weight in result.weights if weight.name == "noise")
    assert noise_weight.weight < 0  # less noise points to synthetic
    for layer in result.by_layer:
        assert layer.auc > 0.8


def test_grouping_by_patient_keeps_a_patient_signature_from_passing_for_a_difference():
    # every patient has its own organ HU and noise, and each patient is entirely real or entirely synthetic,
    # with no difference between real and synthetic otherwise: a classifier that sees a patient in training
    # and testing learns the patient, not realism
    offsets = np.array([-180, -140, -60, -100, 20, -20, 100, 60, 180, 140])  # real and synthetic interleaved
    pool = make_pool(patients=10, slices_per_patient=16, pure_patients=True, patient_offsets=offsets, seed=9)
    grouped = interpretable_observer(pool, seed=9, bootstrap=100, workers=2)
    assert grouped.overall.covers(0.5), grouped.overall
    for patient in np.unique(pool.patients):
        assert len(set(grouped.fold_of_slice[pool.patients == patient])) == 1

    # a classifier that memorises (1-nearest neighbour on the standardised features) shows what a split
    # ignoring patients (a leaking split) would report, and that the grouped folds do not
    features = StandardScaler().fit_transform(observer_features(pool.hu, workers=2))

    def memorise(train, test):
        neighbours = KNeighborsClassifier(1).fit(features[train], pool.synthetic[train])
        return neighbours.predict_proba(features[test])[:, 1]

    grouped_memory = refit_cross_validation(pool, memorise, folds=5, seed=9, replicates=50)
    assert grouped_memory.overall.covers(0.5), grouped_memory.overall
    leaky = np.empty(len(pool))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=9).split(features, pool.synthetic):
        leaky[test] = memorise(train, test)
    assert weighted_auc(leaky, pool.synthetic) > 0.8  # 0.86 with these patients


def test_the_result_serialises_to_plain_json():
    import json

    pool = make_pool(patients=4, slices_per_patient=8, synthetic_smoothing=1.0)
    data = interpretable_observer(pool, bootstrap=20, workers=1).to_dict()
    assert json.loads(json.dumps(data))["telling"][0]["sentence"]


# --- the CNN observer ----------------------------------------------------------------------------------------


def test_the_cnn_finds_a_planted_smoothing_and_is_reproducible_with_its_seed():
    pool = make_pool(patients=4, slices_per_patient=8, synthetic_smoothing=1.5, seed=10)
    first = cnn_observer(pool, seed=3, crop=32, steps=30, batch=8, bootstrap=200, device="cpu")
    assert first.folds == 4 and first.device == "cpu"
    assert first.overall.auc > 0.8
    second = cnn_observer(pool, seed=3, crop=32, steps=30, batch=8, bootstrap=200)
    np.testing.assert_array_equal(first.scores, second.scores)


def test_the_cnn_on_the_same_distribution_scores_near_chance():
    # its CI comes from a bootstrap of fixed out-of-fold scores, which is too narrow (docs/metrics.md), so the
    # test asks only for an AUC near 0.5
    pool = make_pool(patients=6, slices_per_patient=8, seed=11)
    result = cnn_observer(pool, seed=4, crop=32, steps=30, batch=8, bootstrap=300)
    assert 0.3 < result.overall.auc < 0.7, result.overall


def test_the_cnn_refuses_a_crop_larger_than_the_slices():
    with pytest.raises(ObserverInputError, match="the crop must be 16..64 pixels"):
        cnn_observer(make_pool(patients=4, slices_per_patient=4), crop=128)
