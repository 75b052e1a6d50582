"""Reads for reader studies: what a reader may reach, where they are, and how far every reader has got."""

import hashlib
import json
from dataclasses import dataclass

import numpy as np
from django.core.files.storage import default_storage
from django.db.models import Count, Q
from django.utils import timezone

from imaging.constants import DatasetKind
from imaging.pixels import load_slice_pixels
from imaging.selectors import datasets_of_kind, neighbouring_slices, slices_in_z_range, slices_of
from projects.models import Role
from projects.selectors import is_site_superuser, visible_to
from studies.design import StudyDesign
from studies.models import (
    Answer,
    Assignment,
    BlindingAudit,
    Invitation,
    Item,
    PracticeItem,
    ReadingRound,
    Survey,
)
from studies.policy import DisplayPolicy
from studies.quality import QualityAnswer, ReaderQuality, evaluate_reader
from studies.rendering import DisplayGeometry, decode_payload, render_stack, render_with_geometry
from studies.slabs import (
    SLAB_Z_INTERPOLATION,
    SlabGrid,
    SlabOutOfVolume,
    check_room,
    render_slab,
    source_window,
)


def assignment_for_reader(*, key: str, user) -> Assignment | None:
    """The reader's own assignment with this key; None for anyone else's (or none at all)."""
    if not user.is_authenticated:
        return None
    return Assignment.objects.select_related("survey").filter(key=key, reader=user).first()


def answered_item_ids(assignment: Assignment) -> set[int]:
    return set(assignment.answers.values_list("item_id", flat=True))


def first_unanswered(order, answered) -> int | None:
    """1-based position of the first item id of `order` not in `answered`; None when all are answered."""
    for position, item_id in enumerate(order or [], start=1):
        if item_id not in answered:
            return position
    return None


def next_position(assignment: Assignment, answered: set[int] | None = None) -> int | None:
    """1-based position of the first unanswered item in the reader's order; None when all are answered."""
    answered = answered_item_ids(assignment) if answered is None else answered
    return first_unanswered(assignment.item_order, answered)


def item_at(assignment: Assignment, position: int) -> Item | None:
    if not 1 <= position <= len(assignment.item_order):
        return None
    return Item.objects.filter(pk=assignment.item_order[position - 1], survey_id=assignment.survey_id).first()


def item_in_assignment(assignment: Assignment, public_id: str) -> Item | None:
    """The item with this public id if it belongs to the reader's assignment."""
    item = Item.objects.filter(public_id=public_id, survey_id=assignment.survey_id).first()
    if item is None or item.pk not in assignment.item_order:
        return None
    return item


def practice_answered_ids(assignment: Assignment) -> set[int]:
    return set(assignment.practice_answers.values_list("practice_item_id", flat=True))


def next_practice_position(assignment: Assignment) -> int | None:
    """1-based position of the first unanswered practice item; None when practice is over (or there is none)."""
    return first_unanswered(assignment.practice_order, practice_answered_ids(assignment))


def practice_item_at(assignment: Assignment, position: int) -> PracticeItem | None:
    order = assignment.practice_order or []
    if not 1 <= position <= len(order):
        return None
    return PracticeItem.objects.filter(pk=order[position - 1], survey_id=assignment.survey_id).first()


def practice_item_in_assignment(assignment: Assignment, public_id: str) -> PracticeItem | None:
    item = PracticeItem.objects.filter(public_id=public_id, survey_id=assignment.survey_id).first()
    if item is None or item.pk not in (assignment.practice_order or []):
        return None
    return item


def second_round(assignment: Assignment) -> ReadingRound | None:
    return assignment.rounds.filter(number=2).first()


def round_is_open(reading_round: ReadingRound, now=None) -> bool:
    """Whether the second reading may be read now: its wash-out is over (the audit's reader never waits)."""
    return reading_round.assignment.is_audit or (now or timezone.now()) >= reading_round.opens_at


def next_round_position(reading_round: ReadingRound) -> int | None:
    answered = set(reading_round.answers.values_list("item_id", flat=True))
    return first_unanswered(reading_round.item_order, answered)


def round_item_at(reading_round: ReadingRound, position: int) -> Item | None:
    if not 1 <= position <= len(reading_round.item_order):
        return None
    return Item.objects.filter(pk=reading_round.item_order[position - 1]).first()


