"""Metrics jobs: results per (model, real dataset, layer, metric), baselines on a held-out split, FID without
weights, the command line, the admin and a real worker."""

import io

import pytest
import torch
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.models import AuditEvent
from imaging.models import Dataset
from jobs.models import JobStatus
from metrics.measures.inception import FIDInceptionV3
from metrics.measures.layerwise import AVERAGE_LAYER, FEATURE_METRICS, METRICS
from metrics.measures.vocabulary import VOLUME_METRICS
from metrics.models import MetricResult, MetricsJob
from metrics.services import MetricsArgumentError, create_metrics_job
from metrics.services import metric_runs as services
from metrics.services.metric_runs import compute_now
from tests.metrics.factories import make_ct_dataset, stand_in_extractor
from tests.waiting import finished_job


@pytest.fixture
def missing_weights(settings, tmp_path):
    settings.FID_INCEPTION_WEIGHTS = str(tmp_path / "models" / "pt_inception-missing.pth")
    return settings.FID_INCEPTION_WEIGHTS


@pytest.fixture
def datasets(db):
    real = make_ct_dataset("Real CT", patients=4, slices_per_layer=3, seed=1)
    model = make_ct_dataset(
        "Model A", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=2, seed=2, soft_tissue_hu=80
    )
    return model, real


def run_inline(model, real, **options):
    job = create_metrics_job(model_name=model.name, real_dataset_name=real.name, queue=False, **options)
    return compute_now(job, extractor_loader=stand_in_extractor)


def test_results_are_stored_per_layer_and_metric_with_baseline_normalised_value_and_sample_sizes(datasets):
    model, real = datasets
    job = run_inline(model, real)
    assert job.status == JobStatus.DONE, job.message
    results = MetricResult.objects.filter(model=model, real_dataset=real)
    assert results.count() == 11 * len(METRICS) + len(VOLUME_METRICS)
    for result in results.filter(layer__gte=1):
        # per layer: the model has 2 patients x 2 slices; each real half has 2 patients x 3 slices
        assert (result.n_synthetic, result.n_reference, result.n_held_out) == (4, 4, 4)
        assert result.value is not None, result.note
        if result.baseline > 0:
            assert result.normalised == pytest.approx(result.value / result.baseline)
        else:
            assert result.normalised is None
    fid = results.get(layer=AVERAGE_LAYER, metric="fid")
    layer_fids = results.filter(metric="fid", layer__gte=1)
    assert fid.value == pytest.approx(sum(r.value for r in layer_fids) / 10)
    assert fid.normalised == pytest.approx(fid.value / (sum(r.baseline for r in layer_fids) / 10))
    assert fid.n_synthetic == 40
    assert job.done == job.total == 10 * 3 * 4
    assert AuditEvent.objects.filter(verb="metrics.finished", object_id=str(job.pk)).exists()


def test_realism_along_z_is_stored_once_per_model_on_whole_volumes(datasets):
    model, real = datasets
    job = run_inline(model, real)
    assert job.status == JobStatus.DONE, job.message
    rows = {row.metric: row for row in MetricResult.objects.filter(model=model, metric__in=VOLUME_METRICS)}
    assert set(rows) == set(VOLUME_METRICS)
    for row in rows.values():
        assert row.layer == AVERAGE_LAYER and row.detail["scope"] == "whole volumes"
        # volumes, not slices: the model's 2 volumes against 2 real volumes in each half
        assert (row.n_synthetic, row.n_reference, row.n_held_out) == (2, 2, 2)
        assert row.value is not None, row.note
    gradient = rows["z_gradient_w1"]
    # both datasets have 0.75 mm pixels and 3 mm slices: the grid is theirs
    assert gradient.detail["grid"] == {"slice_mm": 3.0, "pixel_mm": 0.75}
    assert sum(gradient.detail["real_histogram"]) == pytest.approx(1.0, abs=1e-4)
    assert len(gradient.detail["edges"]) == len(gradient.detail["synthetic_histogram"]) + 1
    low, high = gradient.detail["ci"]
    assert low <= high
    assert set(gradient.detail["statistics"]) >= {"z_gradient_mean", "z_high_frequency"}
    # the model's soft tissue is 80 HU against 40: its slices jump like the real ones, by noise and bone
    statistics = gradient.detail["statistics"]["z_gradient_mean"]
    assert statistics["n_real"] == 4 and statistics["n_synthetic"] == 2


