"""Surveys: creating one (items selected and pre-rendered), changing a draft, opening, closing, renaming.

Each `do_*` function is one transaction that also writes its audit row."""

import hashlib
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from audit.services import record_event, user_or_none
from imaging.constants import DatasetKind
from imaging.selectors import (
    ct_slice_indices,
    ct_slice_z,
    dataset_named,
    dataset_names,
    fields_of_view_mm,
    layered_ct_slices,
    with_their_slices,
)
from imaging.services import share_dataset
from projects.access import RUN_SURVEYS
from projects.models import Project, Role
from projects.selectors import is_site_superuser, projects_of_user
from projects.services import ensure_default_project
from storage import StorageFailed, store_file
from studies.catch import draw_artefact, select_catch
from studies.design import StudyDesign
from studies.models import Item, PracticeItem, Survey, Truth
from studies.policy import DisplayPolicy, round_field_of_view
from studies.rendering import encode_payload
from studies.sampling import (
    Candidate,
    SelectionError,
    select_balanced,
    select_practice,
    stack_room_gaps,
    with_room_for_stack,
)
from studies.selectors import StackMissing, rendered_item, rendering_fingerprint
from studies.services.errors import StudyError
from studies.services.pairs import create_pairs
from studies.slabs import SlabGrid, slab_room_gaps, with_room_for_slab
from studies.survey_input import SurveyInput, parse_survey_input


@dataclass
class SurveyCreated:
    survey: Survey
    notes: list[str] = field(default_factory=list)  # where a pool was too small
    policy_notes: list[str] = field(default_factory=list)  # what the display policy chose


def check_survey_datasets(*, model_dataset, real_dataset) -> None:
    """Raise StudyError unless the model is synthetic CT and the real side is real CT of the same contrast kind."""
    if model_dataset.kind != DatasetKind.SYNTHETIC_CT:
        raise StudyError(
            f"dataset {model_dataset.name!r} is {model_dataset.get_kind_display()}, not synthetic CT "
            "(the model under test must be a synthetic CT dataset)"
        )
    if real_dataset.kind != DatasetKind.REAL_CT:
        raise StudyError(f"dataset {real_dataset.name!r} is {real_dataset.get_kind_display()}, not real CT")
    if model_dataset.contrast_enhanced is None:
        raise StudyError(f"model {model_dataset.name!r} does not say whether its CT is contrast-enhanced")
    if real_dataset.contrast_enhanced != model_dataset.contrast_enhanced:
        model_kind = "contrast-enhanced" if model_dataset.contrast_enhanced else "non-contrast"
        real_kind = {True: "contrast-enhanced", False: "non-contrast", None: "unspecified"}[
            real_dataset.contrast_enhanced
        ]
        raise StudyError(
            f"real dataset {real_dataset.name!r} is {real_kind} CT but model {model_dataset.name!r} makes "
            f"{model_kind} CT; choose real CT of the same contrast kind"
        )


def _candidates(dataset) -> list[Candidate]:
    return [
        Candidate(slice_id=s.slice_id, volume_key=s.volume_key, index=s.index, layer=s.layer, z_mm=s.z_mm)
        for s in layered_ct_slices(dataset)
    ]


def _slab_candidates(
    *, real_dataset, model_dataset, design: StudyDesign
) -> tuple[list[Candidate], list[Candidate], list[str]]:
    """The real and synthetic candidates a slab of the design fits around in their own volume (a synthetic slab
    comes from its whole synthetic volume: every slice generated from the MRI volume, in patient order), and a
    line for each layer both pools cover that one of them cannot give a slab in. A pool with no such slice at all
    is refused in one line."""
    grid = SlabGrid(design.slab_thickness_mm, design.slab_spacing_mm)
    pools = {}
    for dataset in (real_dataset, model_dataset):
        candidates = _candidates(dataset)
        room = with_room_for_slab(candidates, ct_slice_z(dataset), grid)
        if candidates and not room:
            raise StudyError(
                f"dataset {dataset.name!r} has no volume that covers a {design.slab_thickness_mm} mm slab "
                "(each slab needs its volume's slices on both sides of its centre slice, without gaps)"
            )
        pools[repr(dataset.name)] = (candidates, room)
    (_, real_room), (_, synthetic_room) = pools.values()
    return real_room, synthetic_room, slab_room_gaps(pools, grid)


