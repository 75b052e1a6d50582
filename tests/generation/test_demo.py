"""The demo step: the committed demo checkpoint registers and turns phantom MRI into CT-like slices."""

import io

import numpy as np
import pytest
import torch

from audit.models import AuditEvent
from generation.demo import DEMO_MODELS, build_demo
from generation.models import Checkpoint
from generation.preprocessing import normalise_volume, resize_batch
from imaging.models import Dataset, Volume
from imaging.phantoms import write_phantoms
from imaging.pixels import load_slice_pixels
from imaging.services import import_images

pytestmark = pytest.mark.django_db


IN_N_OUT = DEMO_MODELS[0]


def test_the_demo_checkpoints_are_small_enough_to_commit():
    for model in DEMO_MODELS:
        assert 0 < model.path.stat().st_size <= 2 * 1024 * 1024


@pytest.mark.smoke
def test_build_demo_registers_the_checkpoint_and_makes_ct_like_synthetic_slices(tmp_path, media_root):
    write_phantoms(tmp_path, patients=1, seed=2024, ct_matrix=64, ct_slices=4, mr_slices=8)
    import_images(path=tmp_path / "MR", dataset_name="Phantom MRI", kind="mr")
    out = io.StringIO()
    build_demo(stdout=out)

    for model in DEMO_MODELS:
        checkpoint = Checkpoint.objects.get(name=model.name)
        assert checkpoint.input_modalities == list(model.inputs) and checkpoint.input_size == 128
        made = Dataset.objects.get(name=model.output_dataset)
        assert (made.kind, made.contrast_enhanced) == (Dataset.Kind.SYNTHETIC_CT, model.contrast)
    dataset = Dataset.objects.get(name=IN_N_OUT.output_dataset)
    assert sum(volume.slices.count() for volume in Volume.objects.filter(dataset=dataset)) == 8
    assert "8/8 slices (100%)" in out.getvalue()

    # CT-like, not noise: air outside the body, soft-tissue HU inside it.
    mri = Volume.objects.get(dataset__name="Phantom MRI", modality="t1_in")
    mri_pixels = np.stack([load_slice_pixels(s.pixels) for s in mri.slices.order_by("index")])
    normalised = torch.from_numpy(normalise_volume(mri_pixels, "percentile_0_5_99_5")).unsqueeze(1)
    body = resize_batch(normalised, 128)[:, 0].numpy() > -0.8
    output = Volume.objects.get(dataset=dataset)
    hu = np.stack([load_slice_pixels(s.pixels) for s in output.slices.order_by("index")]).astype(float)
    assert hu.shape == body.shape
    assert np.mean(hu[~body] < -800) > 0.9
    assert -200 < np.median(hu[body]) < 200
    assert np.std(hu[body]) > 30  # structure inside the body, not a flat fill


def test_build_demo_a_second_time_changes_nothing(tmp_path, media_root):
    write_phantoms(tmp_path, patients=1, seed=2024, ct_matrix=64, ct_slices=4, mr_slices=4)
    import_images(path=tmp_path / "MR", dataset_name="Phantom MRI", kind="mr")
    build_demo(stdout=io.StringIO())
    events = AuditEvent.objects.count()
    out = io.StringIO()
    build_demo(stdout=out)
    assert AuditEvent.objects.count() == events
    assert "4 synthetic slices already there" in out.getvalue()


def test_build_demo_without_phantom_mri_registers_only(media_root):
    out = io.StringIO()
    build_demo(stdout=out)
    assert sorted(Checkpoint.objects.values_list("name", flat=True)) == sorted(m.name for m in DEMO_MODELS)
    assert "No dataset 'Phantom MRI'" in out.getvalue()
