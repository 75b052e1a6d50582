"""The reader-study part of `manage.py demo` (idempotent): demo accounts, one open survey with an invitation
link and a demo reader, and four closed surveys answered by simulated readers (11, 8, 6 and 6, as in the
paper's four surveys), one per model given (the paper's In'n out, All-in, Triple and In'n out HUM in the demo), and
a closed slab survey per model (24 mm slabs read in three views) answered by six simulated readers.
How well the simulated readers tell real from synthetic (their skill) comes from the caller, per model (the demo
derives it from the model's realism, metrics.demo.reader_skill). Needs a synthetic CT dataset (a model's output);
without one it says so and skips."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from imaging.constants import DatasetKind
from imaging.selectors import datasets_of_kind
from projects.models import Role
from projects.selectors import project_named, role_of
from projects.services import add_member, create_project
from studies import roles
from studies.design import StudyDesign
from studies.models import Invitation, Survey
from studies.policy import DisplayPolicy
from studies.selectors import synthetic_datasets
from studies.services import (
    StudyError,
    assignment_url,
    create_survey,
    do_accept_invitation,
    do_audit_and_open,
    do_close_survey,
    do_create_invitations,
    do_rename_survey,
    ensure_study_groups,
    invitation_url,
)
from studies.simulation import simulate_readers
from studies.survey_input import SurveyInput

DEMO_REAL_DATASET = "Phantom CT (contrast)"
DEMO_REAL_DATASET_NONCONTRAST = "Phantom CT (non-contrast)"
# Two projects, each with its own surveys: `researcher` works in both (the report of the four closed surveys
# compares the paper's four models), `researcher-b` in project B only and sees nothing of project A.
PROJECT_A = "Demo project A (abdomen sCT)"
PROJECT_B = "Demo project B (second group)"
# (username, password, group, staff, the projects and the role in each; empty: joins through an invitation)
DEMO_USERS = [
    (
        "researcher",
        "researcher-demo",
        roles.RESEARCHER,
        True,
        ((PROJECT_A, Role.RESEARCHER), (PROJECT_B, Role.RESEARCHER)),
    ),
    ("researcher-b", "researcher-b-demo", roles.RESEARCHER, True, ((PROJECT_B, Role.RESEARCHER),)),
    ("reader", "reader-demo", roles.READER, False, ()),
]
DEMO_MATRIX = 512
PER_SIDE = 10
OPEN_SURVEY = "Demo survey (open)"
# A survey with a study design: stack reading of 5 slices (k = 2), a 5-point confidence rating and three practice
# items, open to the demo reader.
RATED_SURVEY = "Demo survey (5-slice stack, rated, with practice)"
RATED_DESIGN = StudyDesign(rating="five_point", practice_items=3, stack_k=2)
# What the rated survey was called before it read stacks: an earlier demo's survey of that name is retired.
FORMER_RATED_SURVEY = "Demo survey (rated, with practice)"
# A survey with a repeat round: after the first reading, 6 of its items again in a new order (no wash-out, so the
# demo can be read through at once).
REPEAT_SURVEY = "Demo survey (repeat reading)"
REPEAT_DESIGN = StudyDesign(repeat="subset", repeat_items=6)
# (name, simulated readers, reader skill above chance when the caller gives none, seed, project); the open and
# designed surveys belong to project A.
CLOSED_SURVEYS = [
    ("Demo survey 1 (closed)", 11, 0.05, 101, PROJECT_A),
    ("Demo survey 2 (closed)", 8, 0.45, 102, PROJECT_A),
    ("Demo survey 3 (closed)", 6, 0.2, 103, PROJECT_B),
    ("Demo survey 4 (closed)", 6, 0.05, 104, PROJECT_B),
]
# A slab survey per model (project A), answered by simulated readers and closed: a 24 mm slab of 13 planes 2 mm
# apart per item, read in axial, coronal and sagittal views (short enough for the demo's volumes).
SLAB_DESIGN = StudyDesign(slab_thickness_mm=24, slab_spacing_mm=2.0)
SLAB_READERS = 6
SLAB_SKILL = 0.2  # the simulated readers' skill when the caller gives none
INVITATION_LABEL = "demo invitation"
# Time-limited exposure: a 1-up/3-down staircase per simulated reader (studies.exposure), one closed survey per
# (name, simulated readers, skill when the caller gives none, seed), each on the next model; the simulated readers'
# skill shrinks with the exposure (studies.simulation), so their thresholds follow each model's realism.
EXPOSURE_DESIGN = StudyDesign(
    exposure="staircase",
    exposure_ms=1000,
    exposure_step_percent=25,
    exposure_min_ms=50,
    exposure_max_ms=4000,
    exposure_up=1,
    exposure_down=3,
    exposure_reversals=4,
)
EXPOSURE_SURVEYS = [
    ("Demo exposure survey 1 (staircase, closed)", 6, 0.9, 107),
    ("Demo exposure survey 2 (staircase, closed)", 6, 0.6, 108),
]


def slab_survey_name(index: int) -> str:
    """The name of the demo's slab survey of the index-th model (0-based)."""
    return f"Demo slab survey {index + 1} (closed)"


