"""The reader-study part of the demo: skipped without a model's output; otherwise one open survey with an
invitation link and a demo reader, four closed surveys answered by 11, 8, 6 and 6 simulated readers; idempotent."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management.base import OutputWrapper

from studies import demo
from studies.models import Answer, Survey
from studies.selectors import surveys_visible_to
from tests.studies.conftest import store_ct_dataset


@pytest.fixture(autouse=True)
def small_demo(monkeypatch):
    monkeypatch.setattr(demo, "DEMO_MATRIX", 64)


def test_without_a_synthetic_dataset_the_demo_says_so_and_skips(db):
    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, seed=1)
    out = StringIO()
    demo.build_demo(stdout=OutputWrapper(out))
    assert "Reader studies: skipped, there is no synthetic CT dataset yet" in out.getvalue()
    assert not Survey.objects.exists()
    assert authenticate(username="researcher", password="researcher-demo") is not None


def test_the_demo_builds_an_open_survey_and_four_closed_ones_and_is_idempotent(db):
    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, volumes=2, seed=1)
    store_ct_dataset("Phantom sCT (model)", kind="sct", contrast=True, volumes=2, seed=2)
    out = StringIO()
    demo.build_demo(stdout=OutputWrapper(out))
    open_survey = Survey.objects.get(name=demo.OPEN_SURVEY)
    assert open_survey.status == "open" and open_survey.last_audit_passed
    assert open_survey.real_dataset.name == "Phantom CT (contrast)"
    assert open_survey.real_count == open_survey.synthetic_count == 10
    reader = open_survey.assignments.get().reader
    assert reader.username == "reader" and reader.groups.filter(name="reader").exists()
    assert authenticate(username="reader", password="reader-demo") == reader
    researcher = authenticate(username="researcher", password="researcher-demo")
    assert researcher.is_staff and researcher.groups.filter(name="researcher").exists()
    links = [line for line in out.getvalue().splitlines() if line.startswith("Invitation link")]
    assert len(links) == 1 and "/join/" in links[0]

    readers = []
    for name, count, _, _, _ in demo.CLOSED_SURVEYS:
        survey = Survey.objects.get(name=name)
        assert survey.status == "closed"
        assert survey.assignments.filter(completed_at__isnull=False).count() == count
        assert Answer.objects.filter(assignment__survey=survey).count() == count * 20
        readers.append(count)
    assert readers == [11, 8, 6, 6]

    again = StringIO()
    answers, surveys = Answer.objects.count(), Survey.objects.count()
    demo.build_demo(stdout=OutputWrapper(again))
    assert (Answer.objects.count(), Survey.objects.count()) == (answers, surveys)
    assert [line for line in again.getvalue().splitlines() if line.startswith("Invitation link")] == links


def test_demo_surveys_made_at_each_slices_own_field_of_view_are_kept_aside_and_made_again(db):
    """The demo's surveys once showed each slice at its own field of view (a scale cue): a later run keeps
    those surveys, answers and all, under a new name and closed, and makes them again at one field of view."""
    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, volumes=2, seed=1)
    store_ct_dataset(
        "Phantom sCT (model)", kind="sct", contrast=True, volumes=2, seed=2, shape=(40, 40), spacing=1.1
    )
    demo.build_demo(stdout=OutputWrapper(StringIO()))
    old = Survey.objects.get(name=demo.CLOSED_SURVEYS[0][0])
    Survey.objects.filter(pk=old.pk).update(
        display_policy=old.display_policy.replace(field_of_view="per_slice", field_of_view_mm=None)
    )
    answers = Answer.objects.filter(assignment__survey=old).count()
    out = StringIO()
    demo.build_demo(stdout=OutputWrapper(out))
    old.refresh_from_db()
    assert old.name.startswith(f"{demo.CLOSED_SURVEYS[0][0]} [each slice's own field of view, retired")
    assert old.status == "closed" and Answer.objects.filter(assignment__survey=old).count() == answers
    remade = Survey.objects.get(name=demo.CLOSED_SURVEYS[0][0])
    assert remade.pk != old.pk and remade.display_policy.field_of_view == "survey"
    assert remade.display_policy.field_of_view_mm == 39.0  # 48 px x 0.8 mm = 38.4 mm, rounded up
    assert remade.status == "closed" and remade.assignments.count() == demo.CLOSED_SURVEYS[0][1]
    assert "it is made again." in out.getvalue()


def test_each_closed_survey_surveys_its_own_model_with_the_skill_the_caller_gives_and_a_changed_model_is_remade(
    db,
):
    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, volumes=2, seed=1)
    store_ct_dataset(demo.DEMO_REAL_DATASET_NONCONTRAST, kind="ct", contrast=False, volumes=2, seed=5)
    models = [
        store_ct_dataset(f"Model {n}", kind="sct", contrast=n != 4, volumes=2, seed=10 + n)
        for n in range(1, 5)
    ]
    skills = {models[0].pk: 0.0, models[1].pk: 0.6, models[2].pk: 0.3, models[3].pk: 0.0}
    demo.build_demo(stdout=OutputWrapper(StringIO()), models=models, skill_of=lambda model: skills[model.pk])
    accuracy = []
    for (name, _, _, _, _), model in zip(demo.CLOSED_SURVEYS, models, strict=True):
        survey = Survey.objects.get(name=name)
        assert survey.model_dataset == model and survey.model_alias == model.name
        answers = Answer.objects.filter(assignment__survey=survey).exclude(choice="indeterminable")
        accuracy.append(sum(a.choice == a.item.truth for a in answers) / answers.count())
    assert (
        Survey.objects.get(name=demo.CLOSED_SURVEYS[3][0]).real_dataset.name
        == demo.DEMO_REAL_DATASET_NONCONTRAST
    )
    assert accuracy[1] > 0.7 and accuracy[1] > accuracy[2] > accuracy[0]

    out = StringIO()
    demo.build_demo(stdout=OutputWrapper(out), models=[models[1], *models[1:]], skill_of=lambda model: 0.1)
    assert Survey.objects.get(name=demo.CLOSED_SURVEYS[0][0]).model_dataset == models[1]
    assert Survey.objects.filter(
        name__startswith=f"{demo.CLOSED_SURVEYS[0][0]} [model Model 1, retired"
    ).exists()


def test_the_demo_builds_a_rated_survey_with_practice_items_that_passes_the_audit(db):
    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, volumes=2, seed=1)
    store_ct_dataset("Phantom sCT (model)", kind="sct", contrast=True, volumes=2, seed=2)
    out = StringIO()
    demo.build_demo(stdout=OutputWrapper(out))
    survey = Survey.objects.get(name=demo.RATED_SURVEY)
    assert survey.status == "open" and survey.last_audit_passed
    assert (
        "PASS rating-widget" in survey.last_audit_report
        and "PASS practice-separation" in survey.last_audit_report
    )
    assert (survey.design.rating, survey.design.practice_items, survey.design.stack_k) == ("five_point", 3, 2)
    assert "PASS stack-scale" in survey.last_audit_report
    assert survey.payload_bytes == 5 * demo.DEMO_MATRIX * demo.DEMO_MATRIX * 2
    assert survey.practice_items.count() == 3
    assignment = survey.assignments.get()
    assert assignment.reader.username == "reader" and len(assignment.practice_order) == 3
    assert f"Survey {demo.RATED_SURVEY!r} (5-slice stack, 5-point rating, 3 practice items)" in out.getvalue()
    repeat = Survey.objects.get(name=demo.REPEAT_SURVEY)
    assert (
        repeat.status == "open"
        and repeat.last_audit_passed
        and "PASS repeat-round" in repeat.last_audit_report
    )
    assert (repeat.design.repeat, repeat.design.repeat_items) == ("subset", 6)


def test_the_demo_has_two_projects_whose_researchers_see_only_their_own(db, client):
    # `researcher` works in both projects (the four closed surveys' report), `researcher-b` in project B only.
    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, volumes=2, seed=1)
    store_ct_dataset("Phantom sCT (model)", kind="sct", contrast=True, volumes=2, seed=2)
    demo.build_demo(stdout=OutputWrapper(StringIO()))
    by_project = {
        project: {name for name, *_, owner in demo.CLOSED_SURVEYS if owner == project}
        for project in (demo.PROJECT_A, demo.PROJECT_B)
    }
    by_project[demo.PROJECT_A] |= {demo.OPEN_SURVEY, demo.RATED_SURVEY, demo.REPEAT_SURVEY}
    by_project[demo.PROJECT_A] |= {name for name, *_ in demo.EXPOSURE_SURVEYS}
    by_project[demo.PROJECT_A] |= {demo.slab_survey_name(0)}
    by_project[demo.PROJECT_A] |= {name for name, *_ in demo.TWO_AFC_SURVEYS}
    researcher = authenticate(username="researcher", password="researcher-demo")
    assert set(surveys_visible_to(researcher).values_list("name", flat=True)) == (
        by_project[demo.PROJECT_A] | by_project[demo.PROJECT_B]
    )
    closed = [name for name, *_ in demo.CLOSED_SURVEYS]
    client.force_login(researcher)
    assert client.get("/reports/surveys/", {"survey": closed}).status_code == 200
    other = authenticate(username="researcher-b", password="researcher-b-demo")
    assert set(surveys_visible_to(other).values_list("name", flat=True)) == by_project[demo.PROJECT_B]
    client.force_login(other)
    foreign = Survey.objects.filter(project__name=demo.PROJECT_A).first()
    assert client.get(f"/admin/studies/survey/{foreign.pk}/change/").status_code == 404
    assert client.get(f"/api/v1/surveys/{foreign.pk}/").status_code == 404
    assert client.get("/reports/surveys/", {"survey": closed}).status_code == 404


def test_the_demo_exposure_surveys_are_read_by_simulated_readers_on_their_staircases(db):
    from studies.exposure_track import rejected_exposures

    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, volumes=2, seed=1)
    store_ct_dataset("Phantom sCT (model)", kind="sct", contrast=True, volumes=2, seed=2)
    demo.build_demo(stdout=OutputWrapper(StringIO()))
    for name, readers, _, _ in demo.EXPOSURE_SURVEYS:
        survey = Survey.objects.get(name=name)
        assert survey.status == "closed" and survey.design == demo.EXPOSURE_DESIGN
        assert "PASS exposure-requested" in survey.last_audit_report
        answers = Answer.objects.filter(assignment__survey=survey)
        assert answers.count() == readers * 20
        assert not answers.filter(exposure_requested_ms__isnull=True).exists()
        for assignment in survey.assignments.all():
            requested = list(
                assignment.answers.order_by("created_at").values_list("exposure_requested_ms", flat=True)
            )
            assert requested[0] == 1000 and len(set(requested)) > 1  # the staircase moved
            assert rejected_exposures(assignment) == 0


def test_the_demo_builds_a_closed_slab_survey_per_model_with_the_views_its_readers_used(db):
    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, volumes=2, seed=1)
    store_ct_dataset("Phantom sCT (model)", kind="sct", contrast=True, volumes=2, seed=2)
    demo.build_demo(stdout=OutputWrapper(StringIO()))
    survey = Survey.objects.get(name=demo.slab_survey_name(0))
    assert survey.status == "closed" and survey.last_audit_passed
    assert survey.design.is_slab and survey.design.stack_slices == 13
    assert survey.model_dataset.name == "Phantom sCT (model)"
    answers = Answer.objects.filter(assignment__survey=survey)
    assert answers.count() == demo.SLAB_READERS * 20
    for answer in answers:
        assert answer.views_used[0] == "axial" and 1 <= len(answer.views_used) <= 3
        assert sum(answer.seconds_per_view) == pytest.approx(answer.seconds_on_slice, abs=0.01)
        assert all(
            seconds == 0
            for view, seconds in zip(("axial", "coronal", "sagittal"), answer.seconds_per_view, strict=True)
            if view not in answer.views_used
        )


def test_the_demo_2afc_surveys_are_answered_pair_by_pair_and_pass_the_audit(db):
    from studies.models import PairAnswer

    store_ct_dataset(demo.DEMO_REAL_DATASET, kind="ct", contrast=True, volumes=2, seed=1)
    store_ct_dataset("Phantom sCT (model)", kind="sct", contrast=True, volumes=2, seed=2)
    demo.build_demo(stdout=OutputWrapper(StringIO()))
    for name, readers, _, _ in demo.TWO_AFC_SURVEYS:
        survey = Survey.objects.get(name=name)
        assert survey.status == "closed" and survey.design == demo.TWO_AFC_DESIGN
        assert "PASS pair-sides" in survey.last_audit_report and survey.last_audit_passed
        assert PairAnswer.objects.filter(assignment__survey=survey).count() == readers * survey.real_count
        assert survey.assignments.filter(completed_at__isnull=False).count() == readers
