"""The blinding audit of slab surveys: a survey of real and synthetic slabs passes with every slab check run, and
a synthetic slab at another z spacing, with fewer planes, or interpolated otherwise along z fails it."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studies.blinding import audit_survey_blinding
from studies.blinding.slab_checks import diagnostic_planes
from studies.design import StudyDesign
from studies.models import Item
from studies.rendering import encode_payload
from studies.selectors import rendered_slab

SLAB = StudyDesign(slab_thickness_mm=24, slab_spacing_mm=2.0)  # 13 planes; the test volumes are 3 mm apart
SLAB_CHECKS = [
    "slab-thickness",
    "slab-z-spacing",
    "slab-interpolation",
    "slab-view-geometry",
    "slab-centring",
]


@pytest.fixture
def slab_survey(make_survey):
    return make_survey(design=SLAB, per_side=6)


def replace_synthetic_slabs(survey, render):
    """Store render(item) as the payload of every synthetic item (checksum kept consistent)."""
    for item in Item.objects.filter(survey=survey, truth="synthetic").select_related("slice__volume"):
        payload = encode_payload(render(item))
        default_storage.delete(item.payload)
        default_storage.save(item.payload, ContentFile(payload))
        Item.objects.filter(pk=item.pk).update(payload_sha256=hashlib.sha256(payload).hexdigest())


def leaks(report) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.check, []).append(finding.message)
    return found


def test_the_diagnostic_planes_are_the_ends_and_quarters_never_the_middle():
    assert diagnostic_planes(13) == [0, 3, 5, 7, 9, 12]
    assert diagnostic_planes(65) == [0, 16, 31, 33, 48, 64]
    assert 6 not in diagnostic_planes(13)


def test_a_slab_survey_passes_with_every_slab_check_run(slab_survey):
    report = audit_survey_blinding(slab_survey)
    assert report.passed, report.text()
    for check in SLAB_CHECKS + ["payload-size", "same-pipeline", "centring"]:
        assert check in report.checks
    text = report.text()
    assert "MEASURED [slab-z-spacing] every slab's planes are 2 mm apart" in text
    assert "coronal and sagittal 13x64 at 2 x " in text


def test_synthetic_slabs_at_another_z_spacing_fail(slab_survey):
    # the same 13 planes, 1.5 mm apart: an 18 mm slab in a payload of the right size
    other = SLAB.replace(slab_thickness_mm=18, slab_spacing_mm=1.5)
    replace_synthetic_slabs(
        slab_survey, lambda item: rendered_slab(item.slice, slab_survey.display_policy, other)[0]
    )
    report = audit_survey_blinding(slab_survey)
    found = leaks(report)
    assert not report.passed
    assert found["slab-z-spacing"] == [
        "6 slab(s) have their planes at another z spacing than 2 mm: '1.5 mm' on 6 synthetic item(s)"
    ]
    assert "same-pipeline" in found and "payload-size" not in found


def test_synthetic_slabs_with_fewer_planes_fail(slab_survey):
    thinner = SLAB.replace(slab_thickness_mm=20)  # 11 planes at 2 mm
    replace_synthetic_slabs(
        slab_survey, lambda item: rendered_slab(item.slice, slab_survey.display_policy, thinner)[0]
    )
    report = audit_survey_blinding(slab_survey)
    found = leaks(report)
    assert not report.passed
    assert found["slab-thickness"] == ["6 payload(s) do not hold the 13 planes of a 24 mm slab at 2 mm"]
    assert "payload-size" in found and "dtype" in found


def test_synthetic_slabs_interpolated_otherwise_along_z_fail(slab_survey):
    replace_synthetic_slabs(
        slab_survey,
        lambda item: rendered_slab(item.slice, slab_survey.display_policy, SLAB, z_interpolation="nearest")[
            0
        ],
    )
    report = audit_survey_blinding(slab_survey)
    found = leaks(report)
    assert not report.passed
    assert found["slab-interpolation"] == [
        "6 slab(s) are not interpolated linearly along z: 'nearest' on 6 synthetic item(s)"
    ]
    assert "slab-z-spacing" not in found


def test_synthetic_slabs_shifted_across_the_reformats_fail_on_centring(slab_survey):
    import numpy as np

    replace_synthetic_slabs(
        slab_survey,
        lambda item: np.roll(rendered_slab(item.slice, slab_survey.display_policy, SLAB)[0], 9, axis=2),
    )
    report = audit_survey_blinding(slab_survey)
    found = leaks(report)
    assert any("coronal view of real and synthetic slabs" in message for message in found["slab-centring"])
