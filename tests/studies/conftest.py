"""Fixtures for reader-study tests: small CT datasets stored through the image library, surveys at a 64x64
display matrix, readers who joined by invitation, and a cache namespace of their own for every test."""

import dataclasses
import uuid
from dataclasses import dataclass

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from imaging.services import store_volume
from imaging.volumes import VolumeData
from studies.models import Survey
from studies.policy import DisplayPolicy
from studies.services import create_survey, do_accept_invitation, do_audit_and_open, do_create_invitations
from studies.survey_input import SurveyInput

SMALL = {"matrix_size": 64}
POLICY_NAMES = {f.name for f in dataclasses.fields(DisplayPolicy)}


@pytest.fixture(autouse=True)
def own_cache_namespace(settings):
    """Rate-limit counters of one test never reach another (same cache server, a key prefix of its own)."""
    cache = dict(settings.CACHES["default"])
    cache["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": cache}


@pytest.fixture(autouse=True)
def email_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def body_slice(rng, shape=(48, 48), *, background=-1024, noise=10.0, radius=0.38) -> np.ndarray:
    """An elliptic 'body' of soft tissue with a bony disc, on an air background."""
    rows, columns = shape
    y, x = np.ogrid[:rows, :columns]
    cy, cx = (rows - 1) / 2, (columns - 1) / 2
    inside = ((y - cy) / (rows * radius)) ** 2 + ((x - cx) / (columns * (radius + 0.06))) ** 2 <= 1
    image = np.full(shape, float(background))
    image[inside] = 40 + rng.normal(0, noise, size=int(inside.sum()))
    bone = (y - cy - rows * 0.2) ** 2 + (x - cx) ** 2 <= (rows * 0.06) ** 2
    image[bone] = 700
    return np.rint(image).astype(np.int16)


def store_ct_dataset(
    name: str,
    *,
    kind: str = "ct",
    contrast: bool | None = True,
    volumes: int = 2,
    slices: int = 20,
    shape=(48, 48),
    seed: int = 0,
    spacing: float = 0.8,
    make_slice=body_slice,
):
    """A CT dataset of `volumes` volumes of `slices` slices each, stored through the normal import service."""
    rng = np.random.default_rng(seed)
    for number in range(volumes):
        stack = np.stack([make_slice(rng, shape) for _ in range(slices)])
        store_volume(
            dataset_name=name,
            kind=kind,
            contrast=contrast,
            data=VolumeData(
                patient=f"patient-{name[:8]}-{number}",
                modality="ct",
                series_key=f"1.2.826.0.1.{seed}.{number}.{uuid.uuid4().int % 10**12}",
                source_format="dicom",
                source_path=f"/data/{name}/{number}",
                pixels=stack,
                z_mm=np.arange(slices, dtype=np.float64) * 3.0,
                row_spacing_mm=spacing,
                column_spacing_mm=spacing,
                orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
            ),
        )
    from imaging.models import Dataset

    return Dataset.objects.get(name=name)


@dataclass
class Pools:
    real: object
    synthetic: object


@pytest.fixture
def pools(db):
    real = store_ct_dataset("Real CT contrast", kind="ct", contrast=True, seed=1)
    synthetic = store_ct_dataset(
        "Model X output", kind="sct", contrast=True, seed=2, shape=(40, 40), spacing=1.0
    )
    return Pools(real=real, synthetic=synthetic)


@pytest.fixture
def make_survey(pools):
    counter = iter(range(1, 1000))

    def make(*, per_side=10, seed=7, open_it=False, **options):
        options = {**SMALL, **options}
        policy = DisplayPolicy(**{name: options.pop(name) for name in list(options) if name in POLICY_NAMES})
        survey = create_survey(
            options=SurveyInput(
                name=options.pop("name", f"Survey {next(counter)}"),
                model=options.pop("model_dataset", pools.synthetic).name,
                real_dataset=options.pop("real_dataset", pools.real).name,
                real=per_side,
                synthetic=per_side,
                seed=seed,
                display_policy=policy,
                **options,
            )
        ).survey
        if open_it == "audited":
            do_audit_and_open(survey=survey, actor=None)
        elif open_it:
            # A shortcut for tests about what happens after opening; opening itself (through the blinding
            # audit) is tested with open_it="audited" and in test_surveys.py.
            Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN, opened_at=timezone.now())
        survey.refresh_from_db()
        return survey

    return make


@pytest.fixture
def make_reader(db):
    counter = iter(range(1, 1000))

    def make(username=None, *, email=""):
        return get_user_model().objects.create_user(
            username or f"reader{next(counter)}", email=email or "", password="pw-reader-123"
        )

    return make


@pytest.fixture
def join(make_reader):
    def join_survey(survey, reader=None):
        reader = reader or make_reader()
        invitation = do_create_invitations(survey=survey, actor=None, count=1)[0]
        return do_accept_invitation(token=invitation.token, reader=reader)

    return join_survey


def answer_body(**overrides) -> dict:
    body = {
        "choice": "real",
        "reason": "",
        "seconds_on_slice": 3.5,
        "window_width": 400,
        "window_level": 40,
        "zoom": 1.0,
        "window_changed": False,
        "client_key": str(uuid.uuid4()),
        "base_revision": 0,
    }
    body.update(overrides)
    return body
