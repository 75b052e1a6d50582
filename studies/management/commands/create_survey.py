import argparse

from django.core.management.base import BaseCommand, CommandError

from imaging.constants import DEFAULT_CT_WINDOW, HU_MAX, HU_MIN
from projects.commands import add_project_argument, named_project
from studies.design import (
    DEFAULT_SLAB_SPACING_MM,
    EXPOSURES,
    MAX_CATCH_ITEMS,
    MAX_PRACTICE_ITEMS,
    MAX_STACK_K,
    MAX_WASHOUT_DAYS,
    RATING_SCALES,
    REPEAT_ALL,
    REPEAT_SUBSET,
    TASKS,
)
from studies.policy import FIELD_OF_VIEW_PER_SLICE, INTERPOLATIONS, MASKS
from studies.services import (
    StudyError,
    create_survey,
    do_audit_and_open,
    do_create_invitations,
    invitation_url,
)
from studies.survey_input import DEFAULT_READER_TITLE, MAX_ITEMS_PER_SIDE


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


# Each survey option's flag: (flag, the option's name in studies.survey_input, where it goes, help). Every value is
# passed on as typed and checked by studies.survey_input, as the admin's and the API's are; a flag not given leaves
# the option at its default.
SURVEY_FLAGS = [
    ("--name", "name", "", "Survey name, for the study team (required)"),
    ("--model", "model", "", "Name of the synthetic CT dataset under test (required)"),
    ("--real-dataset", "real_dataset", "", "Name of a real CT dataset of the same contrast kind (required)"),
    ("--real", "real", "", f"Number of real slices, 1..{MAX_ITEMS_PER_SIDE} (required)"),
    ("--synthetic", "synthetic", "", "Number of synthetic slices, equal to --real (required)"),
    ("--seed", "seed", "", "Seed of the slice selection, 0..2**63 - 1 (required)"),
    ("--model-alias", "model_alias", "", "Short model name for reports (default: the dataset's name)"),
    ("--reader-title", "reader_title", "", f"Title readers see (default: {DEFAULT_READER_TITLE!r})"),
    ("--instructions", "instructions", "", "Shown to readers before they start"),
    ("--reader-title-it", "reader_title_it", "", "Title on Italian pages (default: the title)"),
    ("--instructions-it", "instructions_it", "", "Instructions on Italian pages (default: the instructions)"),
    ("--matrix", "matrix_size", "display_policy", "Display matrix, pixels per side (default 512)"),
    ("--hu-min", "hu_min", "display_policy", f"Bottom of the HU clip range (default {HU_MIN})"),
    ("--hu-max", "hu_max", "display_policy", f"Top of the HU clip range (default {HU_MAX})"),
    ("--interpolation", "interpolation", "display_policy", f"One of {', '.join(INTERPOLATIONS)} (bilinear)"),
    ("--mask", "mask", "display_policy", f"One of {', '.join(MASKS)} (default body)"),
    (
        "--field-of-view-mm",
        "field_of_view_mm",
        "display_policy",
        "One square field of view (mm) for every item; default: the real CT's median, rounded up",
    ),
    (
        "--window-width",
        "default_window_width",
        "display_policy",
        f"Default window width (default {DEFAULT_CT_WINDOW.width})",
    ),
    (
        "--window-level",
        "default_window_level",
        "display_policy",
        f"Default window level (default {DEFAULT_CT_WINDOW.level})",
    ),
    ("--rating", "rating", "design", f"Confidence rating on every item: {', '.join(RATING_SCALES)} (none)"),
    (
        "--practice-items",
        "practice_items",
        "design",
        f"Practice items read first with feedback (0..{MAX_PRACTICE_ITEMS}), from slices that are not test items",
    ),
    (
        "--stack",
        "stack_k",
        "design",
        f"Stack reading: each item shows 2K+1 neighbouring slices of its volume (K = 1..{MAX_STACK_K}; 0: one)",
    ),
    (
        "--exposure",
        "exposure",
        "design",
        f"Time-limited exposure: {', '.join(EXPOSURES)} (off); then a mask, then the question",
    ),
    ("--exposure-ms", "exposure_ms", "design", "Fixed exposure, or the staircase's start (ms)"),
    ("--exposure-step-ms", "exposure_step_ms", "design", "Staircase: a linear step (ms)"),
    ("--exposure-step-percent", "exposure_step_percent", "design", "Staircase: a multiplicative step (%)"),
    ("--exposure-min-ms", "exposure_min_ms", "design", "Staircase: the shortest exposure (ms)"),
    ("--exposure-max-ms", "exposure_max_ms", "design", "Staircase: the longest exposure (ms)"),
    ("--exposure-up", "exposure_up", "design", "Staircase: wrong answers in a row that lengthen it (1)"),
    ("--exposure-down", "exposure_down", "design", "Staircase: correct answers in a row that shorten it (3)"),
    (
        "--exposure-reversals",
        "exposure_reversals",
        "design",
        "Staircase: the last reversals averaged into a reader's threshold",
    ),
    (
        "--slab-thickness",
        "slab_thickness_mm",
        "design",
        "Slab reading: each item is a slab of this many mm from one volume, read in axial, coronal and "
        "sagittal views (0: no slab)",
    ),
    (
        "--slab-spacing",
        "slab_spacing_mm",
        "design",
        f"Slab reading: the z spacing in mm every slab is resampled at (default {DEFAULT_SLAB_SPACING_MM:g})",
    ),
    (
        "--task",
        "task",
        "design",
        f"The task: {', '.join(TASKS)} (single); 2afc shows a real and a synthetic slice",
    ),
    (
        "--washout-days",
        "washout_days",
        "design",
        f"Days before the second reading opens (with a repeat; 0..{MAX_WASHOUT_DAYS})",
    ),
    (
        "--catch-items",
        "catch_items",
        "design",
        f"Catch items: synthetic slices with a drawn artefact, for reader quality control (0..{MAX_CATCH_ITEMS})",
    ),
    (
        "--qc-min-catch-percent",
        "qc_min_catch_percent",
        "design",
        "Exclude readers below this catch accuracy (%)",
    ),
    (
        "--qc-min-median-seconds",
        "qc_min_median_seconds",
        "design",
        "Exclude readers faster than this median (s)",
    ),
    (
        "--qc-max-run",
        "qc_max_run",
        "design",
        "Exclude readers with more identical answers in a row than this",
    ),
]


