"""One door to create a survey: the admin's add page, `manage.py create_survey` and `POST /api/v1/surveys/` take
every option of studies.survey_input, make the same survey from the same options, and refuse the same garbage with
the same one line, storing nothing."""

import html
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from studies.management.commands.create_survey import SURVEY_FLAGS
from studies.models import Survey
from studies.survey_input import DESIGN_OPTIONS, OPTIONS, POLICY_OPTIONS
from tests.projects.factories import make_member

DOORS = ("admin", "command", "api")
FLAGS = {option: flag for flag, option, _, _ in SURVEY_FLAGS}
# The command's options that are switches or take a different shape than a value of the same name.
SWITCHES = {
    "allow_going_back",
    "field_of_view",
    "choice_from_rating",
    "confirm_contradictions",
    "window_presets",
    "repeat",
    "repeat_items",
}


@pytest.fixture
def study_admin(django_user_model):
    user = django_user_model.objects.create_user("door-admin", password="pw-door-123", is_staff=True)
    make_member(user, "admin")
    return user


def good(pools, **overrides) -> dict:
    """A survey's options as studies.survey_input names them, nested as the API takes them."""
    values = {
        "name": "Door survey",
        "model": pools.synthetic.name,
        "real_dataset": pools.real.name,
        "real": 4,
        "synthetic": 4,
        "seed": 3,
        "display_policy": {"matrix_size": 32},
        "design": {},
    }
    for name, value in overrides.items():
        where = "display_policy" if name in POLICY_OPTIONS else "design" if name in DESIGN_OPTIONS else None
        (values[where] if where else values)[name] = value
    return values


def command_args(values: dict) -> list[str]:
    """The command line that gives these options."""
    flat = {**values, **values["display_policy"], **values["design"]}
    args = ["create_survey"]
    for option, value in flat.items():
        if option in ("display_policy", "design") or option in SWITCHES:
            continue
        args += [FLAGS[option], str(value)]
    if flat.get("allow_going_back"):
        args.append("--allow-going-back")
    if flat.get("field_of_view") == "per_slice":
        args.append("--per-slice-field-of-view")
    if flat.get("choice_from_rating"):
        args.append("--choice-from-rating")
    if flat.get("confirm_contradictions") is False:
        args.append("--no-confirm-contradictions")
    for preset in flat.get("window_presets", []):
        args += ["--window-preset", preset]
    if flat.get("repeat") == "all":
        args.append("--repeat-all")
    if "repeat_items" in flat:
        args += ["--repeat-subset", str(flat["repeat_items"])]
    return args


def form_data(values: dict) -> dict:
    """The admin's add form filled in with these options (datasets chosen by id, as its lists offer them)."""
    from imaging.selectors import dataset_named

    flat = {**values, **values["display_policy"], **values["design"]}
    del flat["display_policy"], flat["design"]
    assert flat.pop("real") == flat.pop("synthetic"), "the admin's form has one number of items per side"
    data = {"per_side": values["real"]}
    for option, field in (("model", "model_dataset"), ("real_dataset", "real_dataset")):
        dataset = dataset_named(flat.pop(option))
        data[field] = dataset.pk if dataset is not None else values[option]
    for option, value in flat.items():
        if option == "confirm_contradictions":
            data[option] = str(value).lower()
        elif isinstance(value, bool):
            if value:
                data[option] = "on"
        elif option == "window_presets":
            data[option] = "\n".join(value)
        else:
            data[option] = value
    data.setdefault("reader_title", "Reader study")
    return data


def create_through(door: str, values: dict, user) -> str | None:
    """Create a survey through one door; its refusal as one line, or None when the survey was created."""
    if door == "command":
        try:
            call_command(*command_args(values), stdout=StringIO(), stderr=StringIO())
        except CommandError as exc:
            return str(exc)
        return None
    if door == "api":
        client = APIClient()
        client.force_authenticate(user)
        response = client.post("/api/v1/surveys/", values, format="json")
        if response.status_code == 201:
            return None
        assert response.status_code == 400 and response.json()["code"] == "refused", response.json()
        return response.json()["detail"]
    client = Client()
    client.force_login(user)
    response = client.post(reverse("admin:studies_survey_add"), form_data(values))
    if response.status_code == 302:
        return None
    assert response.status_code == 400
    page = response.content.decode()
    assert "errorlist" not in page.replace('class="errorlist nonfield"', ""), "a field refused on its own"
    errors = re.findall(r'data-testid="admin-survey-add-error"><li>(.*?)</li></ul>', page, re.S)
    assert len(errors) == 1, page
    return html.unescape(errors[0])


