"""Catch trials in a real browser: a survey created with catch items (through the command, audited and opened) is
read end to end; catch items come in the reader's order like every item, each page the same, and a reader who
answers "real" throughout is excluded by the frozen catch-accuracy rule."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from reports.selectors import quality_inputs
from studies.models import Answer, Assignment, Survey
from studies.quality import evaluate_reader
from tests.e2e.conftest import (
    INVITATION_LINE,
    MATRIX,
    MODEL_DATASET,
    PER_SIDE,
    REAL_DATASET,
    import_phantom_datasets,
)
from tests.e2e.reader import ReaderPage, join_with_new_account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CATCH = 2
TOTAL = 2 * PER_SIDE + CATCH


@pytest.fixture
def catch_survey(transactional_db, live_server, settings, phantom_folders):
    settings.STUDIES_SITE_URL = live_server.url
    import_phantom_datasets(phantom_folders)
    out = io.StringIO()
    call_command(
        "create_survey",
        "--name", "Catch survey", "--model", MODEL_DATASET, "--real-dataset", REAL_DATASET,
        "--real", str(PER_SIDE), "--synthetic", str(PER_SIDE), "--seed", "9", "--matrix", str(MATRIX),
        "--catch-items", str(CATCH), "--qc-min-catch-percent", "50", "--open", "--readers", "1",
        stdout=out,
    )  # fmt: skip
    return Survey.objects.get(name="Catch survey"), INVITATION_LINE.findall(out.getvalue())


def test_catch_items_are_read_like_every_item_and_a_reader_who_misses_them_is_excluded(
    catch_survey, new_context
):
    survey, links = catch_survey
    assert survey.is_open and survey.last_audit_passed and survey.items.catch_only().count() == CATCH
    page = new_context().new_page()
    key = join_with_new_account(page, links[0], "reader-catch")
    assignment = Assignment.objects.get(key=key)
    reader = ReaderPage(page, TOTAL)
    for position in range(1, TOTAL + 1):
        reader.expect_position(position)
        reader.answer_with_keyboard("real")
    page.get_by_test_id("confirm-finish").click()
    expect(page.get_by_test_id("thank-you")).to_be_visible()
    answers = Answer.objects.filter(assignment=assignment)
    assert answers.count() == TOTAL and answers.filter(item__catch=True).count() == CATCH
    assert Answer.objects.scored().filter(assignment=assignment).count() == 2 * PER_SIDE
    (given,) = quality_inputs([survey])
    ((pseudonym, read),) = given.readers
    result = evaluate_reader(pseudonym, read, given.rules)
    assert result.excluded and result.reasons == (f"catch accuracy 0/{CATCH} (0%) below 50%",)