def current_answer(assignment: Assignment, item: Item) -> Answer | None:
    return Answer.objects.filter(assignment=assignment, item=item).first()


def reader_assignments(user) -> list[Assignment]:
    """The reader's assignments, newest first, each with `answered` (first-reading answers) and `left` (slices of
    the first reading not answered yet)."""
    assignments = list(
        Assignment.objects.filter(reader=user)
        .select_related("survey")
        .annotate(answered=Count("answers"))
        .order_by("-created_at")
    )
    for assignment in assignments:
        assignment.left = max(assignment.total - assignment.answered, 0)
    return assignments


@dataclass(frozen=True)
class ReaderProgress:
    assignment: Assignment
    answered: int
    total: int

    @property
    def state(self) -> str:
        if self.assignment.completed_at:
            return "finished"
        if self.answered == 0:
            return "not started"
        return "in progress"


def survey_progress(survey: Survey) -> list[ReaderProgress]:
    """One row per reader of the survey, in the order they joined."""
    assignments = (
        Assignment.objects.filter(survey=survey)
        .select_related("reader", "reader__reader_profile")
        .annotate(answered=Count("answers"))
        .order_by("created_at", "id")
    )
    return [ReaderProgress(assignment=a, answered=a.answered, total=a.total) for a in assignments]


@dataclass(frozen=True)
class SurveyOverview:
    """Where a survey stands, for the head of its admin page and the API: readers' progress and the blinding audit."""

    rows: list[ReaderProgress]
    audit_is_current: bool  # the last audit saw exactly what the survey shows now
    latest_audit: BlindingAudit | None

    @property
    def counts(self) -> dict[str, int]:
        """Readers by state: `finished`, `in_progress`, `not_started`."""
        states = [row.state.replace(" ", "_") for row in self.rows]
        return {state: states.count(state) for state in ("finished", "in_progress", "not_started")}

    @property
    def answers(self) -> int:
        return sum(row.answered for row in self.rows)

    @property
    def audit_in_progress(self) -> bool:
        return self.latest_audit is not None and not self.latest_audit.is_finished


def survey_overview(survey: Survey) -> SurveyOverview:
    current = survey.last_audit_at is not None and survey.last_audit_fingerprint == rendering_fingerprint(
        survey
    )
    return SurveyOverview(
        rows=survey_progress(survey),
        audit_is_current=current,
        latest_audit=BlindingAudit.objects.filter(survey=survey).order_by("-created_at", "-id").first(),
    )


def quality_answers(survey: Survey) -> list[tuple[Assignment, tuple[QualityAnswer, ...]]]:
    """What reader quality control reads (studies.quality): every reader's (non-audit assignments with an answer)
    current answers, catch items included, in the reader's frozen order. The one place catch answers are read."""
    result = []
    assignments = Assignment.objects.filter(survey=survey, is_audit=False).select_related("reader")
    for assignment in assignments.order_by("created_at", "id"):
        position = {item_id: index for index, item_id in enumerate(assignment.item_order)}
        answers = sorted(
            assignment.answers.values_list("item_id", "choice", "seconds_on_slice", "item__catch"),
            key=lambda values: position.get(values[0], len(position)),
        )
        if answers:
            result.append(
                (
                    assignment,
                    tuple(QualityAnswer(choice, seconds, catch) for _, choice, seconds, catch in answers),
                )
            )
    return result


def flagged_readers(survey: Survey) -> list[tuple[Assignment, ReaderQuality]]:
    """The readers the survey's exclusion rules exclude so far, with why (for the admin's survey page); empty
    without rules."""
    rules = survey.design.quality_rules
    if not rules.any:
        return []
    evaluated = [
        (assignment, evaluate_reader(str(assignment.reader), answers, rules))
        for assignment, answers in quality_answers(survey)
    ]
    return [(assignment, quality) for assignment, quality in evaluated if quality.excluded]


def surveys_visible_to(user, *, at_least: str = Role.RESEARCHER):
    """The surveys of the projects where ``user`` holds ``at_least`` that role (all of them for a site
    superuser): the one door to surveys for every page, list, API endpoint, download and command."""
    return visible_to(Survey.objects.all(), user, at_least=at_least)