# (options changed from good ones, the refusal, the doors that can say it: the admin's form has one number of
# items per side, so it cannot ask for an unbalanced survey)
GARBAGE = [
    ({"name": ""}, "a survey needs a name"),
    ({"name": "x" * 129}, "name must be at most 128 characters, not 129"),
    ({"name": "bell\x07"}, "name must not contain control characters"),
    ({"model": "nope"}, "no dataset named 'nope' (synthetic CT datasets: 'Model X output')"),
    (
        {"model": "Real CT contrast"},
        "dataset 'Real CT contrast' is Real CT, not synthetic CT (the model under test must be a synthetic CT dataset)",
    ),
    ({"real_dataset": "Model X output"}, "dataset 'Model X output' is Synthetic CT, not real CT"),
    ({"name": "Taken"}, "a survey named 'Taken' already exists"),
    (
        {"real": 3, "synthetic": 4},
        "a survey is balanced: real (3) and synthetic (4) must be equal",
        "no admin",
    ),
    ({"real": 0, "synthetic": 0}, "the number of items per side must be 1..500, not 0"),
    ({"real": 501, "synthetic": 501}, "the number of items per side must be 1..500, not 501"),
    ({"real": "four", "synthetic": "four"}, "real must be a whole number, not 'four'"),
    (
        {"real": 300, "synthetic": 300},
        "cannot select items from 'Real CT contrast' and 'Model X output': only 40 slice(s) per side lie in axial "
        "layers both datasets cover; 300 needed",
    ),
    ({"seed": -5}, "seed must be between 0 and 2**63 - 1, not -5"),
    ({"seed": 2**63}, "seed must be between 0 and 2**63 - 1, not 9223372036854775808"),
    ({"seed": "1e3"}, "seed must be a whole number, not '1e3'"),
    ({"model_alias": "m" * 65}, "model_alias must be at most 64 characters, not 65"),
    ({"reader_title": " "}, "readers need a title for the survey (reader_title)"),
    ({"instructions": "i" * 10_001}, "instructions must be at most 10000 characters, not 10001"),
    ({"matrix_size": 8}, "display policy: matrix size 8 is outside 16..2048"),
    ({"matrix_size": "big"}, "display policy: matrix_size must be a whole number, not 'big'"),
    ({"hu_min": 500, "hu_max": 100}, "display policy: HU range 500..100 is empty"),
    ({"mask": "none-such"}, "display policy: unknown mask 'none-such'"),
    ({"interpolation": "sinc"}, "display policy: unknown interpolation 'sinc'"),
    ({"field_of_view_mm": "wide"}, "display policy: field_of_view_mm must be a number, not 'wide'"),
    (
        {"field_of_view": "per_slice", "field_of_view_mm": 300},
        "display policy: a field of view in mm applies to one field of view for the survey only",
    ),
    ({"default_window_width": 0}, "display policy: the default window width must be 1..5000 HU"),
    (
        {"rating": "ten_point"},
        "study design: unknown confidence rating 'ten_point' (one of none, five_point, slider)",
    ),
    (
        {"choice_from_rating": True},
        "study design: the choice can be derived from the rating only when there is a rating",
    ),
    ({"window_presets": ["lung 1500"]}, "study design: window preset 1 must be: name width level"),
    ({"window_presets": ["lung 0 -600"]}, "study design: the width of preset 'lung' must be 1..5000 HU"),
    ({"practice_items": 11}, "study design: practice items must be 0..10, not 11"),
    ({"practice_items": "many"}, "study design: practice_items must be a whole number, not 'many'"),
    (
        {"practice_items": 10, "real": 38, "synthetic": 38},
        "cannot select practice items: 10 practice item(s) need 5 real slice(s) not used as test items; only 2 are left",
    ),
    ({"stack_k": 6}, "study design: stack_k must be 0 (one slice) or 1..5 (a stack of 2k+1 slices), not 6"),
    ({"slab_thickness_mm": 5}, "study design: slab_thickness_mm must be 0 (no slab) or 10..400 mm, not 5"),
    ({"slab_spacing_mm": "thin"}, "study design: slab_spacing_mm must be a number, not 'thin'"),
    (
        {"slab_thickness_mm": 24, "slab_spacing_mm": 5},
        "study design: slab_thickness_mm (24) must be an even number of slab_spacing_mm (5), so the slab has a "
        "middle plane",
    ),
    (
        {"slab_thickness_mm": 100},
        "dataset 'Real CT contrast' has no volume that covers a 100 mm slab (each slab needs its volume's slices "
        "on both sides of its centre slice, without gaps)",
    ),
    (
        {"repeat": "subset", "repeat_items": 9},
        "a repeated subset of 9 items is larger than the survey (8 items)",
    ),
    (
        {"repeat": "all", "repeat_items": 4},
        "study design: the number of repeated items applies to a repeated subset only",
    ),
    ({"washout_days": 3}, "study design: a wash-out applies to a repeat reading only"),
    ({"catch_items": 60}, "study design: catch_items must be 0..50, not 60"),
    ({"qc_max_run": 1}, "study design: qc_max_run must be 0 (no rule) or at least 2, not 1"),
    (
        {"qc_min_catch_percent": 90},
        "study design: qc_min_catch_percent needs catch items (catch_items at least 1)",
    ),
    ({"exposure": "flash"}, "study design: unknown exposure 'flash' (one of off, fixed, staircase)"),
    ({"exposure": "fixed", "exposure_ms": 20}, "study design: exposure_ms must be 50..10000 ms, not 20"),
    (
        {"exposure_ms": 500},
        "study design: exposure_ms applies to a time-limited exposure only (exposure fixed or staircase)",
    ),
    (
        {"exposure": "staircase", "exposure_ms": 500, "exposure_min_ms": 100, "exposure_max_ms": 1000},
        "study design: a staircase steps by exposure_step_ms or by exposure_step_percent (one of them)",
    ),
    (
        {"exposure": "fixed", "exposure_ms": 500, "allow_going_back": True},
        "a time-limited exposure shows each image once: allow_going_back must be false",
    ),
]
CASES = [
    pytest.param(case[0], case[1], door, id=f"{door}-{number}")
    for number, case in enumerate(GARBAGE)
    for door in DOORS
    if not (door == "admin" and case[2:] == ("no admin",))
]


