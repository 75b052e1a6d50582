"""2AFC end to end at the service level: a 2AFC survey, readers answering its pairs through the answer service, the
report's "Two-alternative forced choice" section and page; and the section's pieces against a direct computation."""

import numpy as np
import pytest
from django.utils import timezone

from reports.content.survey_info import SurveyInfo
from reports.content.two_afc import PairRow, SingleImageAuc, two_afc_sections
from reports.report_page import report_body
from reports.selectors import pair_rows, report_for
from studies.design import StudyDesign
from studies.models import ItemPair, PairAnswer, Survey
from studies.services import do_answer_pair


@pytest.mark.django_db
def test_a_2afc_survey_answered_by_readers_gives_a_per_model_proportion_with_intervals(make_survey, join):
    survey = make_survey(per_side=6, design=StudyDesign(task="2afc"), open_it=True)
    rng = np.random.default_rng(5)
    chosen = {}
    for skill in (0.9, 0.75, 0.6, 0.8):
        assignment = join(survey)
        for pair_id, real_side in assignment.pair_plan:
            right = rng.random() < skill
            side = real_side if right else ("right" if real_side == "left" else "left")
            pair = ItemPair.objects.get(pk=pair_id)
            do_answer_pair(
                assignment=assignment, pair_id=pair.public_id, values={"side": side, "seconds": 2.0}
            )
            chosen[(assignment.pk, pair_id)] = right
    Survey.objects.filter(pk=survey.pk).update(status="closed", closed_at=timezone.now())
    rows = pair_rows([survey])
    assert len(rows) == 24 and {row.correct for row in rows} <= {True, False}
    report = report_for([survey])
    (section,) = report.two_afc
    assert not any("no answers yet" in note for note in report.notes)  # its answers are the pairs'
    by_reader = {}
    for answer in PairAnswer.objects.all():
        by_reader.setdefault(answer.assignment_id, []).append(answer.correct)
        assert answer.correct == chosen[(answer.assignment_id, answer.pair_id)]
    expected = np.mean([np.mean(values) for values in by_reader.values()])
    p = section.proportion
    assert (p.readers, p.pairs, p.trials) == (4, 6, 24)
    assert p.proportion == pytest.approx(expected)
    assert p.or_ci_low <= p.proportion <= p.or_ci_high
    assert p.bootstrap.ci_low <= p.proportion <= p.bootstrap.ci_high
    assert sorted(r.estimate.successes for r in section.readers) == sorted(sum(v) for v in by_reader.values())
    html = report_body(report)
    assert 'data-testid="two-afc"' in html and "Two-alternative forced choice" in html
    assert report.to_dict()["two_afc"][0]["proportion_correct"]["trials"] == 24
    from reports.content.pdf import report_pdf
    from tests.reports.pdf_text import pdf_text

    text = pdf_text(report_pdf(report))
    assert "Two-alternative forced choice" in text and f"{p.proportion:.3f}" in text


def test_the_single_image_auc_of_the_same_model_stands_beside_it():
    surveys = [
        SurveyInfo("Pairs", "M", "model", "Real", "closed", 8, 2, task="2afc"),
        SurveyInfo("Single", "M", "model", "Real", "closed", 8, 2),
        SurveyInfo("Other model", "N", "other", "Real", "closed", 8, 2),
    ]
    rows = [
        PairRow("Pairs", "M", "model", f"r{r}", f"p{k}", bool((r + k) % 3), 1.0)
        for r in range(3)
        for k in range(6)
    ]
    aucs = {
        "Single": SingleImageAuc("Single", 0.71, 0.6, 0.82),
        "Other model": SingleImageAuc("Other model", 0.9, 0.8, 1.0),
    }
    (section,) = two_afc_sections(rows, surveys, aucs, replicates=100)
    assert section.model == "M" and section.single_image_auc == (aucs["Single"],)
    assert section.proportion.proportion == pytest.approx(
        np.mean([bool((r + k) % 3) for r in range(3) for k in range(6)])
    )


@pytest.mark.django_db
def test_simulated_readers_answer_every_pair_with_accuracy_that_follows_their_skill(make_survey):
    from studies.simulation import simulate_readers

    perfect = make_survey(per_side=6, design=StudyDesign(task="2afc", rating="five_point"), open_it=True)
    assignments = simulate_readers(perfect, 2, seed=1, skill=1.0)
    answers = PairAnswer.objects.filter(assignment__in=assignments)
    assert answers.count() == 12 and all(a.correct for a in answers)
    assert all(a.completed_at is not None for a in assignments)
    assert all(1 <= a.confidence <= 5 for a in answers)
    chance = make_survey(per_side=10, design=StudyDesign(task="2afc"), open_it=True)
    guesses = PairAnswer.objects.filter(assignment__in=simulate_readers(chance, 6, seed=2, skill=0.0))
    share = np.mean([a.correct for a in guesses])
    assert guesses.count() == 60 and 0.3 < share < 0.7  # 60 coin flips: outside with probability < 0.002
