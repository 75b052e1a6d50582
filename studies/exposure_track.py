"""Time-limited exposure on the server: what each of a reader's items is shown for, and what an answer's measured
exposure is worth. Selectors over a reader's answers; the rule itself is the pure `studies.exposure`.

The requested exposure of a reader's next item is decided here, from the survey's design and the correctness of
the reader's earlier test answers in their frozen order (the staircase's track); it never reads the item about to
be shown. Practice items are shown at the start of the staircase (or the fixed exposure), the second reading of a
repeat at the level the first reading ended on.
"""

from __future__ import annotations

from studies.design import EXPOSURE_FIXED, EXPOSURE_STAIRCASE, StudyDesign
from studies.exposure import Track, exposure_accepted, mask_seed, run_staircase
from studies.models import Answer, Assignment


def staircase_track(assignment: Assignment) -> Track | None:
    """The reader's staircase after their test answers so far (None unless the survey has a staircase)."""
    rule = assignment.survey.design.staircase
    if rule is None:
        return None
    position = {item_id: index for index, item_id in enumerate(assignment.item_order or [])}
    answers = sorted(
        Answer.objects.filter(assignment=assignment).values_list(
            "item_id", "choice", "item__truth", "exposure_rejected"
        ),
        key=lambda row: position.get(row[0], len(position)),
    )
    return run_staircase(rule, ((choice == truth, not rejected) for _, choice, truth, rejected in answers))


def requested_exposure_ms(assignment: Assignment) -> int | None:
    """The exposure (ms) the reader's next item is shown for; None without a time-limited exposure."""
    design = assignment.survey.design
    if design.exposure == EXPOSURE_FIXED:
        return design.exposure_ms
    if design.exposure == EXPOSURE_STAIRCASE:
        return staircase_track(assignment).next_ms
    return None


def exposure_config(assignment: Assignment) -> dict:
    """What the reader's page needs about the exposure: the same keys for every item of every survey, the values
    from the design, the reader's earlier answers and the survey (the mask's seed), never from the item."""
    design: StudyDesign = assignment.survey.design
    survey = assignment.survey
    return {
        "mode": design.exposure,
        "requestedMs": requested_exposure_ms(assignment),
        "maskSeed": mask_seed(f"{survey.pk}:{survey.seed}") if design.has_exposure else None,
    }


def exposure_fields(assignment: Assignment, measured_ms: float | None) -> dict:
    """The exposure an answer stores: requested (decided again here, under the reader's lock), measured, and
    whether the measurement was refused (off by more than two frames); empty without an exposure."""
    requested = requested_exposure_ms(assignment)
    if requested is None or measured_ms is None:
        return {}
    return {
        "exposure_requested_ms": requested,
        "exposure_measured_ms": measured_ms,
        "exposure_rejected": not exposure_accepted(requested, measured_ms),
    }


def rejected_exposures(assignment: Assignment) -> int:
    """How many of the reader's test answers had their measured exposure refused."""
    return Answer.objects.filter(assignment=assignment, exposure_rejected=True).count()
