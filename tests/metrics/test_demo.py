import io

import pytest

from imaging.models import Dataset
from metrics.demo import DEMO_MAX_PER_LAYER, build_demo
from metrics.layerwise import METRICS, RADIOMIC_METRICS
from metrics.models import MetricResult, MetricsJob
from tests.metrics.factories import make_ct_dataset
from tests.metrics.study_factory import make_survey

pytestmark = pytest.mark.django_db


def test_the_demo_computes_every_models_metrics_against_its_surveys_real_ct_once(settings, tmp_path):
    settings.FID_INCEPTION_WEIGHTS = str(tmp_path / "absent.pth")
    make_ct_dataset("Other real CT", patients=2, layers=[1], seed=9)
    real = make_ct_dataset("Phantom CT (contrast)", patients=4, slices_per_layer=6, seed=1)
    plain = make_ct_dataset("Phantom CT (non-contrast)", contrast=False, patients=2, layers=[1, 2], seed=3)
    model = make_ct_dataset(
        "Generated", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=8, seed=2
    )
    other = make_ct_dataset(
        "Generated plain", kind=Dataset.Kind.SYNTHETIC_CT, contrast=False, patients=1, layers=[1, 2], seed=4
    )
    make_survey("Demo survey 1 (closed)", model=model, real=real, readers=2)

    out = io.StringIO()
    build_demo(stdout=out)
    assert MetricResult.objects.filter(model=model, real_dataset=real).count() == 11 * len(METRICS)
    for metric in RADIOMIC_METRICS:  # computed without any downloaded weights
        radiomic = MetricResult.objects.get(model=model, real_dataset=real, layer=0, metric=metric)
        assert radiomic.value is not None and radiomic.baseline is not None, radiomic.note
    assert MetricResult.objects.filter(model=other, real_dataset=plain).exists()
    sample = MetricResult.objects.get(model=model, layer=1, metric="kl_divergence_256")
    assert sample.n_synthetic == DEMO_MAX_PER_LAYER  # 2 patients x 8 slices capped at 10
    assert "FID/KID unavailable: FID Inception weights not found at" in out.getvalue()
    assert "/reports/" in out.getvalue()

    again = io.StringIO()
    build_demo(stdout=again)
    assert MetricsJob.objects.count() == 2
    assert "'Generated' against 'Phantom CT (contrast)': already computed" in again.getvalue()


def test_the_demo_says_so_when_there_is_no_model(db):
    out = io.StringIO()
    build_demo(stdout=out)
    assert "skipped, there is no synthetic CT dataset" in out.getvalue()
