"""Machine observer jobs: both whole pools rendered as readers see them, one job per classifier, results stored
per (model, real dataset, classifier), one-line refusals, the command line, the admin and a real worker."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.models import AuditEvent
from imaging.models import Dataset
from jobs.models import JobStatus
from metrics.models import MachineObserverJob, MachineObserverResult
from metrics.services import ObserverArgumentError, observe_now, observer_jobs, start_machine_observer
from reports.selectors import stored_report
from reports.services import artefact, report_now
from studies.policy import DisplayPolicy
from tests.metrics.factories import make_ct_dataset
from tests.projects.factories import make_member
from tests.reports.study_factory import make_survey
from tests.waiting import finished_job

pytestmark = pytest.mark.django_db

POLICY = DisplayPolicy(matrix_size=32, field_of_view_mm=24.0)
FAST = {"bootstrap": 20, "cnn_steps": 10, "policy": POLICY}


@pytest.fixture
def smoothed(db):
    """Real CT with noise of 20 HU and a model whose slices are the same, blurred."""
    real = make_ct_dataset(
        "Real CT", patients=4, layers=[1, 2], slices_per_layer=4, seed=1, patient_prefix="P"
    )
    model = make_ct_dataset(
        "Smooth model", kind=Dataset.Kind.SYNTHETIC_CT, patients=4, layers=[1, 2], slices_per_layer=4, seed=2,
        smoothing=1.5, patient_prefix="P",
    )  # fmt: skip
    return model, real


def start(model, real, **options):
    return start_machine_observer(
        model_name=model.name, real_dataset_name=real.name, enqueue=False, **{**FAST, **options}
    )


def test_one_job_per_classifier_is_queued_with_its_audit_row_and_the_resolved_policy(smoothed):
    model, real = smoothed
    jobs = start(model, real)
    assert [job.classifier for job in jobs] == ["interpretable", "cnn", "volumetric"]
    assert {job.queue for job in jobs} == {"default"}
    for job in jobs:
        assert job.status == JobStatus.QUEUED and job.display_policy == POLICY.to_dict()
        event = AuditEvent.objects.get(verb="machine_observer.queued", object_id=str(job.pk))
        assert event.details["model"] == model.name and event.details["classifier"] == job.classifier


def test_the_interpretable_observer_finds_and_names_the_planted_smoothing(smoothed):
    model, real = smoothed
    job = observe_now(start(model, real, classifiers=["interpretable"])[0])
    assert job.status == JobStatus.DONE, job.error
    result = MachineObserverResult.objects.get(model=model, real_dataset=real, classifier="interpretable")
    assert result.auc > 0.9 and result.ci_low is not None and result.ci_low <= result.auc <= result.ci_high
    assert (result.n_real, result.n_synthetic, result.n_patients) == (32, 32, 4)
    assert [entry["layer"] for entry in result.by_layer] == [1, 2]
    assert len(result.telling) == 3
    assert result.summary == result.telling[0]["sentence"] and result.summary.startswith("synthetic slices")
    # blurring lowers the noise: some telling feature says synthetic slices have less of it
    assert any(entry["synthetic_median"] < entry["real_median"] for entry in result.telling)
    assert job.done == job.total == 64
    assert result.summary in job.message and "AUC" in job.message
    assert AuditEvent.objects.filter(verb="machine_observer.finished", object_id=str(job.pk)).exists()


def test_the_volumetric_observer_reads_slabs_and_finds_the_smoother_slices_along_z(smoothed):
    model, real = smoothed
    job = observe_now(start(model, real, classifiers=["volumetric"])[0])
    assert job.status == JobStatus.DONE, job.error
    result = MachineObserverResult.objects.get(model=model, real_dataset=real, classifier="volumetric")
    # the same pools and folds as the 2-D observers
    assert (result.n_real, result.n_synthetic, result.n_patients) == (32, 32, 4)
    assert [entry["layer"] for entry in result.by_layer] == [1, 2]
    assert result.detail["model"] == "logistic regression on 3-D features of slabs"
    # blurred slices differ less from their neighbours: the z-gradient is lower in every slab
    assert result.auc > 0.9
    z_gradient = next(entry for entry in result.detail["distributions"] if entry["name"] == "z_gradient_mean")
    assert z_gradient["synthetic"]["median"] < z_gradient["real"]["median"]


def test_the_cnn_observer_stores_its_own_result_and_a_rerun_replaces_it(smoothed):
    model, real = smoothed
    first = observe_now(start(model, real, classifiers=["cnn"])[0])
    assert first.status == JobStatus.DONE, first.error
    result = MachineObserverResult.objects.get(model=model, classifier="cnn")
    assert result.job == first and result.detail["steps"] == 10 and result.detail["crop"] == 32
    assert result.telling == [] and result.summary == ""
    # Its progress counts the training: the 64 slices rendered, then 10 steps in each fold.
    assert first.done == first.total == 64 + result.detail["folds"] * 10
    assert first.progress_unit == "steps"
    second = observe_now(start(model, real, classifiers=["cnn"])[0])
    assert second.status == JobStatus.DONE
    assert MachineObserverResult.objects.filter(model=model, classifier="cnn").get().job == second


def test_the_observer_renders_under_the_policy_of_the_models_survey_else_the_chosen_field_of_view(smoothed):
    model, real = smoothed
    policy, source = observer_jobs.observer_policy(model, real)
    # the factory's volumes are 32 pixels of 0.75 mm: a field of view of 24 mm, rounded up
    assert policy.is_resolved and policy.field_of_view_mm >= 24 and "field of view" in source
    survey = make_survey("Survey S", model=model, real=real, readers=1)
    policy, source = observer_jobs.observer_policy(model, real)
    assert policy == survey.display_policy and "Survey S" in source
    job = start_machine_observer(model_name=model.name, real_dataset_name=real.name, enqueue=False)[0]
    assert job.display_policy == survey.display_policy.to_dict()


def test_the_cnn_goes_to_the_configured_queue(smoothed, settings):
    model, real = smoothed
    settings.MACHINE_OBSERVER_CNN_QUEUE = "gpu"
    jobs = {job.classifier: job for job in start(model, real)}
    assert jobs["cnn"].queue == "gpu" and jobs["interpretable"].queue == "default"
    settings.MACHINE_OBSERVER_CNN_QUEUE = "fast"
    with pytest.raises(ObserverArgumentError, match="MACHINE_OBSERVER_CNN_QUEUE"):
        start(model, real)


@pytest.mark.parametrize(
    "case, message",
    [
        ("unknown model", "no Synthetic CT dataset named 'Nobody'"),
        ("unknown real", "no Real CT dataset named 'Nowhere'"),
        ("swapped", "is Real CT, not Synthetic CT"),
        ("empty model", "has no CT slices with an axial layer"),
        ("empty real", "has no CT slices with an axial layer"),
        ("one patient each", "fold 1 of 2 has"),
        (
            "too many folds",
            "7-fold cross-validation grouped by patient needs at least 7 patients; the pools hold 4",
        ),
        ("one fold", "--folds must be at least 2"),
        ("tiny bootstrap", "--bootstrap must be at least 10"),
        ("no steps", "--cnn-steps must be at least 1"),
        ("unknown classifier", "unknown classifier 'svm'"),
    ],
)
def test_bad_requests_are_refused_in_one_line_and_nothing_is_stored(smoothed, case, message):
    model, real = smoothed
    lonely_real = make_ct_dataset("Lonely real", patients=1, layers=[1], seed=5)
    lonely_model = make_ct_dataset("Lonely model", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, layers=[1])
    empty_model = Dataset.objects.create(
        name="Empty model", kind=Dataset.Kind.SYNTHETIC_CT, contrast_enhanced=True
    )
    empty_real = Dataset.objects.create(name="Empty real", kind=Dataset.Kind.REAL_CT, contrast_enhanced=True)
    names, options = {
        "unknown model": (("Nobody", real.name), {}),
        "unknown real": ((model.name, "Nowhere"), {}),
        "swapped": ((real.name, model.name), {}),
        "empty model": ((empty_model.name, real.name), {}),
        "empty real": ((model.name, empty_real.name), {}),
        "one patient each": ((lonely_model.name, lonely_real.name), {}),
        "too many folds": ((model.name, real.name), {"folds": 7}),
        "one fold": ((model.name, real.name), {"folds": 1}),
        "tiny bootstrap": ((model.name, real.name), {"bootstrap": 3}),
        "no steps": ((model.name, real.name), {"cnn_steps": 0}),
        "unknown classifier": ((model.name, real.name), {"classifiers": ["svm"]}),
    }[case]
    with pytest.raises(ObserverArgumentError, match=message) as refused:
        start_machine_observer(
            model_name=names[0], real_dataset_name=names[1], enqueue=False, **{**FAST, **options}
        )
    assert "\n" not in str(refused.value)
    assert not MachineObserverJob.objects.exists() and not MachineObserverResult.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="machine_observer").exists()


def test_a_pool_emptied_after_queueing_fails_the_job_in_one_line_and_keeps_the_previous_result(smoothed):
    model, real = smoothed
    observe_now(start(model, real, classifiers=["interpretable"])[0])
    job = start(model, real, classifiers=["interpretable"])[0]
    Dataset.objects.get(pk=model.pk).volumes.all().delete()
    job = observe_now(job)
    assert (
        job.status == JobStatus.FAILED
        and job.error == "model 'Smooth model' has no CT slices with an axial layer"
    )
    assert MachineObserverResult.objects.filter(model=model).count() == 1


def test_the_command_refuses_bad_names_in_one_line(smoothed):
    with pytest.raises(CommandError, match="no Synthetic CT dataset named 'Nobody'"):
        call_command("machine_observer", "--model", "Nobody", "--real-dataset", "Real CT")
    assert not MachineObserverJob.objects.exists()


def test_the_command_runs_inline_and_prints_the_auc_and_the_telling_feature(smoothed):
    model, real = smoothed
    out = io.StringIO()
    call_command(
        "machine_observer", "--model", model.name, "--real-dataset", real.name, "--classifier", "interpretable",
        "--bootstrap", "20", "--inline", stdout=out,
    )  # fmt: skip
    result = MachineObserverResult.objects.get(model=model)
    assert f"AUC {result.auc:.3f}" in out.getvalue() and result.summary in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_command_waits_for_a_real_worker(celery_worker):
    real = make_ct_dataset(
        "Real CT", patients=3, layers=[1, 2], slices_per_layer=2, seed=1, patient_prefix="P"
    )
    model = make_ct_dataset(
        "Model W", kind=Dataset.Kind.SYNTHETIC_CT, patients=3, layers=[1, 2], slices_per_layer=2, seed=2,
        patient_prefix="P",
    )  # fmt: skip
    out = io.StringIO()
    call_command(
        "machine_observer", "--model", model.name, "--real-dataset", real.name, "--bootstrap", "20",
        "--cnn-steps", "5", "--wait", "--timeout", "120", stdout=out,
    )  # fmt: skip
    jobs = list(MachineObserverJob.objects.order_by("pk"))
    # Without --classifier: every classifier, the 3-D (volumetric) one too.
    assert [job.classifier for job in jobs] == ["interpretable", "cnn", "volumetric"]
    assert [job.status for job in jobs] == [JobStatus.DONE] * 3, [job.error for job in jobs]
    assert {job.task_id.startswith("local-") for job in jobs} == {False}  # run by the worker
    assert MachineObserverResult.objects.filter(model=model).count() == 3
    assert "Machine observer job" in out.getvalue() and "AUC" in out.getvalue()


def test_the_admin_start_page_queues_the_jobs_and_the_job_page_shows_progress_and_result(
    client, admin_user, smoothed, jobs_inline, settings
):
    settings.MACHINE_OBSERVER_CNN_STEPS = 5
    model, real = smoothed
    client.force_login(admin_user)
    page = client.get(reverse("admin:metrics_machineobserverjob_add"), follow=True)
    assert page.status_code == 200 and "whole pools" in page.content.decode()
    with jobs_inline():
        response = client.post(
            reverse("admin:metrics_machineobserverjob_start"),
            {"model": model.pk, "real_dataset": real.pk, "classifiers": ["interpretable"], "seed": "0"},
        )
    job = MachineObserverJob.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "admin:metrics_machineobserverjob_change", args=[job.pk]
    )
    job = finished_job(job)
    assert job.status == JobStatus.DONE and job.created_by == admin_user
    progress = client.get(reverse("jobs:progress", args=[job.label(), job.pk])).json()
    assert progress["finished"] and progress["done"] == progress["total"] == 64
    page = client.get(reverse("admin:metrics_machineobserverjob_change", args=[job.pk])).content.decode()
    result = MachineObserverResult.objects.get()
    assert 'id="job-progress"' in page and f"AUC {result.auc:.3f}" in page

    response = client.post(
        reverse("admin:metrics_machineobserverjob_start"),
        {"model": real.pk, "real_dataset": real.pk, "classifiers": ["cnn"], "seed": "0"},
    )
    assert response.status_code == 200 and MachineObserverJob.objects.count() == 1


def test_the_admin_refuses_a_pair_with_too_few_patients_on_the_start_page(client, admin_user, db):
    real = make_ct_dataset("Lonely real", patients=1, layers=[1], seed=5)
    model = make_ct_dataset("Lonely model", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, layers=[1])
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:metrics_machineobserverjob_start"),
        {"model": model.pk, "real_dataset": real.pk, "classifiers": ["interpretable"], "seed": "0"},
    )
    assert response.status_code == 200 and "fold 1 of 2 has" in response.content.decode()
    assert not MachineObserverJob.objects.exists()


def test_the_survey_report_says_computing_until_the_observer_is_done_then_is_computed_again(
    smoothed, jobs_inline
):
    model, real = smoothed
    survey = make_survey("Survey S", model=model, real=real, readers=2)
    job = start(model, real, classifiers=["interpretable"])[0]
    first = report_now(surveys=[survey])
    body = artefact(first, "page_html").decode()
    assert (
        "Readers and the machine observer, model by model" in body and "machine observer: computing" in body
    )
    with jobs_inline():
        job = observe_now(job)
    assert job.status == JobStatus.DONE
    latest = stored_report([survey]).job
    assert latest.pk != first.pk
    result = MachineObserverResult.objects.get()
    body = artefact(latest, "page_html").decode()
    assert (
        f"machine: AUC {result.auc:.2f} [{result.ci_low:.2f}, {result.ci_high:.2f}], {result.summary}" in body
    )
    stats = json.loads(artefact(latest, "stats_json"))
    (line,) = stats["model_comparison"]["models"]
    assert line["machine_observers"][0]["auc"] == pytest.approx(result.auc) and line["readers"] == 2


def test_the_models_page_shows_the_observer_beside_the_readers(client, smoothed, django_user_model):
    from studies import roles
    from studies.services import ensure_study_groups

    model, real = smoothed
    make_survey("Survey S", model=model, real=real, readers=2)
    observe_now(start(model, real, classifiers=["interpretable"])[0])
    ensure_study_groups()
    researcher = django_user_model.objects.create_user("researcher", password="pw")
    make_member(researcher, roles.RESEARCHER)
    client.force_login(researcher)
    page = client.get(reverse("reports:models")).content.decode()
    result = MachineObserverResult.objects.get()
    assert 'data-testid="model-comparison"' in page and f"AUC {result.auc:.2f}" in page