def surveys_with_counts(user):
    """The surveys ``user`` sees, with their reader and finished counts."""
    return (
        surveys_visible_to(user)
        .select_related("project", "model_dataset", "real_dataset")
        .annotate(
            reader_count=Count("assignments", distinct=True),
            finished_count=Count(
                "assignments", filter=Q(assignments__completed_at__isnull=False), distinct=True
            ),
        )
    )


def rows_of_visible_surveys(rows, user, *, field: str = "survey_ids"):
    """The rows of ``rows`` that name their surveys by id in ``field`` (a report, an archive) and whose every
    survey ``user`` sees; a row naming none is seen by its creator (and site superusers) only."""
    if is_site_superuser(user):
        return rows
    if not user.is_authenticated:
        return rows.none()
    visible = set(surveys_visible_to(user).values_list("pk", flat=True))
    keep = [
        pk
        for pk, ids, creator in rows.values_list("pk", field, "created_by")
        if (set(ids) <= visible if ids else creator == user.pk)
    ]
    return rows.filter(pk__in=keep)


def invitations(user):
    """The invitations of the surveys ``user`` sees, newest first (a queryset)."""
    return (
        visible_to(Invitation.objects.all(), user, through="survey__project")
        .select_related("survey")
        .order_by("-created_at", "-id")
    )


def blinding_audits(user):
    """The blinding audit jobs of the surveys ``user`` sees, newest first (a queryset)."""
    return BlindingAudit.visible_to(user).order_by("-created_at", "-id")


def survey_by_reference(reference: str, user) -> Survey | None:
    """A survey ``user`` sees, by its exact name, or by its id when the reference is a number."""
    surveys = surveys_visible_to(user)
    survey = surveys.filter(name=reference).first()
    if survey is None and reference.isdigit():
        survey = surveys.filter(pk=int(reference)).first()
    return survey


def synthetic_datasets():
    return datasets_of_kind(DatasetKind.SYNTHETIC_CT)


def source_pixels(slice_) -> tuple[np.ndarray, dict]:
    """A source slice's pixels and the spacing the display pipeline needs (`row_spacing_mm`, `column_spacing_mm`)."""
    volume = slice_.volume
    spacing = {"row_spacing_mm": volume.row_spacing_mm, "column_spacing_mm": volume.column_spacing_mm}
    return load_slice_pixels(slice_.pixels), spacing


def rendered_pixels(slice_, policy: DisplayPolicy) -> tuple[np.ndarray, DisplayGeometry]:
    """A source slice as readers would see it under the policy, and where its displayed square came from."""
    pixels, spacing = source_pixels(slice_)
    return render_with_geometry(pixels, policy=policy, **spacing)


class StackMissing(LookupError):
    """A centre slice whose volume lacks some of the stack's neighbours."""


def rendered_stack(slice_, policy: DisplayPolicy, stack_k: int) -> tuple[np.ndarray, DisplayGeometry]:
    """An item's slices as readers would see them: (2k+1, matrix, matrix) int16, the centre slice in the middle
    and its neighbours of the same volume around it, all under the centre slice's geometry; (1, matrix, matrix)
    for a single slice. Raises StackMissing when the volume has no slice at some offset."""
    if stack_k == 0:
        pixels, geometry = rendered_pixels(slice_, policy)
        return pixels[np.newaxis], geometry
    neighbours = neighbouring_slices(slice_, stack_k)
    if [s.index - slice_.index for s in neighbours] != list(range(-stack_k, stack_k + 1)):
        raise StackMissing(
            f"slice {slice_.index} of volume {slice_.volume.uid} has no {stack_k} neighbours on each side"
        )
    planes = [load_slice_pixels(s.pixels) for s in neighbours]
    volume = slice_.volume
    return render_stack(
        planes,
        policy=policy,
        row_spacing_mm=volume.row_spacing_mm,
        column_spacing_mm=volume.column_spacing_mm,
    )


@dataclass(frozen=True)
class SlabSource:
    """The source slices a slab around one item's slice is drawn from: their pixels (HU) and z, in patient order,
    the item slice's z and the volume's pixel spacing."""

    planes: list
    z_mm: list
    centre_z_mm: float
    row_spacing_mm: float
    column_spacing_mm: float
    volume_uid: str


