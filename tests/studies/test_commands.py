"""The create_survey and invite_readers commands: the happy path prints what it made; garbage gets one line."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from studies.models import Invitation, Survey
from tests.studies.conftest import store_ct_dataset


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def create_args(pools, **overrides):
    options = {
        "--name": "Survey 1",
        "--model": pools.synthetic.name,
        "--real-dataset": pools.real.name,
        "--real": "10",
        "--synthetic": "10",
        "--seed": "4",
        "--matrix": "64",
        **overrides,
    }
    args = ["create_survey"]
    for key, value in options.items():
        if value is not None:
            args += [key, value]
    return args


def test_create_survey_prints_one_invitation_link_per_reader(pools):
    output = run(*create_args(pools), "--readers", "3")
    survey = Survey.objects.get(name="Survey 1")
    assert survey.status == "draft" and survey.items.count() == 20
    links = [line for line in output.splitlines() if line.startswith("reader ")]
    assert len(links) == 3
    tokens = set(Invitation.objects.filter(survey=survey).values_list("token", flat=True))
    assert {line.rsplit("/join/", 1)[1].rstrip("/") for line in links} == tokens


def test_create_survey_with_open_runs_the_audit(pools):
    output = run(*create_args(pools), "--open")
    assert "Blinding audit passed; the survey is open." in output
    assert Survey.objects.get().status == "open"


def test_create_survey_says_when_the_pool_is_too_small_for_one_slice_per_volume(db):
    store_ct_dataset("Small real", kind="ct", contrast=True, volumes=1, slices=20, seed=1)
    store_ct_dataset("Small model", kind="sct", contrast=True, volumes=1, slices=20, seed=2)
    output = run(
        "create_survey", "--name", "small", "--model", "Small model", "--real-dataset", "Small real",
        "--real", "12", "--synthetic", "12", "--seed", "1", "--matrix", "32",
    )  # fmt: skip
    assert "pool too small: layer" in output and "share a volume" in output
    assert Survey.objects.get().items.count() == 24


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"--real": "abc"}, "real must be a whole number, not 'abc'"),
        ({"--real": "0", "--synthetic": "0"}, "the number of items per side must be 1..500, not 0"),
        ({"--seed": "-1"}, "must be between 0 and 2**63 - 1"),
        ({"--synthetic": "9"}, "must be equal"),
        (
            {"--model": "No such model"},
            "no dataset named 'No such model' (synthetic CT datasets: 'Model X output')",
        ),
        ({"--real-dataset": "Nope"}, "no dataset named 'Nope' (real CT datasets: 'Real CT contrast')"),
        ({"--matrix": "8"}, "display policy: matrix size 8 is outside 16..2048"),
        ({"--real": "500", "--synthetic": "500"}, "only 40 slice(s) per side"),
    ],
)
def test_create_survey_refuses_garbage_with_one_line(pools, overrides, message):
    with pytest.raises(CommandError) as caught:
        call_command(*create_args(pools, **overrides), stdout=StringIO(), stderr=StringIO())
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not Survey.objects.exists()


def test_create_survey_refuses_real_ct_of_the_other_contrast_kind(pools):
    store_ct_dataset("Plain CT", kind="ct", contrast=False, seed=9)
    with pytest.raises(
        CommandError, match="is non-contrast CT but model 'Model X output' makes contrast-enhanced CT"
    ):
        call_command(*create_args(pools, **{"--real-dataset": "Plain CT"}), stdout=StringIO())


def test_create_survey_refuses_a_real_dataset_as_the_model(pools):
    with pytest.raises(CommandError, match="is Real CT, not synthetic CT"):
        call_command(*create_args(pools, **{"--model": pools.real.name}), stdout=StringIO())


def test_create_survey_refuses_a_second_survey_of_the_same_name(pools):
    run(*create_args(pools))
    with pytest.raises(CommandError, match="already exists"):
        call_command(*create_args(pools), stdout=StringIO())


def test_invite_readers_prints_links_and_emails_them(make_survey, django_capture_on_commit_callbacks):
    survey = make_survey(name="Invite me")
    with django_capture_on_commit_callbacks(execute=True):
        output = run("invite_readers", "Invite me", "--readers", "2", "--email", "dr@example.org")
    assert output.count("/join/") == 3
    assert "(e-mailed to dr@example.org)" in output
    assert len(mail.outbox) == 1
    assert survey.invitations.count() == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["nobody", "--readers", "1"], "no survey named 'nobody'"),
        (["Invite me", "--email", "not-an-address"], "'not-an-address' is not an e-mail address"),
        (["Invite me"], "say how many invitations"),
        (["Invite me", "--readers", "x"], "'x' is not a whole number"),
    ],
)
def test_invite_readers_refuses_garbage_with_one_line(make_survey, args, message):
    make_survey(name="Invite me")
    with pytest.raises(CommandError) as caught:
        call_command("invite_readers", *args, stdout=StringIO(), stderr=StringIO())
    assert message in str(caught.value)


def test_create_survey_takes_every_study_design_option(pools):
    output = run(
        *create_args(pools),
        "--rating", "five_point", "--choice-from-rating", "--practice-items", "3",
        "--window-preset", "abdomen:350:40", "--window-preset", "bone:2000:500",
    )  # fmt: skip
    design = Survey.objects.get().design
    assert (design.rating, design.choice_from_rating, design.practice_items) == ("five_point", True, 3)
    assert [(p.name, p.width, p.level) for p in design.window_presets] == [
        ("abdomen", 350, 40),
        ("bone", 2000, 500),
    ]
    assert "study design: 5-point scale" in output and "3 practice item(s)" in output
    assert Survey.objects.get().practice_items.count() == 3


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--choice-from-rating"],
            "study design: the choice can be derived from the rating only when there is a rating",
        ),
        (["--window-preset", "lung:1500"], "study design: window preset 1 must be: name width level"),
        (["--window-preset", "lung:0:-600"], "study design: the width of preset 'lung' must be 1..5000 HU"),
        (["--practice-items", "10", "--real", "38", "--synthetic", "38"], "cannot select practice items: 10"),
    ],
)
def test_create_survey_refuses_impossible_designs_in_one_line(pools, extra, message):
    with pytest.raises(CommandError) as error:
        run(*create_args(pools), *extra)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    "value, message",
    [
        ("11", "study design: practice items must be 0..10, not 11"),
        ("-1", "study design: practice items must be 0..10, not -1"),
        ("many", "study design: practice_items must be a whole number, not 'many'"),
    ],
)
def test_create_survey_refuses_a_garbage_practice_count(pools, value, message):
    with pytest.raises(CommandError) as error:
        run(*create_args(pools), "--practice-items", value)
    assert str(error.value) == message


def test_create_survey_takes_repeat_reading_flags(pools):
    run(*create_args(pools), "--repeat-subset", "4", "--washout-days", "7")
    design = Survey.objects.get().design
    assert (design.repeat, design.repeat_items, design.washout_days) == ("subset", 4, 7)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--repeat-subset", "21"], "a repeated subset of 21 items is larger than the survey (20 items)"),
        (["--washout-days", "3"], "study design: a wash-out applies to a repeat reading only"),
        (
            ["--repeat-all", "--washout-days", "999"],
            "study design: the wash-out must be 0..365 days, not 999",
        ),
    ],
)
def test_create_survey_refuses_impossible_repeat_readings_in_one_line(pools, extra, message):
    with pytest.raises(CommandError) as error:
        run(*create_args(pools), *extra)
    assert str(error.value) == message
    assert not Survey.objects.exists()
