import argparse

from django.core.management.base import BaseCommand, CommandError

from imaging.constants import DEFAULT_CT_WINDOW, HU_MAX, HU_MIN, DatasetKind
from imaging.selectors import dataset_named, dataset_names
from studies.design import (
    MAX_PRACTICE_ITEMS,
    MAX_STACK_K,
    RATING_SCALES,
    REPEAT_ALL,
    REPEAT_OFF,
    REPEAT_SUBSET,
    DesignError,
    StudyDesign,
    parse_presets,
)
from studies.policy import (
    FIELD_OF_VIEW_PER_SLICE,
    FIELD_OF_VIEW_SURVEY,
    INTERPOLATIONS,
    MASKS,
    DisplayPolicy,
    PolicyError,
)
from studies.selectors import synthetic_datasets
from studies.services import (
    StudyError,
    create_survey,
    do_audit_and_open,
    do_create_invitations,
    invitation_url,
)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def seed_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 2**63 - 1")
    return value


def practice_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_PRACTICE_ITEMS:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0..{MAX_PRACTICE_ITEMS}")
    return value


def stack_k(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_STACK_K:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be 0 (one slice) or 1..{MAX_STACK_K} (a stack of 2k+1 slices)"
        )
    return value


class Command(BaseCommand):
    help = (
        "Create a draft survey for a model (a synthetic CT dataset): n real and n synthetic slices, balanced and "
        "stratified by axial layer, pre-rendered under the display policy. With --readers, print one "
        "invitation link per reader; with --open, open it (after the blinding audit passes)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Survey name (for the study team, not readers)")
        parser.add_argument("--model", required=True, help="Name of the synthetic CT dataset under test")
        parser.add_argument("--model-alias", default="", help="Short model name for reports")
        parser.add_argument(
            "--real-dataset", required=True, help="Name of a real CT dataset, same contrast kind"
        )
        parser.add_argument("--real", type=positive_int, required=True, help="Number of real slices")
        parser.add_argument(
            "--synthetic", type=positive_int, required=True, help="Number of synthetic slices"
        )
        parser.add_argument("--seed", type=seed_int, required=True, help="Seed of the slice selection")
        parser.add_argument("--readers", type=positive_int, help="Create this many invitation links")
        parser.add_argument("--reader-title", default="Reader study", help="Title readers see")
        parser.add_argument(
            "--allow-going-back", action="store_true", help="Readers may change earlier answers"
        )
        parser.add_argument(
            "--matrix", type=positive_int, default=512, help="Display matrix (pixels per side)"
        )
        parser.add_argument("--hu-min", type=int, default=HU_MIN, help="Bottom of the HU clip range")
        parser.add_argument("--hu-max", type=int, default=HU_MAX, help="Top of the HU clip range")
        parser.add_argument("--interpolation", choices=list(INTERPOLATIONS), default="bilinear")
        parser.add_argument("--mask", choices=list(MASKS), default="body")
        fov = parser.add_mutually_exclusive_group()
        fov.add_argument(
            "--field-of-view-mm",
            type=float,
            default=None,
            help="One square field of view (mm) for every item; default: the real CT's median, rounded up",
        )
        fov.add_argument(
            "--per-slice-field-of-view",
            action="store_true",
            help="Keep each slice's own field of view instead (can leak scale between real and synthetic)",
        )
        parser.add_argument(
            "--window-width", type=int, default=DEFAULT_CT_WINDOW.width, help="Default window"
        )
        parser.add_argument("--window-level", type=int, default=DEFAULT_CT_WINDOW.level, help="Default level")
        parser.add_argument(
            "--rating", choices=list(RATING_SCALES), default="none", help="Confidence rating on every item"
        )
        parser.add_argument(
            "--choice-from-rating",
            action="store_true",
            help="Derive real/synthetic/indeterminable from the rating instead of asking it",
        )
        parser.add_argument(
            "--window-preset",
            action="append",
            default=[],
            metavar="NAME:WIDTH:LEVEL",
            help="A window preset (repeat for several, keys 1..9 in order); default: the five CT presets",
        )
        parser.add_argument(
            "--practice-items",
            type=practice_count,
            default=0,
            help="Practice items read first with feedback (0..10), from slices that are not test items",
        )
        parser.add_argument(
            "--stack",
            type=stack_k,
            default=0,
            metavar="K",
            help="Stack reading: each item shows 2K+1 neighbouring slices of its volume (K = 1..5; 0: one slice)",
        )
        repeat = parser.add_mutually_exclusive_group()
        repeat.add_argument("--repeat-all", action="store_true", help="A second reading of every item")
        repeat.add_argument(
            "--repeat-subset",
            type=positive_int,
            metavar="M",
            help="A second reading of M items (half of each truth)",
        )
        parser.add_argument(
            "--washout-days", type=int, default=0, help="Days before the second reading opens (with a repeat)"
        )
        parser.add_argument("--open", action="store_true", help="Open the survey (runs the blinding audit)")

    def handle(self, *args, **options):
        model = self._dataset(options["model"], "model")
        real = self._dataset(options["real_dataset"], "real dataset")
        try:
            policy = DisplayPolicy(
                matrix_size=options["matrix"],
                hu_min=options["hu_min"],
                hu_max=options["hu_max"],
                interpolation=options["interpolation"],
                mask=options["mask"],
                field_of_view=(
                    FIELD_OF_VIEW_PER_SLICE if options["per_slice_field_of_view"] else FIELD_OF_VIEW_SURVEY
                ),
                field_of_view_mm=options["field_of_view_mm"],
                default_window_width=options["window_width"],
                default_window_level=options["window_level"],
            )
        except PolicyError as exc:
            raise CommandError(f"display policy: {exc}") from None
        try:
            presets = parse_presets("\n".join(p.replace(":", " ") for p in options["window_preset"]))
            design = StudyDesign(
                rating=options["rating"],
                choice_from_rating=options["choice_from_rating"],
                window_presets=presets or StudyDesign().window_presets,
                practice_items=options["practice_items"],
                repeat=(
                    REPEAT_ALL
                    if options["repeat_all"]
                    else REPEAT_SUBSET
                    if options["repeat_subset"]
                    else REPEAT_OFF
                ),
                repeat_items=options["repeat_subset"] or 0,
                washout_days=options["washout_days"],
                stack_k=options["stack"],
            )
        except DesignError as exc:
            raise CommandError(f"study design: {exc}") from None
        try:
            created = create_survey(
                name=options["name"],
                model_dataset=model,
                model_alias=options["model_alias"],
                real_dataset=real,
                real_count=options["real"],
                synthetic_count=options["synthetic"],
                seed=options["seed"],
                reader_title=options["reader_title"],
                allow_going_back=options["allow_going_back"],
                policy=policy,
                design=design,
            )
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        survey = created.survey
        self.stdout.write(
            f"Survey {survey.name!r} created (draft): {survey.real_count} real + {survey.synthetic_count} "
            f"synthetic items rendered at {policy.matrix_size}x{policy.matrix_size}"
            + (f", {design.stack_slices} slices each" if design.is_stack else "")
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

    def _dataset(self, name: str, role: str) -> object:
        dataset = dataset_named(name)
        if dataset is None:
            if role == "model":
                known = ", ".join(repr(d.name) for d in synthetic_datasets()) or "none"
                raise CommandError(f"no dataset named {name!r} (synthetic CT datasets: {known})")
            known = ", ".join(repr(name) for name in dataset_names(DatasetKind.REAL_CT)) or "none"
            raise CommandError(f"no dataset named {name!r} (real CT datasets: {known})")
        return dataset
