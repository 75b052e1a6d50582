"""The blinding audit: read every item of a survey exactly as a reader would, and fail on any measurable
difference between real and synthetic items.

Three parts: :mod:`studies.blinding.walk` reads the survey as a throwaway reader through Django's test client
(what a reader's browser receives); :mod:`studies.blinding.checks` and :mod:`studies.blinding.pixel_checks`
compare what came back, real against synthetic; :mod:`studies.blinding.measurement` holds the measures and the
report, with no Django. See docs/blinding.md for the rules and how each is checked.
"""

from imaging.selectors import with_their_slices
from studies.blinding.catch_checks import check_catch
from studies.blinding.checks import (
    check_answer_feedback,
    check_error_pages,
    check_headers,
    check_identifiers,
    check_page_assets,
    check_pages,
    check_practice,
    check_rating_widget,
    check_reader_text,
    check_repeat,
    check_structure,
)
from studies.blinding.exposure_checks import check_exposure
from studies.blinding.measurement import AUC_LIMIT, BlindingReport, Finding, separation_auc
from studies.blinding.pair_checks import check_pairs
from studies.blinding.pixel_checks import check_payloads
from studies.blinding.walk import walk_as_reader
from studies.models import Survey

__all__ = ["AUC_LIMIT", "BlindingReport", "Finding", "audit_survey_blinding", "separation_auc"]


def audit_survey_blinding(survey: Survey, *, progress=None) -> BlindingReport:
    """Audit the survey; `progress(done)` is called with the number of items read so far."""
    survey = Survey.objects.select_related("model_dataset", "real_dataset").get(pk=survey.pk)
    items = list(with_their_slices(survey.items.order_by("id")))
    # Catch items are walked like every item; the balance, the real-against-synthetic pixel statistics and the
    # second reading concern the test items (catch items have their own check: studies.blinding.catch_checks).
    tests = [item for item in items if not item.catch]
    report = BlindingReport(survey=survey.name, items=len(items))
    check_structure(survey, tests, report)
    check_reader_text(survey, items, report)
    walk = walk_as_reader(survey, items, progress)
    report.checks.append("reader-walk")
    for error in walk.errors:
        report.leak("reader-walk", error)
    observations = walk.observations
    if observations:
        check_pages(survey, walk, report)
        check_page_assets(walk, report)
        check_rating_widget(survey, observations, report)
        check_headers(observations, report)
        check_error_pages(observations, report)
        check_payloads(survey, [o for o in observations if not o.item.catch], report)
        check_answer_feedback(observations, report)
        check_identifiers(survey, items, walk, report)
        check_practice(survey, items, walk, report)
        check_repeat(survey, tests, walk, report)
        check_catch(survey, items, walk, report)
        check_exposure(survey, walk, report)
        check_pairs(survey, walk, report)
    return report