def _stack_candidates(
    *, real_dataset, model_dataset, stack_k: int
) -> tuple[list[Candidate], list[Candidate], list[str]]:
    """The real and synthetic candidates that leave room for `stack_k` neighbours on both sides in their own
    volume (a synthetic slice's neighbours are its synthetic volume's: made from the neighbouring MRI slices by
    the same checkpoint, or imported with it), and a line for each layer both pools cover that one of them
    cannot give with room for the stack."""
    real, synthetic = _candidates(real_dataset), _candidates(model_dataset)
    if stack_k == 0:
        return real, synthetic, []
    pools = {
        repr(dataset.name): (candidates, with_room_for_stack(candidates, ct_slice_indices(dataset), stack_k))
        for dataset, candidates in ((real_dataset, real), (model_dataset, synthetic))
    }
    (_, real_room), (_, synthetic_room) = pools.values()
    return real_room, synthetic_room, stack_room_gaps(pools, stack_k)


def choose_field_of_view(policy: DisplayPolicy, real_dataset) -> tuple[DisplayPolicy, list[str]]:
    """The policy with its field of view chosen: when the survey shows one field of view and none was given,
    the real pool's median field of view, rounded up. Returns the policy and a note saying what was chosen."""
    if policy.is_resolved:
        return policy, []
    fields = fields_of_view_mm(real_dataset)
    if not fields:
        raise StudyError(
            f"real dataset {real_dataset.name!r} has no CT volume to choose a field of view from"
        )
    median = float(np.median(fields))
    chosen = policy.replace(field_of_view_mm=round_field_of_view(median))
    return chosen, [
        f"field of view {chosen.field_of_view_mm:g} mm for every item ({chosen.mm_per_pixel:.3f} mm per "
        f"displayed pixel), from the median field of view of {real_dataset.name!r} ({median:.0f} mm)"
    ]


def _dataset(name: str, kind: str, user):
    """The dataset a survey option names (one of those ``user`` sees, for a signed-in user); StudyError naming the
    datasets of the kind it should be otherwise."""
    dataset = dataset_named(name, user=user)
    if dataset is None:
        names = dataset_names(kind, user=user)
        known = ", ".join(repr(other) for other in names[:10]) or "none"
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        what = "synthetic CT" if kind == DatasetKind.SYNTHETIC_CT else "real CT"
        raise StudyError(f"no dataset named {name!r} ({what} datasets: {known}{more})")
    return dataset


