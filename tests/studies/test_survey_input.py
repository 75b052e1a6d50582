"""The one survey input: text as a command line or a form gives it and JSON as the API gives it make the same value;
every refusal is one short line naming the option. No database: this is pure Python."""

import pytest

from studies.design import StudyDesign
from studies.errors import StudyError
from studies.policy import DisplayPolicy
from studies.survey_input import SurveyInput, SurveyInputError, parse_display_policy, parse_survey_input

REQUIRED = {"name": "S", "model": "M", "real_dataset": "R", "real": 5, "synthetic": 5, "seed": 1}


def test_text_and_json_values_make_the_same_input():
    as_text = parse_survey_input(
        {
            **{name: str(value) for name, value in REQUIRED.items()},
            "allow_going_back": "true",
            "display_policy": {"matrix_size": " 64 ", "field_of_view_mm": "250.5", "mask": "circle"},
            "design": {
                "rating": "slider",
                "practice_items": "2",
                "window_presets": "lung 1500 -600\n\nbone:2000:500",
            },
        }
    )
    as_json = parse_survey_input(
        {
            **REQUIRED,
            "allow_going_back": True,
            "display_policy": {"matrix_size": 64, "field_of_view_mm": 250.5, "mask": "circle"},
            "design": {
                "rating": "slider",
                "practice_items": 2,
                "window_presets": [{"name": "lung", "width": 1500, "level": -600}, ["bone", 2000, 500]],
            },
        }
    )
    assert as_text == as_json
    assert as_json.display_policy == DisplayPolicy(matrix_size=64, field_of_view_mm=250.5, mask="circle")
    assert [p.name for p in as_json.design.window_presets] == ["lung", "bone"]


def test_an_input_goes_to_values_and_back_unchanged():
    given = SurveyInput(
        **REQUIRED,
        reader_title="  CT study  ",
        instructions="Line one.\nLine two.",
        display_policy=DisplayPolicy(matrix_size=32, field_of_view="per_slice"),
        design=StudyDesign(repeat="subset", repeat_items=3, washout_days=2, stack_k=1),
    )
    assert given.reader_title == "CT study"
    assert parse_survey_input(given.to_values()) == given


def test_absent_and_null_options_take_their_defaults():
    parsed = parse_survey_input({**REQUIRED, "model_alias": None, "display_policy": {"matrix_size": None}})
    assert parsed == SurveyInput(**REQUIRED)
    assert (parsed.reader_title, parsed.display_policy, parsed.design) == (
        "Reader study",
        DisplayPolicy(),
        StudyDesign(),
    )


