"""CycleGAN training: the recipe's pieces, resuming, logging, and the train_cyclegan command."""

import csv
import io
import json

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from safetensors.torch import load_file

from generation.models import Checkpoint, TrainingRun
from generation.training import (
    GENERATOR_FILE,
    LOSSES_CSV,
    LOSSES_PNG,
    RUN_JSON,
    STATE_FILE,
    CycleGAN,
    ImagePool,
    TrainingData,
    TrainingOptions,
    augment,
    learning_rate,
    train,
)
from imaging.models import Dataset
from imaging.services import store_volume
from imaging.volumes import VolumeData
from jobs.models import JobStatus
from tests.generation.factories import make_mri_dataset
from tests.waiting import finished_job

TINY = {"ngf": 2, "ndf": 2, "n_blocks": 1, "branch_blocks": 1, "image_size": 32, "crop_size": 32}


def options(**overrides) -> TrainingOptions:
    values = {
        "setup": "in_phase",
        "inputs": ("t1_in",),
        **TINY,
        "iterations": 4,
        "decay_iterations": 2,
        "log_every": 1,
        "save_every": 2,
    }
    values.update(overrides)
    return TrainingOptions(**values)


def data(n_inputs=1, seed=0) -> TrainingData:
    rng = np.random.default_rng(seed)
    return TrainingData(
        mri=rng.uniform(-1, 1, (5, n_inputs, 32, 32)).astype(np.float32),
        ct=rng.uniform(-1, 1, (7, 1, 32, 32)).astype(np.float32),
    )


def test_the_learning_rate_is_constant_then_decays_linearly_towards_zero():
    schedule = options(iterations=10, decay_iterations=4, lr=2e-4)
    rates = [learning_rate(schedule, i) for i in range(10)]
    assert rates[:7] == [2e-4] * 7
    assert rates[7:] == pytest.approx([2e-4 * (1 - k / 5) for k in (1, 2, 3)])
    assert rates[7] > rates[8] > rates[9] > 0


def test_the_image_pool_fills_to_its_size_then_answers_half_from_history():
    pool = ImagePool(3)
    rng = np.random.default_rng(0)
    first = [pool.query(torch.full((1, 1, 2, 2), float(i)), rng) for i in range(3)]
    assert [int(image[0, 0, 0, 0]) for image in first] == [0, 1, 2]  # filling: returned as given
    answers = [int(pool.query(torch.full((1, 1, 2, 2), 100.0 + i), rng)[0, 0, 0, 0]) for i in range(200)]
    from_history = sum(answer < 100 or answer != 100 + i for i, answer in enumerate(answers))
    assert 60 < from_history < 140
    assert len(pool.images) == 3
    assert ImagePool(0).query(torch.ones(2, 1, 2, 2), rng).shape == (2, 1, 2, 2)


def test_augmentation_crops_to_the_crop_size_and_flips_horizontally():
    rng = np.random.default_rng(1)
    images = np.tile(np.arange(32, dtype=np.float32), (4, 1, 32, 1))
    crops = augment(images, options(crop_size=16), rng)
    assert crops.shape == (4, 1, 16, 16)
    directions = {np.sign(np.diff(crop[0, 0])).mean() for crop in crops}
    assert directions <= {1.0, -1.0}
    flips = [
        np.sign(np.diff(augment(images[:1], options(crop_size=16), rng)[0, 0, 0])).mean() for _ in range(40)
    ]
    assert 5 < flips.count(-1.0) < 35
    padded = augment(images[:1], options(), rng)
    assert padded.shape == (1, 1, 32, 32)


def test_identity_loss_is_used_for_single_input_models_only():
    single = CycleGAN(options(), torch.device("cpu"))
    losses = single.step(torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32), 2e-4, np.random.default_rng(0))
    assert losses["idt_ct"] > 0 and losses["idt_mri"] > 0
    multimodal = CycleGAN(options(setup="in_n_out", inputs=("t1_in", "t1_out")), torch.device("cpu"))
    losses = multimodal.step(
        torch.rand(1, 2, 32, 32), torch.rand(1, 1, 32, 32), 2e-4, np.random.default_rng(0)
    )
    assert losses["idt_ct"] == 0 and losses["idt_mri"] == 0
    assert len(multimodal.discriminators_mri) == 2
    assert all(np.isfinite(value) for value in losses.values())