def test_jobs_sharing_a_radiomics_cache_give_the_same_results_and_reuse_the_real_slices(datasets):
    model, real = datasets
    other = make_ct_dataset(
        "Model B", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=2, seed=3, soft_tissue_hu=20
    )
    cache = {}
    for dataset in (model, other):
        job = create_metrics_job(model_name=dataset.name, real_dataset_name=real.name, queue=False)
        assert (
            compute_now(job, extractor_loader=stand_in_extractor, radiomics_cache=cache).status
            == JobStatus.DONE
        )
    # per model: 10 layers x 4 slices of each real half (the same draws) and 4 of its own synthetic slices
    assert len(cache) == 10 * 4 * 2 + 10 * 4 * 2
    shared = {
        (r.layer, r.metric): r.value
        for r in MetricResult.objects.filter(model=other, metric__startswith="radiomic")
    }
    MetricResult.objects.filter(model=other).delete()
    alone = run_inline(other, real)
    assert alone.status == JobStatus.DONE
    again = {
        (r.layer, r.metric): r.value
        for r in MetricResult.objects.filter(model=other, metric__startswith="radiomic")
    }
    assert again == shared and len(shared) == 11 * 2


def test_the_baseline_compares_two_disjoint_halves_of_the_real_patients(datasets, monkeypatch):
    model, real = datasets
    plans = []
    original = services.plan_layers

    def recording_plan_layers(*args, **kwargs):
        plans.extend(original(*args, **kwargs))
        return plans

    monkeypatch.setattr(services, "plan_layers", recording_plan_layers)
    run_inline(model, real)
    reference_patients = {stored.patient for plan in plans for stored in plan.reference}
    held_out_patients = {stored.patient for plan in plans for stored in plan.held_out}
    assert len(reference_patients) == 2 and len(held_out_patients) == 2
    assert reference_patients.isdisjoint(held_out_patients)
    assert all(stored.pixels.startswith("slices/") for plan in plans for stored in plan.synthetic)
    assert {stored.patient for plan in plans for stored in plan.synthetic}.isdisjoint(reference_patients)


def test_layers_without_synthetic_slices_are_recorded_as_unavailable_and_left_out_of_the_mean(db):
    real = make_ct_dataset("Real CT", patients=2, slices_per_layer=2, seed=1)
    model = make_ct_dataset("Model B", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, layers=[3, 4], seed=2)
    job = run_inline(model, real)
    assert job.status == JobStatus.DONE
    scored = MetricResult.objects.filter(model=model, value__isnull=False, layer__gte=1)
    assert set(scored.values_list("layer", flat=True)) == {3, 4}
    empty = MetricResult.objects.get(model=model, layer=7, metric="kl_divergence_256")
    assert empty.value is None and empty.note.startswith("unavailable: layer 7 has 0 synthetic slices")
    average = MetricResult.objects.get(model=model, layer=AVERAGE_LAYER, metric="kl_divergence_256")
    assert average.detail["layers"] == [3, 4]
    assert "layers without a score: 1, 2, 5, 6, 7, 8, 9, 10" in job.message


def test_recomputing_replaces_the_pairs_results_and_keeps_other_models(datasets):
    model, real = datasets
    other = make_ct_dataset("Model C", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, seed=3)
    run_inline(other, real)
    first = run_inline(model, real)
    second = run_inline(model, real, max_per_layer=3)
    mine = MetricResult.objects.filter(model=model, real_dataset=real)
    assert mine.count() == 11 * len(METRICS) + len(VOLUME_METRICS)
    assert set(mine.values_list("job", flat=True)) == {second.pk}
    assert mine.get(layer=5, metric="fid").n_synthetic == 3
    assert MetricResult.objects.filter(model=other).count() == 11 * len(METRICS) + len(VOLUME_METRICS)
    assert first.pk != second.pk


