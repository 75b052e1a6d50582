"""Generation jobs: pairing, normalisation, HU mapping, provenance, idempotency, resuming, commands, admin."""

import io
import itertools
import re

import numpy as np
import pytest
import torch
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from generation.inference import GENERATORS
from generation.models import GenerationJob, SyntheticSlice
from generation.preprocessing import normalise_volume, tanh_to_hu
from generation.services import GenerationError, generate_now, pipeline, start_generation
from imaging.models import Dataset, Slice, Volume
from imaging.pixels import load_slice_pixels
from imaging.services import store_volume
from jobs.models import JobStatus
from tests.conftest import stored_files
from tests.generation.factories import (
    constant_output_generator,
    make_mri_dataset,
    mri_volume,
    register_small,
    small_multimodal,
)
from tests.generation.reference_cyclegan import reference_generator

pytestmark = pytest.mark.django_db

Z = [0.0, 6.0, 12.0, 18.0, 24.0]


def run(checkpoint, dataset, **kwargs):
    job = start_generation(checkpoint=checkpoint, mri_dataset=dataset, enqueue=False, **kwargs)
    return generate_now(job, device="cpu", batch_size=kwargs.pop("batch_size", 2))


def source_volume_pixels(volume: Volume) -> np.ndarray:
    return np.stack([load_slice_pixels(s.pixels) for s in volume.slices.order_by("index")])


@pytest.mark.smoke
def test_a_reference_checkpoint_generates_what_the_reference_forward_pass_gives(media_root):
    (mri_volume_row,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z}, size=48)
    reference = reference_generator(ngf=4, n_blocks=2, seed=7)
    checkpoint = register_small("reference", net=reference, input_size=48)
    job = run(checkpoint, mri_volume_row.dataset)

    assert job.status == JobStatus.DONE, job.message
    normalised = normalise_volume(source_volume_pixels(mri_volume_row), "percentile_0_5_99_5")
    with torch.no_grad():
        expected = tanh_to_hu(reference(torch.from_numpy(normalised).unsqueeze(1))[:, 0], -1024, 3071).numpy()
    output = Volume.objects.get(dataset__kind=Dataset.Kind.SYNTHETIC_CT)
    generated = np.stack([load_slice_pixels(s.pixels) for s in output.slices.order_by("index")])
    assert generated.dtype == np.int16
    assert np.abs(generated.astype(int) - expected.astype(int)).max() <= 1  # batching may round differently
    assert (generated == expected).mean() > 0.999


def test_tanh_output_is_stored_as_hu_by_the_declared_range(media_root):
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z[:3]})
    checkpoint = register_small("half", net=constant_output_generator(0.5), hu_range=(-1000, 1000))
    run(checkpoint, volume.dataset)
    for slice_ in Slice.objects.filter(volume__dataset__kind="synthetic_ct"):
        assert np.unique(load_slice_pixels(slice_.pixels)).tolist() == [500]  # (0.5 + 1) / 2 * 2000 - 1000


def test_the_synthetic_dataset_records_contrast_geometry_layers_and_provenance(media_root):
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z}, size=48)
    checkpoint = register_small("non-contrast", contrast=False, input_size=32)
    job = run(checkpoint, volume.dataset, output_dataset_name="sCT of p1")

    dataset = Dataset.objects.get(name="sCT of p1")
    assert (dataset.kind, dataset.contrast_enhanced) == (Dataset.Kind.SYNTHETIC_CT, False)
    assert checkpoint.sha256 in dataset.source
    output = dataset.volumes.get()
    assert (output.patient, output.modality, output.source_format) == ("p1", "ct", "generated")
    assert (output.rows, output.columns, output.slice_count) == (32, 32, 5)
    assert output.row_spacing_mm == pytest.approx(1.5 * 48 / 32)
    assert checkpoint.sha256 in output.source_path and str(volume.uid) in output.source_path
    sources = list(volume.slices.order_by("index"))
    for synthetic, source in zip(output.slices.order_by("index"), sources, strict=True):
        assert (synthetic.z_mm, synthetic.axial_layer) == (source.z_mm, source.axial_layer)
        assert synthetic.sop_instance_uid and synthetic.sop_instance_uid != source.sop_instance_uid
        record = synthetic.synthesis
        assert record.source_slice_ids == [source.pk] and record.source_key == str(source.pk)
        assert record.checkpoint == checkpoint and record.job == job
        assert record.device.startswith("cpu") and record.software_version.startswith("blindread")
    assert job.device.startswith("cpu") and job.done == job.total == 5