def slab_source(slice_, grid: SlabGrid) -> SlabSource:
    """The slices of the item's volume a slab of `grid` around it reaches (and one spacing either side), read
    through imaging. Raises StackMissing (one line) when the volume cannot give the slab."""
    volume = slice_.volume
    every_z = [s.z_mm for s in slices_of(volume)]
    try:
        check_room(every_z, slice_.z_mm, grid)
        low, high = source_window(every_z, slice_.z_mm, grid)
    except SlabOutOfVolume as exc:
        raise StackMissing(f"slice {slice_.index} of volume {volume.uid}: {exc}") from None
    slices = slices_in_z_range(slice_, low, high)
    return SlabSource(
        planes=[load_slice_pixels(s.pixels) for s in slices],
        z_mm=[s.z_mm for s in slices],
        centre_z_mm=slice_.z_mm,
        row_spacing_mm=volume.row_spacing_mm,
        column_spacing_mm=volume.column_spacing_mm,
        volume_uid=str(volume.uid),
    )


def render_slab_source(
    source: SlabSource,
    grid: SlabGrid,
    policy: DisplayPolicy,
    *,
    z_interpolation: str = SLAB_Z_INTERPOLATION,
    only=None,
) -> tuple[np.ndarray, DisplayGeometry]:
    """:func:`studies.slabs.render_slab` of a slab source; StackMissing when the grid leaves its slices."""
    try:
        return render_slab(
            source.planes,
            source.z_mm,
            source.centre_z_mm,
            grid,
            row_spacing_mm=source.row_spacing_mm,
            column_spacing_mm=source.column_spacing_mm,
            policy=policy,
            z_interpolation=z_interpolation,
            only=only,
        )
    except SlabOutOfVolume as exc:
        raise StackMissing(f"volume {source.volume_uid}: {exc}") from None


def rendered_slab(
    slice_, policy: DisplayPolicy, design: StudyDesign, *, z_interpolation: str = SLAB_Z_INTERPOLATION
) -> tuple[np.ndarray, DisplayGeometry]:
    """An item's slab as readers would see it (studies.slabs): (n, matrix, matrix) int16, inferior first, centred
    in z on the item's slice and in-plane on the body of its middle plane. Raises StackMissing (one line) when the
    volume cannot give the slab. `z_interpolation` other than linear is for the audit's tests only."""
    grid = SlabGrid(design.slab_thickness_mm, design.slab_spacing_mm)
    return render_slab_source(slab_source(slice_, grid), grid, policy, z_interpolation=z_interpolation)


def rendered_item(slice_, policy: DisplayPolicy, design: StudyDesign) -> tuple[np.ndarray, DisplayGeometry]:
    """What an item's payload holds under the survey's design: its slab, its stack, or its one slice (as a stack of
    one), (slices, matrix, matrix) int16."""
    if design.is_slab:
        return rendered_slab(slice_, policy, design)
    return rendered_stack(slice_, policy, design.stack_k)


def items_as_shown(public_ids) -> dict[str, tuple[np.ndarray, DisplayPolicy]]:
    """What readers were sent for each item (by public id): the stored payload's slice readers answered for (a
    stack's centre slice) as int16 HU, and the survey's display policy (its default window). Items without a
    stored payload are left out."""
    items = Item.objects.filter(public_id__in=list(public_ids)).exclude(payload="").select_related("survey")
    shown = {}
    for item in items:
        policy, design = item.survey.display_policy, item.survey.design
        with default_storage.open(item.payload, "rb") as handle:
            stack = decode_payload(handle.read(), policy.matrix_size, design.stack_slices)
        shown[item.public_id] = (stack[design.centre_slice], policy)
    return shown


def rendering_fingerprint(survey: Survey) -> str:
    """What a blinding audit of the survey sees, as one sha256: the display policy, what readers are told, and every
    item (id, truth, layer and payload checksum). Any change to these makes an earlier audit stale."""
    items = sorted(survey.items.values_list("public_id", "truth", "axial_layer", "payload_sha256"))
    practice = sorted(survey.practice_items.values_list("public_id", "truth", "payload_sha256"))
    policy = survey.display_policy.to_dict() if survey.display_policy is not None else None
    content = {
        "policy": policy,
        "design": survey.design.to_dict(),
        "reader_title": survey.reader_title,
        "instructions": survey.instructions,
        "allow_going_back": survey.allow_going_back,
        "items": items,
        "practice_items": practice,
    }
    if survey.reader_title_it or survey.instructions_it:
        # Only when given, so the fingerprints of surveys without Italian text stay what they were.
        content["italian"] = [survey.reader_title_it, survey.instructions_it]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