def build_demo(*, stdout, models=None, skill_of=None) -> None:
    """``models``: the synthetic CT datasets of the closed surveys, in order (default: every one); ``skill_of``:
    model -> the simulated readers' skill (default: each survey's own in CLOSED_SURVEYS)."""
    ensure_study_groups()
    projects = {name: _ensure_project(name, stdout) for name in (PROJECT_A, PROJECT_B)}
    _ensure_users(stdout, projects)
    models = [
        model for model in (models if models is not None else synthetic_datasets()) if model is not None
    ]
    if not models:
        stdout.write(
            "Reader studies: skipped, there is no synthetic CT dataset yet (generate one from a checkpoint, "
            "or import one with `manage.py import_images PATH --dataset NAME --kind sct --contrast`)."
        )
        return
    _open_survey(models, stdout)
    former = Survey.objects.filter(name=FORMER_RATED_SURVEY).first()
    if former is not None:
        _retire(former, stdout, "single slice")
    _designed_survey(
        models,
        stdout,
        name=RATED_SURVEY,
        seed=105,
        design=RATED_DESIGN,
        reader_title="Abdominal CT: stacks with a confidence rating",
        reader_title_it="TC addominale: pile di immagini con grado di confidenza",
        instructions="Scroll through the five slices of each image and rate how sure you are that the middle "
        "slice is synthetic. Three practice images come first.",
        instructions_it="Scorri le cinque immagini di ogni pila e indica quanto sei sicuro che l'immagine centrale "
        "sia sintetica. Prima ci sono tre immagini di prova.",
        what="5-slice stack, 5-point rating, 3 practice items",
    )
    _designed_survey(
        models,
        stdout,
        name=REPEAT_SURVEY,
        seed=106,
        design=REPEAT_DESIGN,
        reader_title="Abdominal CT: reading and second reading",
        reader_title_it="TC addominale: lettura e seconda lettura",
        instructions="After the first reading, six of the slices are shown again in a new order.",
        instructions_it="Dopo la prima lettura, sei immagini vengono mostrate di nuovo in un ordine diverso.",
        what="a second reading of 6 items",
    )
    for index, (name, readers, skill, seed, project) in enumerate(CLOSED_SURVEYS):
        model = models[index % len(models)]
        if skill_of is not None:
            skill = skill_of(model)
        _closed_survey(name, model, readers, skill, seed, stdout, projects[project])
    for index, (name, readers, skill, seed) in enumerate(EXPOSURE_SURVEYS):
        model = models[index % len(models)]
        if skill_of is not None:
            skill = skill_of(model)
        _closed_survey(name, model, readers, skill, seed, stdout, projects[PROJECT_A], design=EXPOSURE_DESIGN)
    for index, model in enumerate(models):
        skill = skill_of(model) if skill_of is not None else SLAB_SKILL
        _closed_survey(
            slab_survey_name(index),
            model,
            SLAB_READERS,
            skill,
            200 + index,
            stdout,
            projects[PROJECT_A],
            design=SLAB_DESIGN,
        )


def _ensure_project(name: str, stdout):
    project = project_named(name)
    if project is None:
        project = create_project(name=name, description="Made by manage.py demo.")
        stdout.write(f"Created the project {name!r}.")
    return project


def _ensure_users(stdout, projects) -> None:
    User = get_user_model()
    for username, password, group, is_staff, memberships in DEMO_USERS:
        with transaction.atomic():
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": is_staff, "email": f"{username}@example.org"}
            )
            if created:
                user.set_password(password)
                user.save()
                stdout.write(f"Created the demo {group} '{username}' (password '{password}').")
            user.groups.add(Group.objects.get(name=group))
            for project_name, role in memberships:
                if role_of(user, projects[project_name]) is None:
                    add_member(project=projects[project_name], user=user, role=role)
                    stdout.write(f"{username} is a {role} of {project_name!r}.")


def _real_dataset_for(model):
    preferred = DEMO_REAL_DATASET if model.contrast_enhanced else DEMO_REAL_DATASET_NONCONTRAST
    matching = datasets_of_kind(DatasetKind.REAL_CT, contrast_enhanced=model.contrast_enhanced)
    return matching.filter(name=preferred).first() or matching.first()