def test_two_inputs_are_paired_by_patient_and_z_and_slices_without_a_partner_are_reported(media_root):
    make_mri_dataset(
        "MRI",
        {
            ("p1", "t1_in"): [0.0, 6.0, 12.0],
            ("p1", "t1_out"): [0.5, 6.5, 40.0],
            ("p2", "t1_in"): [0.0, 6.0],
        },
    )
    checkpoint = register_small("two", net=small_multimodal(2), inputs="t1_in,t1_out")
    job = run(checkpoint, Dataset.objects.get(name="MRI"))

    assert job.done == 2 and job.unpaired_count == 4
    reasons = sorted((u["patient"], u["modality"], u["index"], u["reason"]) for u in job.unpaired)
    assert reasons == [
        ("p1", "t1_in", 2, "nearest t1_out slice is 5.50 mm away (tolerance 3.00 mm)"),
        ("p1", "t1_out", 2, "no t1_in slice chose it as the nearest within tolerance"),
        ("p2", "t1_in", 0, "patient has no t1_out volume"),
        ("p2", "t1_in", 1, "patient has no t1_out volume"),
    ]
    t1_out = {s.pk for s in Slice.objects.filter(volume__modality="t1_out")}
    for record in SyntheticSlice.objects.all():
        assert len(record.source_slice_ids) == 2 and record.source_slice_ids[1] in t1_out
    assert "4 MRI slice(s) had no partner" in job.message


def test_running_a_finished_job_again_changes_nothing(media_root):
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z})
    checkpoint = register_small()
    first = run(checkpoint, volume.dataset)
    files = stored_files(media_root)
    again = run(checkpoint, volume.dataset)

    assert again.pk == first.pk and again.status == JobStatus.DONE
    assert (
        SyntheticSlice.objects.count() == 5
        and Slice.objects.filter(volume__dataset__kind="synthetic_ct").count() == 5
    )
    assert stored_files(media_root) == files


def test_the_database_refuses_a_second_synthetic_slice_for_the_same_checkpoint_and_sources(media_root):
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z[:2]})
    checkpoint = register_small()
    job = run(checkpoint, volume.dataset)
    record = SyntheticSlice.objects.first()
    extra = Slice.objects.create(volume=record.output.volume, index=99, z_mm=0, pixels="x.npy")
    with pytest.raises(IntegrityError), transaction.atomic():
        SyntheticSlice.objects.create(
            checkpoint=checkpoint,
            job=job,
            source_key=record.source_key,
            source_slice_ids=record.source_slice_ids,
            primary_source=record.primary_source,
            output=extra,
            device="cpu",
            software_version="x",
        )


def test_a_run_that_fails_part_way_is_resumed_with_no_missing_and_no_duplicate_slices(
    media_root, monkeypatch
):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z, ("p2", "t1_in"): Z})
    checkpoint = register_small()
    dataset = Dataset.objects.get(name="MRI")
    real_write = pipeline._write_pixels
    calls = itertools.count(1)  # next() is atomic: the writer threads each get their own number

    def write_then_die(volume, indices, hu):
        call = next(calls)
        written = real_write(volume, indices, hu)
        if call == 3:  # files of this write are on storage, their rows are never committed
            raise RuntimeError("worker lost")
        return written

    monkeypatch.setattr(pipeline, "_write_pixels", write_then_die)
    with pytest.raises(RuntimeError, match="worker lost"):
        run(checkpoint, dataset)
    job = GenerationJob.objects.get()
    assert job.status == JobStatus.FAILED and job.error == "RuntimeError: worker lost"
    assert 0 < SyntheticSlice.objects.count() < 10

    monkeypatch.setattr(pipeline, "_write_pixels", real_write)
    job = run(checkpoint, dataset)
    assert job.status == JobStatus.DONE and job.done == 10
    keys = list(SyntheticSlice.objects.values_list("source_key", flat=True))
    assert len(keys) == len(set(keys)) == 10
    for output in Volume.objects.filter(dataset__kind="synthetic_ct"):
        assert sorted(output.slices.values_list("index", flat=True)) == list(range(5))
    # Every stored synthetic file belongs to exactly one slice row: the dead batch's files were replaced.
    synthetic_files = [
        p
        for p in stored_files(media_root)
        if any(str(v.uid) in str(p) for v in Volume.objects.filter(dataset__kind="synthetic_ct"))
    ]
    assert len(synthetic_files) == 10


def test_new_mri_added_to_a_finished_dataset_is_generated_when_the_job_runs_again(media_root):
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z})
    checkpoint = register_small()
    run(checkpoint, volume.dataset)
    store_volume(
        dataset_name="MRI",
        kind="mr",
        contrast=None,
        data=mri_volume(patient="p2", modality="t1_in", z_mm=Z[:2], seed=9),
    )
    job = run(checkpoint, volume.dataset)
    assert job.total == job.done == 7
    assert SyntheticSlice.objects.count() == 7