def create_survey(
    *, options: SurveyInput | Mapping, actor=None, project: Project | None = None
) -> SurveyCreated:
    """A draft survey with its items selected (balanced, stratified by axial layer) and pre-rendered.

    `options` is the one survey input (studies.survey_input.SurveyInput), or the values a door received, parsed
    here by `parse_survey_input`: the admin's add page, `manage.py create_survey` and the API all come through
    this function, so they take the same options and refuse the same garbage with the same line (StudyError).
    The survey belongs to ``project`` (the default project when none is named), which from then on uses its two
    datasets."""
    options = options if isinstance(options, SurveyInput) else parse_survey_input(options)
    name, design = options.name, options.design
    real_count, synthetic_count, seed = options.real, options.synthetic, options.seed
    if Survey.objects.filter(name=name).exists():
        raise StudyError(f"a survey named {name!r} already exists")
    signed_in = user_or_none(actor)
    if signed_in is not None and not is_site_superuser(signed_in):
        if project is None:
            mine = list(projects_of_user(signed_in, at_least=Role.STUDY_ADMIN)[:2])
            if len(mine) != 1:
                raise StudyError(
                    "name the project of the survey: you are a study admin of "
                    + ("several projects" if mine else "no project")
                )
            project = mine[0]
        elif not signed_in.has_perm(RUN_SURVEYS, project):
            raise StudyError(f"{signed_in.get_username()} is not a study admin of project {project.name!r}")
    model_dataset = _dataset(options.model, DatasetKind.SYNTHETIC_CT, signed_in)
    real_dataset = _dataset(options.real_dataset, DatasetKind.REAL_CT, signed_in)
    check_survey_datasets(model_dataset=model_dataset, real_dataset=real_dataset)
    policy, policy_notes = choose_field_of_view(options.display_policy, real_dataset)
    if design.is_slab:
        real_candidates, synthetic_candidates, stack_gaps = _slab_candidates(
            real_dataset=real_dataset, model_dataset=model_dataset, design=design
        )
    else:
        real_candidates, synthetic_candidates, stack_gaps = _stack_candidates(
            real_dataset=real_dataset, model_dataset=model_dataset, stack_k=design.stack_k
        )
    try:
        selection = select_balanced(
            real=real_candidates, synthetic=synthetic_candidates, per_side=real_count, seed=seed
        )
    except SelectionError as exc:
        if stack_gaps:
            more = f" (and {len(stack_gaps) - 1} more layer(s))" if len(stack_gaps) > 1 else ""
            raise StudyError(f"{stack_gaps[0]}{more}; {exc}") from None
        stack = (
            f" with room for a stack of {design.stack_slices} ({design.stack_k} neighbours each side)"
            if design.is_stack
            else f" with room for a {design.slab_thickness_mm} mm slab"
            if design.is_slab
            else ""
        )
        raise StudyError(
            f"cannot select items{stack} from {real_dataset.name!r} and {model_dataset.name!r}: {exc}"
        ) from None
    chosen = [(c.slice_id, Truth.REAL, c.layer) for c in selection.real]
    chosen += [(c.slice_id, Truth.SYNTHETIC, c.layer) for c in selection.synthetic]
    try:
        practice = select_practice(
            real=real_candidates,
            synthetic=synthetic_candidates,
            exclude={slice_id for slice_id, _, _ in chosen},
            count=design.practice_items,
            seed=seed,
        )
    except SelectionError as exc:
        raise StudyError(f"cannot select practice items: {exc}") from None
    try:
        catch = select_catch(
            synthetic=synthetic_candidates,
            exclude={slice_id for slice_id, _, _ in chosen} | {c.slice_id for _, c in practice},
            count=design.catch_items,
            seed=seed,
        )
    except SelectionError as exc:
        raise StudyError(f"cannot select catch items: {exc}") from None
    selection.notes += [f"{gap}; the items come from the other layers" for gap in stack_gaps]
    practice_rows = [(c.slice_id, side, c.layer) for side, c in practice]
    # Catch items are item rows like the others (same order, answers and pipeline), marked `catch`.
    chosen = [(pk, truth, layer, False) for pk, truth, layer in chosen]
    chosen += [(c.slice_id, Truth.SYNTHETIC, c.layer, True) for c in catch]
    # Rows are created in a random order, so nothing about the truth follows from creation order.
    random.SystemRandom().shuffle(chosen)
    random.SystemRandom().shuffle(practice_rows)
    written: list[str] = []
    try:
        with transaction.atomic():
            project = project or ensure_default_project(actor=actor)
            survey = Survey.objects.create(
                name=name,
                project=project,
                model_dataset=model_dataset,
                model_alias=(options.model_alias or model_dataset.name)[:64],
                real_dataset=real_dataset,
                real_count=real_count,
                synthetic_count=synthetic_count,
                seed=seed,
                reader_title=options.reader_title,
                instructions=options.instructions,
                reader_title_it=options.reader_title_it,
                instructions_it=options.instructions_it,
                allow_going_back=options.allow_going_back,
                display_policy=policy,
                design=design,
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
            Item.objects.bulk_create(
                [
                    Item(survey=survey, slice_id=pk, truth=truth, axial_layer=layer, catch=is_catch)
                    for pk, truth, layer, is_catch in chosen
                ]
            )
            PracticeItem.objects.bulk_create(
                [
                    PracticeItem(survey=survey, slice_id=pk, truth=truth, axial_layer=layer)
                    for pk, truth, layer in practice_rows
                ]
            )
            if design.is_two_afc:
                create_pairs(survey)
            _render_items(survey, written)
            record_event(
                actor=actor,
                verb="survey.created",
                target=survey,
                details={
                    "model_dataset": model_dataset.name,
                    "real_dataset": real_dataset.name,
                    "per_side": real_count,
                    "seed": seed,
                    "per_layer": {str(k): v for k, v in selection.per_layer.items()},
                    "practice_items": len(practice_rows),
                    "catch_items": len(catch),
                    "display_policy": policy.to_dict(),
                    "design": design.to_dict(),
                    "notes": selection.notes + policy_notes,
                    "project": project.name,
                },
            )
            share_dataset(dataset=model_dataset, project=project, actor=actor)
            share_dataset(dataset=real_dataset, project=project, actor=actor)
    except BaseException:
        _delete_files(written)
        raise
    return SurveyCreated(survey=survey, notes=selection.notes, policy_notes=policy_notes)


def _render_items(survey: Survey, written: list[str]) -> None:
    """Render every item and practice item of the survey through its display policy into new payload files (one
    pipeline, one storage layout for both; a stack is one file of its 2k+1 slices), adding each file's name to
    `written` as soon as it is stored (so the caller deletes them all when a later one fails). Storage raising is a
    StudyError (one line)."""
    policy, design = survey.display_policy, survey.design
    for model, rows in (
        (Item, with_their_slices(survey.items.all())),
        (PracticeItem, with_their_slices(survey.practice_items.all())),
    ):
        items = list(rows)
        for item in items:
            try:
                pixels, _ = rendered_item(item.slice, policy, design)
            except StackMissing as exc:
                raise StudyError(str(exc)) from None
            if getattr(item, "catch", False):
                pixels = draw_artefact(pixels, low=policy.hu_min, high=policy.hu_max)
            payload = encode_payload(pixels)
            if len(payload) != survey.payload_bytes:
                raise StudyError(f"rendering gave {len(payload)} bytes instead of {survey.payload_bytes}")
            try:
                name = store_file(f"survey-items/{survey.pk}/{secrets.token_hex(16)}.i16", payload)
            except StorageFailed as exc:
                raise StudyError(f"cannot store the rendered pixels: {exc}") from None
            written.append(name)
            item.payload = name
            item.payload_sha256 = hashlib.sha256(payload).hexdigest()
        model.objects.bulk_update(items, ["payload", "payload_sha256"])
    Survey.objects.filter(pk=survey.pk).update(rendered_at=timezone.now())
    survey.rendered_at = timezone.now()


def _delete_files(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


READER_SETTINGS = ("reader_title", "instructions", "reader_title_it", "instructions_it", "allow_going_back")


def do_change_survey_settings(
    *,
    survey: Survey,
    actor,
    policy: DisplayPolicy | None = None,
    design: StudyDesign | None = None,
    **reader_settings,
) -> Survey:
    """Change a draft survey's display policy, study design or reader-facing settings; a policy change renders
    every item again under the new policy."""
    unknown = set(reader_settings) - set(READER_SETTINGS)
    if unknown:
        raise StudyError(f"these cannot be changed: {', '.join(sorted(unknown))}")
    written: list[str] = []
    try:
        with transaction.atomic():
            survey = (
                Survey.objects.select_for_update(of=("self",))
                .select_related("real_dataset")
                .get(pk=survey.pk)
            )
            if not survey.is_draft:
                raise StudyError(f"survey {survey.name!r} is {survey.status}; its settings are frozen")
            changed = {
                name: value for name, value in reader_settings.items() if getattr(survey, name) != value
            }
            if policy is not None:
                if policy.per_slice_field_of_view and (design or survey.design).is_slab:
                    raise StudyError(
                        "slab reading needs one field of view for the survey (display policy field_of_view "
                        "'survey'), so every slab has the same mm per pixel"
                    )
                policy, _ = choose_field_of_view(policy, survey.real_dataset)
                if policy != survey.display_policy:
                    changed["display_policy"] = policy
            if design is not None and design != survey.design:
                if design.practice_items != survey.design.practice_items:
                    raise StudyError(
                        "the practice items are chosen when the survey is created; create a new survey for "
                        "another number of practice items"
                    )
                if design.catch_items != survey.design.catch_items:
                    raise StudyError(
                        "the catch items are chosen when the survey is created; create a new survey for "
                        "another number of catch items"
                    )
                if design.stack_k != survey.design.stack_k:
                    raise StudyError(
                        "the stack is chosen when the survey is created (its items need room for the "
                        "neighbours); create a new survey for another stack"
                    )
                if (design.slab_thickness_mm, design.slab_spacing_mm) != (
                    survey.design.slab_thickness_mm,
                    survey.design.slab_spacing_mm,
                ):
                    raise StudyError(
                        "the slab is chosen when the survey is created (its items need room for it in their "
                        "volumes); create a new survey for another slab"
                    )
                if design.task != survey.design.task:
                    raise StudyError(
                        "the task is chosen when the survey is created (a 2afc survey's items are paired then); "
                        "create a new survey for another task"
                    )
                changed["design"] = design
            if not changed:
                return survey
            for name, value in changed.items():
                setattr(survey, name, value)
            if not (survey.reader_title or "").strip():
                raise StudyError("readers need a title for the survey")
            if survey.design.is_two_afc and survey.allow_going_back:
                raise StudyError("a 2afc task keeps each pair's first answer: allow_going_back must be false")
            if survey.design.has_exposure and survey.allow_going_back:
                raise StudyError(
                    "a time-limited exposure shows each image once: allow_going_back must be false"
                )
            survey.last_audit_passed = None
            survey.last_audit_fingerprint = ""
            survey.save()
            if "display_policy" in changed:
                old = list(survey.items.values_list("payload", flat=True))
                old += list(survey.practice_items.values_list("payload", flat=True))
                _render_items(survey, written)
                transaction.on_commit(lambda: _delete_files(old))
            record_event(
                actor=actor,
                verb="survey.settings_changed",
                target=survey,
                details={
                    name: value.to_dict() if isinstance(value, DisplayPolicy | StudyDesign) else value
                    for name, value in sorted(changed.items())
                },
            )
    except BaseException:
        _delete_files(written)
        raise
    return survey


def do_open_survey(*, survey: Survey, actor) -> Survey:
    """Open a draft survey to its readers: a quick state change that needs a passing blinding audit of exactly
    what the survey shows now (its rendering fingerprint); StudyError otherwise."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if not survey.is_draft:
            raise StudyError(f"survey {survey.name!r} is {survey.status}, not a draft; it cannot be opened")
        current = rendering_fingerprint(survey)
        if survey.last_audit_fingerprint != current or survey.last_audit_passed is None:
            raise StudyError(
                f"survey {survey.name!r} stays a draft: run the blinding audit of its current items first"
            )
        if not survey.last_audit_passed:
            leaks = [line for line in survey.last_audit_report.splitlines() if line.startswith("LEAK")]
            first = f"; first: {leaks[0].removeprefix('LEAK ')}" if leaks else ""
            raise StudyError(
                f"survey {survey.name!r} stays a draft: the blinding audit found {len(leaks)} leak(s){first}"
            )
        survey.status = Survey.Status.OPEN
        survey.opened_at = timezone.now()
        survey.save(update_fields=["status", "opened_at"])
        record_event(actor=actor, verb="survey.opened", target=survey, details={"fingerprint": current})
    return survey


def do_close_survey(*, survey: Survey, actor) -> Survey:
    """Close an open survey: readers can no longer answer; what they answered stays as it is."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if not survey.is_open:
            raise StudyError(f"survey {survey.name!r} is {survey.status}; only an open survey can be closed")
        survey.status = Survey.Status.CLOSED
        survey.closed_at = timezone.now()
        survey.save(update_fields=["status", "closed_at"])
        record_event(actor=actor, verb="survey.closed", target=survey, details={})
    return survey


def do_rename_survey(*, survey: Survey, actor, name: str) -> Survey:
    """Give a survey a new name (readers never see it); everything it holds stays as it is."""
    name = (name or "").strip()[:128]
    if not name:
        raise StudyError("a survey needs a name")
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if Survey.objects.filter(name=name).exclude(pk=survey.pk).exists():
            raise StudyError(f"a survey named {name!r} already exists")
        old, survey.name = survey.name, name
        survey.save(update_fields=["name"])
        record_event(actor=actor, verb="survey.renamed", target=survey, details={"from": old, "to": name})
    return survey