def _create(name: str, model, seed: int, stdout, project=None, **options) -> Survey | None:
    survey = Survey.objects.filter(name=name).first()
    if survey is not None and survey.display_policy.per_slice_field_of_view:
        _retire(survey, stdout, "each slice's own field of view")
        survey = None
    if survey is not None and survey.model_dataset_id != model.pk:
        _retire(survey, stdout, f"model {survey.model_dataset.name}")
        survey = None
    if survey is not None and "design" in options and survey.design != options["design"]:
        _retire(survey, stdout, "an earlier study design")
        survey = None
    if survey is not None:
        return survey
    real = _real_dataset_for(model)
    if real is None:
        stdout.write(
            f"Reader studies: {name!r} skipped, no real CT matches the contrast kind of {model.name!r}."
        )
        return None
    try:
        created = create_survey(
            options=SurveyInput(
                name=name,
                model=model.name,
                real_dataset=real.name,
                real=PER_SIDE,
                synthetic=PER_SIDE,
                seed=seed,
                display_policy=DisplayPolicy(matrix_size=DEMO_MATRIX),
                **options,
            ),
            project=project or project_named(PROJECT_A),
        )
    except StudyError as exc:
        stdout.write(f"Reader studies: {name!r} skipped: {exc}")
        return None
    for note in created.policy_notes:
        stdout.write(f"{name}: {note}")
    for note in created.notes:
        stdout.write(f"{name}: pool too small: {note}")
    stdout.write(f"Created {name!r}: {PER_SIDE} real ({real.name}) + {PER_SIDE} synthetic ({model.name}).")
    return created.survey


def _retire(survey: Survey, stdout, why: str) -> None:
    """A demo survey made by an earlier demo (each slice at its own field of view, which let the scale tell real
    from synthetic items; or of another model than the demo now surveys): keep it (closed, renamed) and make it
    anew."""
    if survey.is_open:
        do_close_survey(survey=survey, actor=None)
    retired = f"{survey.name} [{why}, retired {timezone.now():%Y-%m-%d}]"
    do_rename_survey(survey=survey, actor=None, name=retired)
    stdout.write(f"Kept the earlier {survey.name!r} as {retired!r}; it is made again.")


def _open_survey(models: list, stdout) -> None:
    contrast_models = [m for m in models if m.contrast_enhanced]
    model = (contrast_models or models)[0]
    survey = _create(
        OPEN_SURVEY,
        model,
        seed=100,
        stdout=stdout,
        allow_going_back=True,
        reader_title="Abdominal CT: single slices",
        reader_title_it="TC addominale: immagini singole",
        instructions="For each slice, say whether you think it is a real CT or a synthetic one.",
        instructions_it="Per ogni immagine, indica se pensi che sia una TC reale o sintetica.",
    )
    if survey is None:
        return
    if survey.is_draft:
        do_audit_and_open(survey=survey, actor=None)
    if survey.is_closed:
        return
    reader = get_user_model().objects.get(username="reader")
    assignment = reader.assignments.filter(survey=survey).first()
    if assignment is None:
        invitation = do_create_invitations(survey=survey, actor=None, count=1, label="demo reader account")[0]
        assignment = do_accept_invitation(token=invitation.token, reader=reader)
    invitation = next(
        (i for i in Invitation.objects.filter(survey=survey, label=INVITATION_LABEL) if i.state == "pending"),
        None,
    )
    if invitation is None:
        invitation = do_create_invitations(survey=survey, actor=None, count=1, label=INVITATION_LABEL)[0]
    stdout.write(
        f"Open survey {survey.name!r}: the demo reader (reader / reader-demo) reads it at {assignment_url(assignment)}"
    )
    stdout.write(f"Invitation link for a new reader (works once): {invitation_url(invitation)}")


def _designed_survey(models: list, stdout, *, name, seed, design, what, **reader_text) -> None:
    """An open survey with a study design, audited, joined by the demo reader; `reader_text` is its title and
    instructions."""
    contrast_models = [m for m in models if m.contrast_enhanced]
    model = (contrast_models or models)[0]
    survey = _create(name, model, seed=seed, stdout=stdout, design=design, **reader_text)
    if survey is None:
        return
    if survey.is_draft:
        do_audit_and_open(survey=survey, actor=None)
    if survey.is_closed:
        return
    reader = get_user_model().objects.get(username="reader")
    assignment = reader.assignments.filter(survey=survey).first()
    if assignment is None:
        invitation = do_create_invitations(survey=survey, actor=None, count=1, label="demo reader account")[0]
        assignment = do_accept_invitation(token=invitation.token, reader=reader)
    stdout.write(f"Survey {survey.name!r} ({what}): the demo reader reads it at {assignment_url(assignment)}")


def _closed_survey(
    name: str, model, readers: int, skill: float, seed: int, stdout, project, **options
) -> None:
    survey = _create(
        name,
        model,
        seed=seed,
        stdout=stdout,
        project=project,
        model_alias=model.name.removesuffix(" synthetic CT"),
        **options,
    )
    if survey is None or survey.is_closed:
        return
    if survey.is_draft:
        do_audit_and_open(survey=survey, actor=None)
    missing = readers - survey.assignments.count()
    if missing > 0:
        simulate_readers(survey, missing, seed=seed, skill=skill)
    do_close_survey(survey=survey, actor=None)
    stdout.write(f"{name}: answered by {readers} simulated readers (skill {skill:.2f}) and closed.")
