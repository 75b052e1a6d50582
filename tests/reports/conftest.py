"""Fixtures of the report tests: two closed surveys of two models, one model with stored metrics, and people."""

import pytest
from django.contrib.auth.models import Group

from imaging.models import Dataset
from metrics.services import create_metrics_job
from metrics.services.metric_runs import compute_now
from reports.services import report_now
from tests.metrics.factories import make_ct_dataset, stand_in_extractor
from tests.projects.factories import make_member
from tests.reports.study_factory import make_survey


@pytest.fixture
def study(db):
    real = make_ct_dataset("Real CT", patients=4, slices_per_layer=1, seed=1)
    model_a = make_ct_dataset(
        "Model A", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=1, seed=2
    )
    model_b = make_ct_dataset(
        "Model B", kind=Dataset.Kind.SYNTHETIC_CT, patients=1, slices_per_layer=1, seed=3
    )
    first = make_survey("Survey 1", model=model_a, real=real, readers=4, seed=1, alias="In-n-out")
    second = make_survey("Survey 2", model=model_b, real=real, readers=3, seed=2, alias="All-in")
    job = create_metrics_job(model_name="Model A", real_dataset_name="Real CT", queue=False)
    compute_now(job, extractor_loader=stand_in_extractor)
    return first, second


@pytest.fixture
def reports(study):
    """The study with its reports computed (as report jobs): each survey alone and both together."""
    first, second = study
    for selection in ([first], [second], [first, second]):
        report_now(surveys=selection)
    return study


@pytest.fixture
def researcher(django_user_model):
    user = django_user_model.objects.create_user("researcher", password="pw-research-1")
    make_member(user, "researcher")
    return user


@pytest.fixture
def reader(django_user_model):
    user = django_user_model.objects.create_user("someone", password="pw-reader-1")
    user.groups.add(Group.objects.get_or_create(name="reader")[0])
    return user
