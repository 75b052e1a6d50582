"""The blinding audit of 2AFC surveys: a pair survey passes with its pair checks; pair pages whose real side is always
left, whose real image always loads first, or whose markup follows the truth fail, naming the check."""

import pytest

from studies.blinding import audit_survey_blinding
from studies.design import StudyDesign
from tests.studies.test_blinding_audit import phantom_dirs, phantom_survey  # noqa: F401 (fixtures)

TWO_AFC = StudyDesign(task="2afc", rating="five_point")
PAIR_CHECKS = ("pair-pages", "pair-images", "pair-sides", "pair-load-order", "pair-pixels", "pair-answers")


def failed_checks(report) -> set[str]:
    return {finding.check for finding in report.findings}


@pytest.mark.django_db
def test_a_2afc_survey_passes_with_every_pair_check(phantom_survey):  # noqa: F811
    survey = phantom_survey(design=TWO_AFC)
    report = audit_survey_blinding(survey)
    assert report.passed, [f.message for f in report.findings]
    for check in PAIR_CHECKS:
        assert check in report.checks


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("middleware", "failing"),
    [
        ("real_always_left", {"pair-sides", "pair-load-order"}),
        ("real_always_loaded_first", {"pair-load-order"}),
        ("comment_when_left_is_real", {"pair-pages"}),
    ],
)
def test_leaky_pair_pages_fail(phantom_survey, settings, middleware, failing):  # noqa: F811
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"tests.studies.leaky_pairs.{middleware}"]
    survey = phantom_survey(design=TWO_AFC)
    report = audit_survey_blinding(survey)
    assert not report.passed
    assert failing <= failed_checks(report), [f.message for f in report.findings]