def test_the_model_is_loaded_once_per_process_for_every_job_using_it(media_root):
    GENERATORS.clear()
    loads = GENERATORS.loads
    make_mri_dataset("MRI A", {("p1", "t1_in"): Z[:2]})
    make_mri_dataset("MRI B", {("p2", "t1_in"): Z[:2]})
    checkpoint = register_small()
    run(checkpoint, Dataset.objects.get(name="MRI A"))
    run(checkpoint, Dataset.objects.get(name="MRI B"))
    assert GENERATORS.loads == loads + 1


def test_generation_on_the_cpu_never_initialises_cuda(media_root, monkeypatch):
    def no_cuda(*args, **kwargs):
        raise AssertionError("CUDA was initialised")

    monkeypatch.setattr(torch.cuda, "_lazy_init", no_cuda)
    monkeypatch.setattr(torch.cuda, "init", no_cuda)
    GENERATORS.clear()
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z[:2]})
    job = run(register_small(), volume.dataset)
    assert job.status == JobStatus.DONE
    assert not torch.cuda.is_initialized()


def test_changed_weights_on_storage_are_refused_before_generating(media_root):
    GENERATORS.clear()
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z[:2]})
    checkpoint = register_small()
    default_storage.delete(checkpoint.weights)
    default_storage.save(checkpoint.weights, io.BytesIO(b"tampered"))
    job = run(checkpoint, volume.dataset)
    assert job.status == JobStatus.FAILED
    assert job.error == f"stored weights of {checkpoint.name!r} do not match their registered sha256"
    assert not SyntheticSlice.objects.exists()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("ct-input", "holds Real CT, not MRI"),
        ("output-is-real-ct", "exists and holds Real CT, not synthetic CT"),
        ("other-model", "already holds another model's synthetic CT"),
        ("imported", "already holds another model's synthetic CT"),
        ("tolerance", "the z tolerance must be positive"),
    ],
)
def test_bad_generation_requests_are_refused_in_one_line(media_root, setup, expected):
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z[:2]})
    checkpoint = register_small()
    ct = Dataset.objects.create(name="Real", kind=Dataset.Kind.REAL_CT, contrast_enhanced=True)
    arguments = {"checkpoint": checkpoint, "mri_dataset": volume.dataset, "enqueue": False}
    if setup == "ct-input":
        arguments["mri_dataset"] = ct
    elif setup == "output-is-real-ct":
        arguments["output_dataset_name"] = "Real"
    elif setup == "other-model":
        other = register_small("other", net=constant_output_generator(0.1))
        start_generation(
            checkpoint=other, mri_dataset=volume.dataset, output_dataset_name="Shared", enqueue=False
        )
        generate_now(GenerationJob.objects.get(checkpoint=other), device="cpu")
        arguments["output_dataset_name"] = "Shared"
    elif setup == "imported":
        data = mri_volume(patient="x", modality="ct", z_mm=[0.0], series="imported")
        data.pixels = data.pixels.astype("int16")
        store_volume(dataset_name="Imported", kind="sct", contrast=True, data=data)
        arguments["output_dataset_name"] = "Imported"
    else:
        arguments["z_tolerance_mm"] = -1.0
    with pytest.raises(GenerationError) as raised:
        start_generation(**arguments)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


# --- Command -----------------------------------------------------------------------------------------------


def test_generate_command_in_the_foreground_prints_progress_and_the_result(media_root):
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z})
    register_small("cli")
    out = io.StringIO()
    call_command(
        "generate",
        "--checkpoint",
        "cli",
        "--mri-dataset",
        "MRI",
        "--foreground",
        "--device",
        "cpu",
        stdout=out,
    )
    text = out.getvalue()
    assert re.search(r"^5/5 slices \(100%\)", text, re.MULTILINE), text
    assert "Done: 5 synthetic slices in 'cli synthetic CT'" in text


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--checkpoint", "nope", "--mri-dataset", "MRI"], "no checkpoint named 'nope'"),
        (["--checkpoint", "cli", "--mri-dataset", "nope"], "no dataset named 'nope'"),
        (
            ["--checkpoint", "cli", "--mri-dataset", "MRI", "--device", "cpu"],
            "--device applies to --foreground",
        ),
        (
            ["--checkpoint", "cli", "--mri-dataset", "MRI", "--z-tolerance", "0", "--foreground"],
            "z tolerance must be positive",
        ),
        (["--checkpoint", "cli", "--mri-dataset", "MRI", "--z-tolerance", "abc"], "invalid float value"),
        (
            ["--checkpoint", "cli", "--mri-dataset", "MRI", "--foreground", "--device", "tpu"],
            "unknown device 'tpu'",
        ),
    ],
)
def test_generate_command_refuses_bad_arguments_in_one_line(media_root, arguments, expected):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z[:1]})
    register_small("cli")
    with pytest.raises(CommandError) as raised:
        call_command("generate", *arguments)
    assert expected in str(raised.value)
    assert len(str(raised.value).splitlines()) == 1
    assert SyntheticSlice.objects.count() == 0