class Command(BaseCommand):
    help = (
        "Create a draft survey for a model (a synthetic CT dataset): n real and n synthetic slices, balanced and "
        "stratified by axial layer, pre-rendered under the display policy. With --readers, print one "
        "invitation link per reader; with --open, open it (after the blinding audit passes). The admin's add "
        "page and POST /api/v1/surveys/ take the same options and refuse the same garbage with the same line."
    )

    def add_arguments(self, parser):
        for flag, option, _, help_text in SURVEY_FLAGS:
            parser.add_argument(flag, dest=option, default=None, help=help_text)
        parser.add_argument(
            "--allow-going-back", action="store_true", help="Readers may change earlier answers"
        )
        parser.add_argument(
            "--per-slice-field-of-view",
            action="store_true",
            help="Keep each slice's own field of view instead (can leak scale between real and synthetic)",
        )
        parser.add_argument(
            "--choice-from-rating",
            action="store_true",
            help="Derive real/synthetic/indeterminable from the rating instead of asking it",
        )
        parser.add_argument(
            "--no-confirm-contradictions",
            action="store_true",
            help="Do not ask readers to confirm a rating that leans against their chosen answer",
        )
        parser.add_argument(
            "--window-preset",
            action="append",
            default=[],
            metavar="NAME:WIDTH:LEVEL",
            help="A window preset (repeat for several, keys 1..9 in order); default: the five CT presets",
        )
        parser.add_argument("--repeat-all", action="store_true", help="A second reading of every item")
        parser.add_argument(
            "--repeat-subset", metavar="M", help="A second reading of M items (half of each truth)"
        )
        add_project_argument(
            parser, "the survey, which then uses its two datasets (default: the default project)"
        )
        parser.add_argument("--readers", type=positive_int, help="Create this many invitation links")
        parser.add_argument("--open", action="store_true", help="Open the survey (runs the blinding audit)")

    def handle(self, *args, **options):
        try:
            created = create_survey(
                options=survey_values(options), actor=None, project=named_project(options)
            )
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        survey = created.survey
        policy, design = survey.display_policy, survey.design
        self.stdout.write(
            f"Survey {survey.name!r} created (draft) in {survey.project.name!r}: {survey.real_count} real + {survey.synthetic_count} "
            f"synthetic items rendered at {policy.matrix_size}x{policy.matrix_size}"
            + (f", {design.stack_slices} slices each" if design.scrolls else "")
        )
        for note in created.policy_notes:
            self.stdout.write(note)
        self.stdout.write(f"study design: {design.describe()}")
        for note in created.notes:
            self.stdout.write(f"pool too small: {note}")
        if options["open"]:
            try:
                do_audit_and_open(survey=survey, actor=None)
            except StudyError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write("Blinding audit passed; the survey is open.")
        if options["readers"]:
            invitations = do_create_invitations(survey=survey, actor=None, count=options["readers"])
            for number, invitation in enumerate(invitations, start=1):
                self.stdout.write(f"reader {number}: {invitation_url(invitation)}")


def survey_values(options: dict) -> dict:
    """The survey options the flags give, named as studies.survey_input names them (values as typed)."""
    values = {"display_policy": {}, "design": {}}
    for _, option, where, _ in SURVEY_FLAGS:
        if options[option] is not None:
            (values[where] if where else values)[option] = options[option]
    if options["allow_going_back"]:
        values["allow_going_back"] = True
    if options["per_slice_field_of_view"]:
        values["display_policy"]["field_of_view"] = FIELD_OF_VIEW_PER_SLICE
    if options["choice_from_rating"]:
        values["design"]["choice_from_rating"] = True
    if options["no_confirm_contradictions"]:
        values["design"]["confirm_contradictions"] = False
    if options["window_preset"]:
        values["design"]["window_presets"] = options["window_preset"]
    if options["repeat_all"]:
        values["design"]["repeat"] = REPEAT_ALL
    if options["repeat_subset"] is not None:
        values["design"].setdefault("repeat", REPEAT_SUBSET)
        values["design"]["repeat_items"] = options["repeat_subset"]
    return values