def test_the_recipe_defaults_are_the_papers():
    recipe = TrainingOptions(setup="in_phase", inputs=("t1_in",))
    assert (recipe.lr, recipe.beta1, recipe.beta2) == (2e-4, 0.5, 0.999)
    assert (recipe.lambda_cycle, recipe.lambda_identity, recipe.pool_size) == (10.0, 0.5, 50)
    model = CycleGAN(options(), torch.device("cpu"))
    assert model.optimizer_g.defaults["betas"] == (0.5, 0.999)


def test_a_run_split_in_two_ends_with_the_same_weights_as_one_run(tmp_path):
    whole = train(options(), data(), tmp_path / "whole", device=torch.device("cpu"), log=lambda line: None)
    first = train(
        options(), data(), tmp_path / "split", device=torch.device("cpu"), log=lambda line: None, stop_after=2
    )
    assert (first.iteration, first.finished, first.generator_path) == (2, False, None)
    resumed_lines = []
    second = train(
        options(), data(), tmp_path / "split", device=torch.device("cpu"), log=resumed_lines.append
    )
    assert second.finished and resumed_lines[0].startswith("resuming")
    a, b = load_file(whole.generator_path), load_file(second.generator_path)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[key], b[key]) for key in a)
    with open(tmp_path / "split" / LOSSES_CSV) as handle:
        assert [int(row["iteration"]) for row in csv.DictReader(handle)] == [1, 2, 3, 4]
    assert (tmp_path / "split" / LOSSES_PNG).stat().st_size > 1000
    summary = json.loads((tmp_path / "split" / RUN_JSON).read_text())
    assert summary["finished"]["iterations"] == 4 and summary["options"]["seed"] == 0
    assert set(summary["finished"]["last_losses"]) >= {"d_ct", "g_ct", "cycle_mri"}


def test_a_run_folder_refuses_to_resume_with_other_options(tmp_path):
    train(options(), data(), tmp_path, device=torch.device("cpu"), log=lambda line: None, stop_after=2)
    with pytest.raises(ValueError, match=r"holds a run with other options \(ngf\)"):
        train(options(ngf=3), data(), tmp_path, device=torch.device("cpu"), log=lambda line: None)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"crop_size": 48}, "--crop-size must be a multiple of 4"),
        ({"image_size": 30}, "--image-size must be a multiple of 4"),
        ({"iterations": 0}, "at least one iteration"),
        ({"decay_iterations": 9}, "decay iterations must be within the run"),
        ({"lr": 0}, "--lr must be positive"),
    ],
)
def test_bad_training_options_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        options(**overrides)


# --- The command -------------------------------------------------------------------------------------------


def ct_dataset(name="CT", slices=4, size=32):
    y, x = np.mgrid[:size, :size] / (size - 1) * 2 - 1
    body = np.where(x**2 + y**2 < 0.6, 40, -1000).astype(np.int16)
    return store_volume(
        dataset_name=name,
        kind="ct",
        contrast=True,
        data=VolumeData(
            patient="c1", modality="ct", series_key=f"ct-{name}", source_format="dicom", source_path="",
            pixels=np.stack([body] * slices), z_mm=np.arange(slices) * 3.0, row_spacing_mm=1.0,
            column_spacing_mm=1.0, orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
        ),
    )  # fmt: skip


TINY_FLAGS = ["--ngf", "2", "--ndf", "2", "--n-blocks", "1", "--branch-blocks", "1", "--image-size", "32"]


@pytest.mark.django_db
def test_train_cyclegan_trains_logs_and_registers_its_generator(tmp_path, media_root):
    make_mri_dataset("MRI", {("p1", "t1_in"): [0, 6, 12], ("p1", "t1_out"): [0, 6, 12]})
    ct_dataset()
    out = io.StringIO()
    call_command(
        "train_cyclegan", "--setup", "in_n_out", "--mri-dataset", "MRI", "--ct-dataset", "CT", "--name", "tiny",
        *TINY_FLAGS, "--iterations", "3", "--log-every", "1", "--run-dir", str(tmp_path / "run"), "--device", "cpu",
        "--ct-range=-1024,3071", stdout=out,
    )  # fmt: skip
    run = TrainingRun.objects.get(name="tiny")
    assert run.status == JobStatus.DONE and run.done == run.total == 3
    checkpoint = run.checkpoint
    assert checkpoint == Checkpoint.objects.get(name="tiny")
    assert checkpoint.architecture == "multimodal" and checkpoint.input_modalities == ["t1_in", "t1_out"]
    assert checkpoint.contrast_enhanced is True and checkpoint.input_size == 32
    assert checkpoint.provenance["training_run"] == run.pk and checkpoint.provenance["setup"] == "in_n_out"
    for name in (STATE_FILE, LOSSES_CSV, LOSSES_PNG, GENERATOR_FILE):
        assert (tmp_path / "run" / name).exists()
    text = out.getvalue()
    assert "training data: 3 MRI samples (t1_in, t1_out), 4 CT slices at 32x32" in text
    assert "iteration 3/3" in text and "registered checkpoint 'tiny'" in text