def test_a_failure_while_storing_leaves_the_previous_results_in_place(datasets, monkeypatch):
    model, real = datasets
    first = run_inline(model, real)

    def broken_bulk_create(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(MetricResult.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(RuntimeError):
        run_inline(model, real)
    assert set(MetricResult.objects.filter(model=model).values_list("job", flat=True)) == {first.pk}
    failed = MetricsJob.objects.exclude(pk=first.pk).get()
    assert failed.status == JobStatus.FAILED
    assert failed.error == "could not store the results: RuntimeError: disk full"


def test_one_result_per_model_real_dataset_layer_and_metric_is_enforced_by_the_database(datasets):
    model, real = datasets
    run_inline(model, real)
    row = MetricResult.objects.filter(model=model).first()
    row.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


def test_without_the_inception_weights_fid_and_kid_are_unavailable_and_everything_else_is_computed(
    datasets, missing_weights
):
    model, real = datasets
    job = create_metrics_job(model_name=model.name, real_dataset_name=real.name, queue=False)
    job = compute_now(job)  # the real loader, reading settings.FID_INCEPTION_WEIGHTS
    assert job.status == JobStatus.DONE
    assert "pt_inception-missing.pth" in job.feature_metrics_note
    assert "FID/KID unavailable" in job.message
    for result in MetricResult.objects.filter(model=model):
        if result.metric in FEATURE_METRICS:
            assert result.value is None
            assert result.note.startswith("unavailable: FID Inception weights not found at ")
            assert missing_weights in result.note
        else:
            assert result.value is not None


def test_fid_runs_through_the_inception_network_loaded_from_the_configured_file(db, settings, tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "inception.pth"
    torch.save(FIDInceptionV3().state_dict(), weights)
    settings.FID_INCEPTION_WEIGHTS = str(weights)
    real = make_ct_dataset("Real CT", patients=2, layers=[5], slices_per_layer=2, seed=1)
    model = make_ct_dataset("Model D", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, layers=[5], seed=2)
    job = compute_now(create_metrics_job(model_name=model.name, real_dataset_name=real.name, queue=False))
    assert job.status == JobStatus.DONE, job.message
    fid = MetricResult.objects.get(model=model, layer=5, metric="fid")
    assert fid.value is not None and fid.value >= 0 and fid.baseline >= 0
    assert fid.detail["feature_dim"] == 2048
    assert job.feature_metrics_note == ""


def test_a_real_dataset_with_one_patient_is_split_by_volume_and_one_volume_fails_the_job(db):
    model = make_ct_dataset("Model E", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, layers=[2], seed=2)
    real = make_ct_dataset("Lonely CT", patients=1, layers=[2], slices_per_layer=4, seed=1)
    job = run_inline(model, real)
    assert job.status == JobStatus.FAILED
    assert job.error == "a held-out split needs at least 2 real patients (or volumes), found 1"
    assert AuditEvent.objects.filter(verb="metrics.failed", object_id=str(job.pk)).exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--model", "Nope", "--real-dataset", "Real CT"],
            "no Synthetic CT dataset named 'Nope' (known: 'Model A')",
        ),
        (["--model", "Real CT", "--real-dataset", "Real CT"], "model 'Real CT' is Real CT, not Synthetic CT"),
        (
            ["--model", "Model A", "--real-dataset", "Nope"],
            "no Real CT dataset named 'Nope' (known: 'Plain CT', 'Real CT')",
        ),
        (
            ["--model", "Model A", "--real-dataset", "Plain CT"],
            "normalise a model by real CT of its own kind",
        ),
        (["--model", "Model A", "--real-dataset", "Real CT", "--max-per-layer", "1"], "at least 2"),
    ],
)
def test_the_command_rejects_bad_arguments_with_one_line(datasets, arguments, message):
    make_ct_dataset("Plain CT", contrast=False, patients=2, layers=[1], seed=4)
    with pytest.raises(CommandError) as error:
        call_command("compute_metrics", *arguments)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert not MetricsJob.objects.exists()