# --- Admin -------------------------------------------------------------------------------------------------


def test_the_job_page_shows_progress_and_synthetic_slices_beside_their_mri_inputs(
    client, admin_user, media_root
):
    make_mri_dataset("MRI", {("p1", "t1_in"): Z[:3], ("p1", "t1_out"): Z[:3]})
    checkpoint = register_small("two", net=small_multimodal(2), inputs="t1_in,t1_out")
    job = run(checkpoint, Dataset.objects.get(name="MRI"))
    client.force_login(admin_user)
    page = client.get(reverse("admin:generation_generationjob_change", args=[job.pk])).content.decode()

    assert "3/3 slices (100%)" in page
    rows = re.findall(r"<tr>\s*<td>p1</td>.*?</tr>", page, re.S)
    assert len(rows) == 3
    for record in SyntheticSlice.objects.all():
        # One table row holds the synthetic slice and both of its MRI inputs.
        (row,) = [r for r in rows if reverse("admin:imaging_slice_png", args=[record.output_id]) in r]
        for source_id in record.source_slice_ids:
            assert reverse("admin:imaging_slice_png", args=[source_id]) in row
    url = reverse("admin:generation_generationjob_change", args=[job.pk])
    assert len(re.findall(r"<tr>\s*<td>p1</td>", client.get(url + "?preview=1").content.decode())) == 1
    assert client.get(url + "?preview=abc").status_code == 200
    png = client.get(reverse("admin:imaging_slice_png", args=[SyntheticSlice.objects.first().output_id]))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    progress = client.get(reverse("jobs:progress", args=[job.label(), job.pk])).json()
    assert (progress["done"], progress["total"], progress["finished"]) == (3, 3, True)


def test_the_job_list_shows_progress_and_eta(client, admin_user, media_root):
    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z[:2]})
    job = run(register_small(), volume.dataset)
    client.force_login(admin_user)
    page = client.get(reverse("admin:generation_generationjob_changelist")).content.decode()
    assert f"{job.done}/{job.total} slices (100%)" in page and "job-status-done" in page


def test_importing_the_worker_side_of_generation_does_not_touch_cuda():
    """What a prefork worker's parent imports before it forks must never initialise CUDA."""
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import torch\n"
        "def refuse(*a, **k):\n"
        "    raise SystemExit('CUDA initialised at import')\n"
        "torch.cuda._lazy_init = refuse\n"
        "torch.cuda.init = refuse\n"
        "import django, os\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'\n"
        "django.setup()\n"
        "from config.celery import app\n"
        "app.loader.import_default_modules()\n"
        "import jobs.tasks, generation.services, generation.services.runs, generation.inference\n"
        "assert 'jobs.run_job' in app.tasks\n"
        "assert not torch.cuda.is_initialized()\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_a_running_jobs_progress_shows_its_rate_and_eta(client, admin_user, media_root):
    from datetime import timedelta

    from django.utils import timezone

    (volume,) = make_mri_dataset("MRI", {("p1", "t1_in"): Z[:1]})
    job = start_generation(checkpoint=register_small(), mri_dataset=volume.dataset, enqueue=False)
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        message="generating",
        total=40,
        done=25,
        run_started_done=5,
        run_started_at=timezone.now() - timedelta(seconds=10),
    )
    client.force_login(admin_user)
    progress = client.get(reverse("jobs:progress", args=[job.label(), job.pk])).json()
    assert (progress["done"], progress["total"], progress["finished"]) == (25, 40, False)
    assert re.fullmatch(
        r"Running: generating: 25/40 slices \(62%\), 2\.0 slices/s, ETA 0:00:0[78]", progress["line"]
    )
    assert progress["rate_per_second"] == pytest.approx(2.0, rel=0.1)
    page = client.get(reverse("admin:generation_generationjob_change", args=[job.pk])).content.decode()
    assert "data-job-progress" in page and "jobs/job_progress.js" in page
    assert re.search(r"25/40 slices \(62%\), 2\.0 slices/s, ETA 0:00:0[78]", page)
