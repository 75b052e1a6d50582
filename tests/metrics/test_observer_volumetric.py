"""The volumetric observer: 3-D features of the slab around each slice, the interpretable observer's classifier
and cross-validation, on phantom abdomens whose synthetic twins flicker from slice to slice."""

import numpy as np
import pytest

from metrics.measures.observer import (
    VOLUME_FEATURES,
    ObserverInputError,
    ObserverPool,
    slab_around,
    slab_features,
    volumetric_observer,
)
from metrics.measures.zconsistency import VolumeGrid
from tests.metrics.test_zconsistency import phantom_volume

GRID = VolumeGrid(slice_mm=3.0, pixel_mm=6.0)
PATIENTS = 6
PER_VOLUME = 6


def flickering(volume, rng, offset_hu=40.0):
    """A slice-by-slice generator's fault: every slice shifted by its own offset inside the body."""
    out = volume.astype(np.float32)
    body = out > -500
    out += body * rng.normal(0, offset_hu, (len(volume), 1, 1))
    return np.rint(out).astype(np.int16)


@pytest.fixture(scope="module")
def pools():
    rng = np.random.default_rng(5)
    rows, hu, patients, layers, synthetic = [], [], [], [], []
    for patient in range(PATIENTS):
        volume = phantom_volume(patient, slices=20)
        for is_synthetic, source in ((False, volume), (True, flickering(volume, rng))):
            for n, centre in enumerate(np.linspace(3, 16, PER_VOLUME).astype(int)):
                rows.append(slab_features(slab_around(source, centre), GRID))
                hu.append(source[centre])
                patients.append(f"P{patient}")
                layers.append(1 + n % 2)
                synthetic.append(is_synthetic)
    pool = ObserverPool(
        hu=np.stack(hu), patients=np.array(patients), layers=np.array(layers), synthetic=np.array(synthetic)
    )
    return pool, np.stack(rows)


def test_slab_around_cuts_at_the_ends_of_the_volume():
    volume = np.arange(10)[:, None, None] * np.ones((10, 4, 4))
    assert slab_around(volume, 0, 3)[:, 0, 0].tolist() == [0, 1, 2, 3]
    assert slab_around(volume, 5, 3)[:, 0, 0].tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert slab_around(volume, 9, 3)[:, 0, 0].tolist() == [6, 7, 8, 9]


def test_slab_features_of_a_hand_worked_ramp():
    slab = np.full((5, 32, 32), -1024.0)
    for k in range(5):
        slab[k, 6:26, 6:26] = 40 + 9 * k  # 3 HU/mm at 3 mm slices
    values = dict(zip((f.name for f in VOLUME_FEATURES), slab_features(slab, GRID), strict=True))
    assert values["z_gradient_mean"] == pytest.approx(3.0)
    assert values["z_gradient_p90"] == pytest.approx(3.0)


def test_a_slab_of_two_slices_is_refused_in_one_line():
    with pytest.raises(ObserverInputError, match="at least 3 slices"):
        slab_features(np.zeros((2, 16, 16)), GRID)


def test_flicker_along_z_gives_synthetic_volumes_away_and_the_telling_feature_is_a_z_feature(pools):
    pool, features = pools
    result = volumetric_observer(pool, features, folds=3, bootstrap=20)
    assert result.overall.auc > 0.9
    assert result.overall.ci_low is not None and result.overall.ci_low > 0.5
    assert result.telling[0].name.startswith("z_")
    assert result.to_dict()["model"] == "logistic regression on 3-D features of slabs"
    assert [weight.name for weight in result.weights] == [feature.name for feature in VOLUME_FEATURES]


def test_the_same_volumes_on_both_sides_are_not_told_apart(pools):
    pool, features = pools
    real = ~pool.synthetic
    twin = ObserverPool(
        hu=np.concatenate([pool.hu[real], pool.hu[real]]),
        patients=np.concatenate([pool.patients[real], pool.patients[real]]),
        layers=np.concatenate([pool.layers[real], pool.layers[real]]),
        synthetic=np.r_[np.zeros(real.sum(), bool), np.ones(real.sum(), bool)],
    )
    result = volumetric_observer(
        twin, np.concatenate([features[real], features[real]]), folds=3, bootstrap=20
    )
    assert result.overall.auc < 0.6