def test_the_command_computes_inline_and_prints_the_averages(datasets, missing_weights):
    model, real = datasets
    out = io.StringIO()
    call_command(
        "compute_metrics", "--model", model.name, "--real-dataset", real.name, "--inline", stdout=out
    )
    text = out.getvalue()
    assert "done" in text
    assert "KL divergence, 256 bins" in text and "normalised" in text
    assert "FID" in text and "unavailable: FID Inception weights not found" in text


def test_the_command_queues_a_job_on_commit_without_waiting(
    datasets, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("jobs.services._send", lambda label, pk, queue: queued.append((label, pk, queue)))
    model, real = datasets
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("compute_metrics", "--model", model.name, "--real-dataset", real.name, stdout=out)
    job = MetricsJob.objects.get()
    assert queued == [("metrics.MetricsJob", job.pk, "default")]
    assert f"Metrics job #{job.pk} queued" in out.getvalue()
    assert job.status == JobStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_the_command_waits_for_a_real_worker_and_shows_progress(celery_worker, missing_weights):
    real = make_ct_dataset("Real CT", patients=2, layers=[1, 2], slices_per_layer=2, seed=1)
    model = make_ct_dataset("Model W", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, layers=[1, 2], seed=2)
    out = io.StringIO()
    call_command(
        "compute_metrics",
        "--model",
        model.name,
        "--real-dataset",
        real.name,
        "--wait",
        "--timeout",
        "60",
        stdout=out,
    )
    job = MetricsJob.objects.get()
    assert job.status == JobStatus.DONE
    assert (
        "Queued: waiting for a worker on the default queue" in out.getvalue() or "Running: " in out.getvalue()
    )
    assert f"Metrics job #{job.pk} done" in out.getvalue()
    scored_without_weights = len(METRICS) - len(FEATURE_METRICS)
    assert (
        MetricResult.objects.filter(model=model, value__isnull=False, layer__in=[1, 2]).count()
        == 2 * scored_without_weights
    )


@pytest.mark.django_db(transaction=True)
def test_the_admin_queues_a_job_that_a_worker_computes_with_progress_on_the_page(
    client, admin_user, celery_worker, missing_weights
):
    real = make_ct_dataset("Real CT", patients=2, layers=[4], slices_per_layer=2, seed=1)
    model = make_ct_dataset("Model X", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, layers=[4], seed=2)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:metrics_metricsjob_compute"),
        {"model": model.pk, "real_dataset": real.pk, "max_per_layer": "", "seed": "0"},
    )
    job = MetricsJob.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "admin:metrics_metricsjob_change", args=[job.pk]
    )
    assert job.created_by == admin_user
    job = finished_job(job)
    assert job.status == JobStatus.DONE, job.error
    progress = client.get(reverse("jobs:progress", args=[job.label(), job.pk])).json()
    assert progress["finished"] and progress["done"] == progress["total"] == 6
    page = client.get(reverse("admin:metrics_metricsjob_change", args=[job.pk])).content.decode()
    assert 'id="job-progress"' in page and "Histogram correlation" in page

    response = client.post(
        reverse("admin:metrics_metricsjob_changelist"),
        {"action": "compute_again", "_selected_action": [job.pk]},
    )
    assert response.status_code == 302
    assert MetricsJob.objects.count() == 2
    # the worker computes the second job too (the test must not end while the worker writes it)
    again = finished_job(MetricsJob.objects.exclude(pk=job.pk).get())
    assert again.status == JobStatus.DONE, again.error


def test_the_admin_form_shows_a_contrast_mismatch_instead_of_queueing(client, admin_user, datasets):
    model, _ = datasets
    plain = make_ct_dataset("Plain CT", contrast=False, patients=2, layers=[1], seed=4)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:metrics_metricsjob_compute"),
        {"model": model.pk, "real_dataset": plain.pk, "seed": "0"},
    )
    assert response.status_code == 200
    assert "normalise a model by real CT of its own kind" in response.content.decode()
    assert not MetricsJob.objects.exists()


def test_metric_arguments_are_checked_before_anything_is_written(datasets):
    with pytest.raises(MetricsArgumentError):
        create_metrics_job(model_name="Model A", real_dataset_name="Missing")
    assert not AuditEvent.objects.filter(verb="metrics.queued").exists()