@pytest.mark.django_db
def test_train_cyclegan_with_the_same_name_resumes_the_stopped_run(tmp_path, media_root):
    make_mri_dataset("MRI", {("p1", "t1_in"): [0, 6]})
    ct_dataset()
    arguments = ["train_cyclegan", "--setup", "in_phase", "--mri-dataset", "MRI", "--ct-dataset", "CT", "--name", "r",
                 *TINY_FLAGS, "--iterations", "4", "--save-every", "1", "--run-dir", str(tmp_path / "r"), "--no-register"]  # fmt: skip
    call_command(*arguments, "--stop-after", "2", stdout=io.StringIO())
    stopped = TrainingRun.objects.get()
    assert (stopped.status, stopped.done, stopped.message) == (JobStatus.QUEUED, 2, "stopped at 2")
    out = io.StringIO()
    call_command(*arguments, stdout=out)
    assert "resuming" in out.getvalue() and "at iteration 2/4" in out.getvalue()
    run = TrainingRun.objects.get()
    assert run.status == JobStatus.DONE and run.done == 4 and run.checkpoint is None and run.attempts == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--setup", "custom"], "--setup custom needs --inputs"),
        (["--setup", "in_phase", "--inputs", "t2"], "--inputs is only for --setup custom"),
        (["--setup", "in_phase", "--mri-dataset", "nope"], "--mri-dataset: no dataset named 'nope'"),
        (["--setup", "in_phase", "--ct-dataset", "MRI"], "--ct-dataset: dataset 'MRI' holds MRI"),
        (["--setup", "t2"], "has no t2 slices to train on"),
        (["--setup", "in_phase", "--crop-size", "64"], "--crop-size must be a multiple of 4"),
        (["--setup", "in_phase", "--ct-range", "1,0"], "CT range 1,0 must be"),
        (["--setup", "in_phase", "--epochs", "0", "--epochs-decay", "0"], "add up to at least 1"),
        (["--setup", "in_phase", "--inputs", "t9"], "unknown input modality 't9'"),
        (["--setup", "in_phase", "--device", "tpu", "--iterations", "1"], "unknown device 'tpu'"),
    ],
)
def test_train_cyclegan_refuses_bad_arguments_in_one_line(tmp_path, media_root, arguments, expected):
    make_mri_dataset("MRI", {("p1", "t1_in"): [0, 6]})
    ct_dataset()
    base = {"--mri-dataset": "MRI", "--ct-dataset": "CT"}
    flat = [*arguments]
    for flag, value in base.items():
        if flag not in arguments:
            flat += [flag, value]
    with pytest.raises(CommandError) as raised:
        call_command(
            "train_cyclegan", *flat, *TINY_FLAGS, "--run-dir", str(tmp_path / "x"), stdout=io.StringIO()
        )
    assert expected in str(raised.value) and len(str(raised.value).splitlines()) == 1
    assert Checkpoint.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_train_cyclegan_runs_as_a_task_on_the_gpu_queue(tmp_path, media_root, celery_worker):
    make_mri_dataset("MRI", {("p1", "t1_in"): [0, 6]})
    ct_dataset()
    out = io.StringIO()
    call_command(
        "train_cyclegan", "--setup", "in_phase", "--mri-dataset", "MRI", "--ct-dataset", "CT", "--name", "queued",
        *TINY_FLAGS, "--iterations", "2", "--run-dir", str(tmp_path / "q"), "--queue", stdout=out,
    )  # fmt: skip
    assert "queued on the gpu queue" in out.getvalue()
    run = finished_job(TrainingRun.objects.get())
    assert run.status == JobStatus.DONE, run.error
    assert run.task_id and Checkpoint.objects.get(name="queued").provenance["training_run"] == run.pk
    assert Dataset.objects.filter(kind="synthetic_ct").count() == 0