@pytest.mark.parametrize("overrides, refusal, door", CASES)
def test_every_door_refuses_the_same_garbage_with_the_same_line_and_stores_nothing(
    pools, study_admin, make_survey, overrides, refusal, door
):
    if overrides.get("name") == "Taken":
        make_survey(name="Taken", per_side=2)
    surveys, events = Survey.objects.count(), AuditEvent.objects.count()
    line = create_through(door, good(pools, **overrides), study_admin)
    assert line is not None and "\n" not in line
    assert line == refusal
    assert (Survey.objects.count(), AuditEvent.objects.count()) == (surveys, events)


# A value other than the default for every option (the field of view is either one survey-wide size, given here,
# or each slice's own, the next test's).
EVERY_OPTION = {
    "real": 6,
    "synthetic": 6,
    "seed": 11,
    "model_alias": "Model X",
    "reader_title": "CT reading",
    "instructions": "Look at each slice.\nTake your time.",
    "reader_title_it": "Lettura TC",
    "instructions_it": "Guarda ogni immagine.\nCon calma.",
    "allow_going_back": True,
    "display_policy": {
        "matrix_size": 32,
        "hu_min": -1000,
        "hu_max": 2000,
        "interpolation": "area",
        "mask": "circle",
        "field_of_view_mm": 45.0,
        "default_window_width": 350,
        "default_window_level": 50,
    },
    "design": {
        "rating": "five_point",
        "choice_from_rating": True,
        "confirm_contradictions": False,
        "window_presets": ["abdomen 350 40", "wide bone 2000 500"],
        "practice_items": 2,
        "repeat": "subset",
        "repeat_items": 4,
        "washout_days": 3,
        "stack_k": 1,
        "catch_items": 2,
        "qc_min_catch_percent": 80,
        "qc_min_median_seconds": 1.5,
        "qc_max_run": 6,
    },
}


EXPOSURE_DESIGN = {
    "exposure": "staircase",
    "exposure_ms": 800,
    "exposure_step_ms": 0,
    "exposure_step_percent": 25,
    "exposure_min_ms": 100,
    "exposure_max_ms": 2000,
    "exposure_up": 1,
    "exposure_down": 3,
    "exposure_reversals": 6,
}


def made(survey: Survey) -> tuple:
    """What a survey was made with, beyond its name."""
    return (
        survey.model_dataset_id,
        survey.real_dataset_id,
        survey.real_count,
        survey.synthetic_count,
        survey.seed,
        survey.model_alias,
        survey.reader_title,
        survey.instructions,
        survey.reader_title_it,
        survey.instructions_it,
        survey.allow_going_back,
        survey.display_policy,
        survey.design,
        sorted(survey.items.values_list("slice_id", "truth")),
        sorted(survey.practice_items.values_list("slice_id", "truth")),
    )