@pytest.mark.parametrize(
    "values, message",
    [
        ([1, 2], "a survey's options must be a JSON object, not [1, 2]"),
        ({}, "a survey needs a name"),
        ({**REQUIRED, "colour": "red", "age": 3}, "unknown option(s): age, colour"),
        ({**REQUIRED, "real": None, "synthetic": None}, "real is required (the number of real items)"),
        ({"name": "S", "model": "M", "real_dataset": "R", "real": 5, "synthetic": 5}, "seed is required (the seed of the item selection)"),
        ({**REQUIRED, "model": ""}, "model must name a synthetic CT dataset"),
        ({**REQUIRED, "name": ["S"]}, "name must be text, not ['S']"),
        ({**REQUIRED, "name": "a\x00b"}, "name must not contain control characters"),
        ({**REQUIRED, "instructions": "tab\tand\nlines\x1b"}, "instructions must not contain control characters"),
        ({**REQUIRED, "real": True, "synthetic": True}, "real must be a whole number, not True"),
        ({**REQUIRED, "real": 5.0, "synthetic": 5.0}, "real must be a whole number, not 5.0"),
        ({**REQUIRED, "real": "5.5", "synthetic": "5.5"}, "real must be a whole number, not '5.5'"),
        ({**REQUIRED, "seed": "9" * 31}, f"seed must be a whole number, not '{'9' * 31}'"),
        ({**REQUIRED, "allow_going_back": "perhaps"}, "allow_going_back must be true or false, not 'perhaps'"),
        ({**REQUIRED, "allow_going_back": 1}, "allow_going_back must be true or false, not 1"),
        ({**REQUIRED, "display_policy": "big"}, "display policy: give its options as a JSON object, not 'big'"),
        ({**REQUIRED, "display_policy": {"colour": "red"}}, "display policy: unknown option(s): colour"),
        ({**REQUIRED, "display_policy": {"field_of_view_mm": float("nan")}}, "display policy: field_of_view_mm must be a number, not nan"),
        ({**REQUIRED, "display_policy": {"mask": 3}}, "display policy: mask must be text, not 3"),
        ({**REQUIRED, "display_policy": {"field_of_view_mm": 10**400}}, "display policy: field_of_view_mm must be a number, not 100000000000000000...0000000000000000000"),
        ({**REQUIRED, **{f"x{n}": 1 for n in range(1000)}}, "unknown option(s): x0, x1, x10, x100, x101 and 995 more"),
        ({**REQUIRED, "design": [1]}, "study design: give its options as a JSON object, not [1]"),
        ({**REQUIRED, "design": {"stack": 1}}, "study design: unknown option(s): stack"),
        ({**REQUIRED, "design": {"choice_from_rating": "yes"}}, "study design: choice_from_rating must be true or false, not 'yes'"),
        ({**REQUIRED, "design": {"window_presets": 5}}, "study design: window_presets must be a list of presets, not 5"),
        ({**REQUIRED, "design": {"window_presets": ["a 1 2"] * 101}}, "study design: window_presets must be a short list, not 101 presets"),
        ({**REQUIRED, "design": {"window_presets": ["a 1 2", "b wide 40"]}}, "study design: window preset 2: width and level must be whole numbers"),
        ({**REQUIRED, "design": {"window_presets": [{"name": "a"}]}}, "study design: a window preset is a name, a width and a level"),
    ],
)  # fmt: skip
def test_garbage_is_refused_in_one_short_line_naming_the_option(values, message):
    with pytest.raises(SurveyInputError) as refused:
        parse_survey_input(values)
    assert str(refused.value) == message
    assert len(str(refused.value)) < 200


def test_a_refusal_is_a_study_error_whichever_way_the_input_is_made():
    with pytest.raises(StudyError, match="a survey is balanced: real"):
        SurveyInput(**{**REQUIRED, "synthetic": 6})
    with pytest.raises(StudyError, match="display policy: HU range 3..2 is empty"):
        parse_display_policy({"hu_min": 3, "hu_max": 2})


def test_a_huge_value_is_quoted_short():
    with pytest.raises(SurveyInputError) as refused:
        parse_survey_input({**REQUIRED, "name": ["x" * 100_000] * 1000})
    assert str(refused.value).startswith("name must be text, not ['xxxx") and len(str(refused.value)) < 120


def test_the_italian_title_and_instructions_are_optional_text_like_the_english():
    values = {"name": "S", "model": "M", "real_dataset": "R", "real": 2, "synthetic": 2, "seed": 1}
    given = parse_survey_input(
        {**values, "reader_title_it": "  Studio TC  ", "instructions_it": "Riga 1\nRiga 2"}
    )
    assert (given.reader_title_it, given.instructions_it) == ("Studio TC", "Riga 1\nRiga 2")
    assert parse_survey_input(values).reader_title_it == ""
    with pytest.raises(SurveyInputError, match="^reader_title_it must not contain control characters$"):
        parse_survey_input({**values, "reader_title_it": "a\nb"})
    with pytest.raises(SurveyInputError, match="^instructions_it must be text, not 5$"):
        parse_survey_input({**values, "instructions_it": 5})
    assert parse_survey_input(
        {**values, "design": {"confirm_contradictions": "false"}}
    ).design == StudyDesign(confirm_contradictions=False)
