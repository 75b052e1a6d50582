import io

import pytest

from imaging.models import Dataset
from jobs.models import JobStatus
from metrics.demo import (
    DEMO_CNN_STEPS,
    DEMO_MAX_PER_LAYER,
    build_demo,
    build_observers,
    reader_skill,
)
from metrics.measures.layerwise import METRICS, RADIOMIC_METRICS
from metrics.measures.vocabulary import VOLUME_METRICS
from metrics.models import MachineObserverJob, MetricResult, MetricsJob
from reports.demo import build_reports
from reports.models import ReportJob
from tests.metrics.factories import make_ct_dataset
from tests.reports.study_factory import make_survey

pytestmark = pytest.mark.django_db


def test_the_demo_computes_every_models_metrics_against_its_surveys_real_ct_once(settings, tmp_path):
    settings.FID_INCEPTION_WEIGHTS = str(tmp_path / "absent.pth")
    make_ct_dataset("Other real CT", patients=2, layers=[1], seed=9)
    real = make_ct_dataset(
        "Phantom CT (contrast)", patients=4, slices_per_layer=6, seed=1, patient_prefix="P"
    )
    plain = make_ct_dataset("Phantom CT (non-contrast)", contrast=False, patients=2, layers=[1, 2], seed=3)
    model = make_ct_dataset(
        "Generated",
        kind=Dataset.Kind.SYNTHETIC_CT,
        patients=4,
        slices_per_layer=8,
        seed=2,
        patient_prefix="P",
    )
    other = make_ct_dataset(
        "Generated plain", kind=Dataset.Kind.SYNTHETIC_CT, contrast=False, patients=1, layers=[1, 2], seed=4
    )
    survey = make_survey("Demo survey 1 (closed)", model=model, real=real, readers=2)

    out = io.StringIO()
    build_demo(stdout=out)
    build_reports(stdout=out, enqueue=False)
    build_observers(stdout=out, enqueue=False)
    assert MetricResult.objects.filter(model=model, real_dataset=real).count() == 11 * len(METRICS) + len(
        VOLUME_METRICS
    )
    for metric in RADIOMIC_METRICS:  # computed without any downloaded weights
        radiomic = MetricResult.objects.get(model=model, real_dataset=real, layer=0, metric=metric)
        assert radiomic.value is not None and radiomic.baseline is not None, radiomic.note
    for metric in VOLUME_METRICS:  # realism along z, on the model's whole volumes
        along_z = MetricResult.objects.get(model=model, real_dataset=real, layer=0, metric=metric)
        assert along_z.value is not None and along_z.n_synthetic == 4, along_z.note
    assert MetricResult.objects.filter(model=other, real_dataset=plain).exists()
    sample = MetricResult.objects.get(model=model, layer=1, metric="kl_divergence_256")
    assert sample.n_synthetic == DEMO_MAX_PER_LAYER  # 4 patients x 8 slices capped at 10
    assert "FID/KID unavailable: FID Inception weights not found at" in out.getvalue()
    assert "/reports/" in out.getvalue()

    observers = MachineObserverJob.objects.filter(model=model, real_dataset=real)
    assert sorted(observers.values_list("classifier", "status")) == [
        ("cnn", JobStatus.QUEUED),
        ("interpretable", JobStatus.QUEUED),
        ("volumetric", JobStatus.QUEUED),
    ]
    assert observers.get(classifier="cnn").cnn_steps == DEMO_CNN_STEPS
    assert "queued for the worker" in out.getvalue()
    # the report is queued for the worker too, before the observers (seconds, not minutes, behind them)
    report = ReportJob.objects.get()
    assert report.status == JobStatus.QUEUED and report.survey_ids == [survey.pk]
    assert report.created_at <= min(job.created_at for job in observers)
    assert f"Report of Demo survey 1 (closed): job #{report.pk} queued for the worker" in out.getvalue()

    again = io.StringIO()
    build_demo(stdout=again)
    build_reports(stdout=again, enqueue=False)
    build_observers(stdout=again, enqueue=False)
    assert MachineObserverJob.objects.filter(model=model).count() == 3
    assert ReportJob.objects.count() == 1  # still queued: not asked for again
    assert "Machine observer of 'Generated': already computed or queued" in again.getvalue()
    assert MetricsJob.objects.count() == 2
    assert "'Generated' against 'Phantom CT (contrast)': already computed" in again.getvalue()


def test_the_demo_says_so_when_there_is_no_model(db):
    out = io.StringIO()
    build_demo(stdout=out)
    assert "skipped, there is no synthetic CT dataset" in out.getvalue()


def test_the_simulated_readers_skill_grows_with_the_models_normalised_radiomic_distance(db):
    model = make_ct_dataset("Generated", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, layers=[1])
    real = make_ct_dataset("Real", patients=1, layers=[1])
    assert reader_skill(model) == 0.2  # no metric yet
    from django.utils import timezone

    def store(normalised):
        MetricResult.objects.update_or_create(
            model=model, real_dataset=real, layer=0, metric="radiomic_fd",
            defaults={"value": normalised, "baseline": 1.0, "normalised": normalised, "computed_at": timezone.now()},
        )  # fmt: skip

    # 1.5 * log10(normalised / 15), within 0.02..0.6
    for normalised, skill in [(30.0, 0.452), (20.0, 0.187), (15.0, 0.02), (0.5, 0.02), (1e9, 0.6)]:
        store(normalised)
        assert reader_skill(model) == skill
