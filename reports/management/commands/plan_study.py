"""How many readers and items a reader study needs: the expected half-width of the OR confidence interval of
accuracy and the power of the equivalence test for a design, from assumed variance components or from a pilot
survey's GLMM estimates (readerstats.planning)."""

import math

from django.core.management.base import BaseCommand, CommandError

from projects.commands import acting_user, add_user_argument
from readerstats import (
    ASSUMED_CASE_SD,
    ASSUMED_READER_SD,
    EQUIVALENCE_MARGIN,
    SYNTHETIC,
    PlanningError,
    glmm_accuracy,
    plan_design,
    required_designs,
)
from reports import selectors


def _pilot_assumptions(name: str, user) -> tuple[dict, str]:
    surveys, missing = selectors.surveys_by_name([name], user)
    if missing:
        raise CommandError(f"no survey named {name!r}")
    rows = [row for row in selectors.answer_rows(surveys) if row.answer in ("real", SYNTHETIC)]
    if not rows:
        raise CommandError(f"pilot survey {name!r} has no definite answers to estimate from")
    fit = glmm_accuracy(
        [row.answer == row.truth for row in rows], [row.reader for row in rows], [row.item for row in rows]
    )
    if not fit.estimable:
        raise CommandError(f"pilot survey {name!r}: {fit.reason}")
    assumptions = dict(
        accuracy=fit.accuracy,
        reader_sd=math.sqrt(max(fit.reader_variance, 0.0)),
        case_sd=math.sqrt(max(fit.item_variance, 0.0)),
    )
    source = (
        f"from pilot survey {name!r} ({len(rows)} definite answers, GLMM by Laplace approximation): typical "
        f"accuracy {fit.accuracy:.3f}, reader SD {assumptions['reader_sd']:.2f}, item SD "
        f"{assumptions['case_sd']:.2f} (log-odds)"
    )
    return assumptions, source


class Command(BaseCommand):
    help = (
        "Plan a reader study: the expected OR RRRC 95% CI half-width of accuracy and the equivalence test's "
        "power for --readers and --items-per-side, and with --target-half-width or --target-power the fewest "
        "items per side for a range of reader counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--readers", type=int, default=8)
        parser.add_argument(
            "--items-per-side", type=int, default=20, help="real items, and as many synthetic"
        )
        parser.add_argument(
            "--accuracy", type=float, default=None, help="typical reader's accuracy (default 0.5)"
        )
        parser.add_argument(
            "--reader-sd", type=float, default=None, help=f"log-odds (default {ASSUMED_READER_SD})"
        )
        parser.add_argument(
            "--case-sd", type=float, default=None, help=f"log-odds (default {ASSUMED_CASE_SD})"
        )
        parser.add_argument(
            "--margin", type=float, default=EQUIVALENCE_MARGIN, help="equivalence: 0.5 +- margin"
        )
        parser.add_argument("--pilot", metavar="SURVEY", help="estimate accuracy and SDs from this survey")
        add_user_argument(parser)
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--target-half-width", type=float)
        target.add_argument("--target-power", type=float)

    def handle(self, *args, readers, items_per_side, accuracy, reader_sd, case_sd, margin, pilot, **options):
        if pilot:
            assumptions, source = _pilot_assumptions(pilot, acting_user(options))
        else:
            assumptions = dict(accuracy=0.5, reader_sd=ASSUMED_READER_SD, case_sd=ASSUMED_CASE_SD)
            source = (
                "assumed values, no pilot survey; they are assumptions, not published estimates "
                "(docs/statistics.md, Study planning, for their range and sensitivity)"
            )
        for name, value in (("accuracy", accuracy), ("reader_sd", reader_sd), ("case_sd", case_sd)):
            if value is not None:
                assumptions[name] = value
        try:
            plan = plan_design(readers, items_per_side, margin=margin, **assumptions)
            options_found = ()
            if options["target_half_width"] is not None or options["target_power"] is not None:
                options_found = required_designs(
                    target_half_width=options["target_half_width"],
                    target_power=options["target_power"],
                    margin=margin,
                    **assumptions,
                )
        except PlanningError as exc:
            raise CommandError(str(exc)) from None
        write = self.stdout.write
        write(f"Assumptions: {source}.")
        write(
            f"Typical accuracy {plan.accuracy:.3f}, population-average accuracy {plan.marginal_accuracy:.3f}; "
            f"reader SD {plan.reader_sd:.2f}, item SD {plan.case_sd:.2f} (log-odds)."
        )
        write(
            f"{plan.readers} readers x {plan.items_per_side} real + {plan.items_per_side} synthetic items: "
            f"expected 95% CI of accuracy +- {100 * plan.half_width:.1f} points (OR RRRC, ddf {plan.ddf:.1f}); "
            f"power of the equivalence test within 50% +- {100 * plan.margin:g} points: "
            f"{100 * plan.equivalence_power:.0f}%."
        )
        if options_found:
            target = (
                f"a CI half-width of at most {100 * options['target_half_width']:g} points"
                if options["target_half_width"] is not None
                else f"an equivalence power of at least {100 * options['target_power']:g}%"
            )
            write(f"Fewest items per side for {target}:")
            for option in options_found:
                if option.items_per_side is None:
                    write(
                        f"  {option.readers:3d} readers: out of reach (reader variability alone is too large)"
                    )
                else:
                    write(
                        f"  {option.readers:3d} readers: {option.items_per_side:4d} items per side "
                        f"(+- {100 * option.half_width:.1f} points, power {100 * option.equivalence_power:.0f}%)"
                    )