@pytest.mark.parametrize(
    "field_of_view", [{"field_of_view_mm": 45.0}, {"field_of_view": "per_slice", "field_of_view_mm": None}]
)
def test_every_option_is_taken_by_every_door_and_makes_the_same_survey(pools, study_admin, field_of_view):
    options = {**EVERY_OPTION, "display_policy": {**EVERY_OPTION["display_policy"], **field_of_view}}
    options["display_policy"] = {k: v for k, v in options["display_policy"].items() if v is not None}
    given = {*options, *options["display_policy"], *options["design"]} - {"display_policy", "design"}
    required = {"name", "model", "real_dataset"}
    # The exposure's options need a survey of single slices without going back: the next test but one's.
    given |= set(EXPOSURE_DESIGN)
    # A slab and a stack exclude each other: the slab's options go through every door in the test below.
    slab = {"slab_thickness_mm", "slab_spacing_mm"}
    # A 2AFC task excludes stacks and practice: the task goes through every door in the last test.
    slab |= {"task"}
    assert given | required | slab | {"field_of_view", "field_of_view_mm"} == {
        *OPTIONS,
        *POLICY_OPTIONS,
        *DESIGN_OPTIONS,
    } - {
        "display_policy",
        "design",
    }
    surveys = {}
    for door in DOORS:
        values = {**good(pools), **options, "name": f"Every option by {door}"}
        assert create_through(door, values, study_admin) is None
        surveys[door] = Survey.objects.get(name=f"Every option by {door}")
    first = made(surveys["admin"])
    assert made(surveys["command"]) == first and made(surveys["api"]) == first
    survey = surveys["api"]
    assert survey.design.window_presets[1].name == "wide bone" and survey.design.stack_slices == 3
    assert survey.display_policy.mask == "circle" and survey.instructions.endswith("Take your time.")
    assert survey.practice_items.count() == 2 and survey.items.count() == 14
    assert survey.items.catch_only().count() == 2 and survey.design.quality_rules.min_median_seconds == 1.5
    assert (survey.reader_title_it, survey.design.confirm_contradictions) == ("Lettura TC", False)


def test_every_exposure_option_is_taken_by_every_door_and_makes_the_same_survey(pools, study_admin):
    surveys = {}
    for door in DOORS:
        values = {**good(pools), "design": dict(EXPOSURE_DESIGN), "name": f"Exposure by {door}"}
        assert create_through(door, values, study_admin) is None
        surveys[door] = Survey.objects.get(name=f"Exposure by {door}")
    first = made(surveys["admin"])
    assert made(surveys["command"]) == first and made(surveys["api"]) == first
    design = surveys["api"].design
    assert (design.exposure, design.exposure_step_percent, design.exposure_down) == ("staircase", 25, 3)
    assert design.staircase.target_probability > 0.79


def test_a_slab_is_taken_by_every_door_and_makes_the_same_survey(pools, study_admin):
    surveys = {}
    for door in DOORS:
        values = good(pools, name=f"Slab by {door}", slab_thickness_mm=24, slab_spacing_mm=2.0)
        assert create_through(door, values, study_admin) is None
        surveys[door] = Survey.objects.get(name=f"Slab by {door}")
    first = made(surveys["admin"])
    assert made(surveys["command"]) == first and made(surveys["api"]) == first
    design = surveys["api"].design
    assert (design.slab_thickness_mm, design.slab_spacing_mm, design.stack_slices) == (24, 2.0, 13)


def test_a_2afc_task_is_taken_by_every_door_and_makes_the_same_pairs(pools, study_admin):
    surveys = {}
    for door in DOORS:
        values = {
            **good(pools),
            "design": {"task": "2afc", "rating": "five_point"},
            "name": f"2AFC by {door}",
        }
        assert create_through(door, values, study_admin) is None
        surveys[door] = Survey.objects.get(name=f"2AFC by {door}")
    first = made(surveys["admin"])
    assert made(surveys["command"]) == first and made(surveys["api"]) == first
    for survey in surveys.values():
        assert survey.design.is_two_afc and survey.pairs.count() == survey.real_count
    pairs = {
        door: sorted(survey.pairs.values_list("real_item__slice_id", "synthetic_item__slice_id"))
        for door, survey in surveys.items()
    }
    assert pairs["command"] == pairs["admin"] == pairs["api"]
    refused = {**good(pools), "design": {"task": "2afc", "stack_k": 1}, "name": "2AFC stack"}
    for door in DOORS:
        assert "a 2afc task shows two single slices side by side: stack_k must be 0" in create_through(
            door, refused, study_admin
        )
