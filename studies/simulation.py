"""Simulated readers: accounts that join a survey by invitation and answer every item through the same
services a real reader's page uses. For demos and for exercising reports; never mixed into a real study
without being recognisable (their usernames start with SIMULATED_PREFIX)."""

import dataclasses
import math
import uuid

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from studies.exposure_track import requested_exposure_ms
from studies.models import Item, ItemPair, ReaderProfile, Survey
from studies.services import (
    AnswerInput,
    StudyError,
    do_accept_invitation,
    do_answer_pair,
    do_complete_assignment,
    do_create_invitations,
    do_register_reader,
    do_submit_answer,
    do_submit_practice_answer,
    do_update_reader_profile,
)
from studies.slabs import VIEWS

SIMULATED_PREFIX = "simulated-reader"
# With a time-limited exposure, a simulated reader's skill grows with the exposure t as 1 - exp(-t / tau): at
# tau they have 63 % of their unlimited-time skill. Their threshold so follows the model's realism: the less skill
# a model leaves them (the more realistic it is), the longer the exposure they need.
EXPOSURE_TIME_CONSTANT_MS = 250.0
# How far a simulated page's measured exposure falls from the requested one (ms, uniform), within a frame.
EXPOSURE_JITTER_MS = 8.0
PRESET_WINDOWS = [(400, 40), (150, 90), (1500, -600), (2500, 480), (350, 50)]
REASONS = {
    "real": ["natural noise texture", "bone trabeculae look right", "organ borders are plausible", ""],
    "synthetic": ["texture too smooth", "unrealistic kidney shape", "noise pattern looks artificial", ""],
    "indeterminable": ["hard to say at this level", ""],
}
# Catch items (studies.catch) carry a plainly visible artefact: an attentive reader sees it whatever their skill.
CATCH_SKILL = 0.96


def simulate_readers(
    survey: Survey, n: int, seed: int, skill: float, *, careless: int = 0, actor=None
) -> list:
    """`n` simulated readers answer every item of an open survey; returns their assignments.

    `skill` in [0, 1] is how far above chance a reader is: each real/synthetic answer is correct with
    probability 0.5 + skill / 2, and about one answer in ten is "indeterminable". The same seed gives the
    same answers to the same slices. Catch items are answered as an attentive reader does (indeterminable one time in
    a hundred, else correct with probability 0.5 + CATCH_SKILL / 2, whatever `skill`). The last `careless` of the `n` readers click through: "real" on
    every item, catch items included, in 0.3..0.8 s each (reader quality control should exclude them). With a
    time-limited exposure the skill shrinks with the exposure each item
    is requested at (EXPOSURE_TIME_CONSTANT_MS), and the answer carries a measured exposure close to it; the
    answers are then drawn as the reader reaches each item, since the staircase sets the next exposure.
    Readers are registered (`do_register_reader`), join through invitations and answer through `do_submit_answer`,
    like real ones, each step with its audit row.
    """
    if not 0.0 <= skill <= 1.0:
        raise StudyError(f"skill must be between 0 and 1, not {skill}")
    if not 1 <= n <= 200:
        raise StudyError(f"simulate 1..200 readers, not {n}")
    if not 0 <= careless <= n:
        raise StudyError(f"careless readers must be 0..{n}, not {careless}")
    survey.refresh_from_db()
    if not survey.is_open:
        raise StudyError(f"survey {survey.name!r} is {survey.status}; simulated readers need an open survey")
    items = list(Item.objects.filter(survey=survey).order_by("slice_id"))
    items_by_pk = {item.pk: item for item in items}
    User = get_user_model()
    existing = User.objects.filter(username__startswith=f"{SIMULATED_PREFIX}-{survey.pk}-").count()
    # Readers added later to the same survey draw from their own stream, not the first readers' again.
    rng = np.random.default_rng([seed, existing])
    assignments = []
    for number in range(existing + 1, existing + n + 1):
        with transaction.atomic():
            reader = do_register_reader(username=f"{SIMULATED_PREFIX}-{survey.pk}-{number}", actor=actor)
            invitation = do_create_invitations(survey=survey, actor=actor, count=1, label="simulated reader")[
                0
            ]
            assignment = do_accept_invitation(token=invitation.token, reader=reader)
            do_update_reader_profile(
                user=reader,
                specialty=str(
                    rng.choice(
                        [ReaderProfile.Specialty.RADIATION_ONCOLOGY, ReaderProfile.Specialty.RADIOLOGY]
                    )
                ),
                years_of_experience=int(rng.integers(1, 30)),
            )
            # Answers are drawn in slice order (stable for a seed) and given in the reader's own order.
            drawn = {item.pk: _answer(item.truth, skill, rng, catch=item.catch) for item in items}
            if number > existing + n - careless:
                drawn = {
                    pk: dataclasses.replace(
                        answer,
                        choice="real",
                        reason="",
                        seconds_on_slice=float(np.round(rng.uniform(0.3, 0.8), 2)),
                    )
                    for pk, answer in drawn.items()
                }
            if survey.design.is_slab:
                drawn = {pk: _with_slab_views(answer, rng) for pk, answer in drawn.items()}
            # Practice items first, as readers do (their answers never enter the statistics).
            practice = {p.pk: p for p in survey.practice_items.all()}
            for practice_item in (practice[pk] for pk in assignment.practice_order):
                do_submit_practice_answer(
                    assignment=assignment,
                    practice_item=practice_item,
                    data=_answer(
                        practice_item.truth, skill, rng, exposure_ms=requested_exposure_ms(assignment)
                    ),
                )
            if survey.design.is_two_afc:  # 2AFC: the pairs, not the items one by one
                simulate_pair_answers(assignment, skill, rng)
                assignments.append(do_complete_assignment(assignment=assignment))
                continue
            timed = survey.design.has_exposure
            for item_id in assignment.item_order:
                item = items_by_pk[item_id]
                if timed:
                    data = _answer(item.truth, skill, rng, exposure_ms=requested_exposure_ms(assignment))
                else:
                    data = drawn[item_id]
                do_submit_answer(assignment=assignment, item=item, data=data)
            assignments.append(do_complete_assignment(assignment=assignment))
    return assignments


def simulate_pair_answers(assignment, skill: float, rng: np.random.Generator) -> None:
    """A simulated reader answers every pair of their 2AFC plan, in order, through the pair answer service: the real
    side with probability 0.5 + skill / 2 (so their proportion correct follows the model's realism as their
    single-image accuracy does), a confidence 1..5 that grows with it where the survey asks one."""
    pairs = dict(
        ItemPair.objects.filter(pk__in=[p for p, _ in assignment.pair_plan]).values_list("pk", "public_id")
    )
    asks = assignment.survey.design.has_rating
    for pair_id, real_side in assignment.pair_plan:
        right = bool(rng.random() < 0.5 + skill / 2)
        side = real_side if right else ("right" if real_side == "left" else "left")
        values = {"side": side, "seconds": round(float(rng.gamma(4.0, 1.5)), 2)}
        if asks:
            values["confidence"] = int(
                np.clip(round(1 + 4 * skill * rng.random() + (1 if right else 0)), 1, 5)
            )
        do_answer_pair(assignment=assignment, pair_id=pairs[pair_id], values=values)


def exposure_skill(skill: float, exposure_ms: float) -> float:
    """A simulated reader's skill when the image is on screen for `exposure_ms`."""
    return skill * (1 - math.exp(-exposure_ms / EXPOSURE_TIME_CONSTANT_MS))


def _with_slab_views(answer: AnswerInput, rng: np.random.Generator) -> AnswerInput:
    """A slab answer: the axial view, then one or both reformats, the answer's seconds shared among them."""
    used = ("axial", *(("coronal", "sagittal") if rng.random() < 0.5 else ("sagittal", "coronal")))
    used = used[: 1 + int(rng.integers(3))]
    shares = rng.dirichlet(np.ones(len(used)))
    seconds = dict(zip(used, shares * answer.seconds_on_slice, strict=True))
    return dataclasses.replace(
        answer,
        views_used=used,
        seconds_per_view=tuple(round(float(seconds.get(view, 0.0)), 3) for view in VIEWS),
    )


def _answer(
    truth: str,
    skill: float,
    rng: np.random.Generator,
    *,
    catch: bool = False,
    exposure_ms: int | None = None,
) -> AnswerInput:
    if catch:
        skill = CATCH_SKILL
    elif exposure_ms is not None:
        skill = exposure_skill(skill, exposure_ms)
    if rng.random() < (0.01 if catch else 0.1):
        choice = "indeterminable"
    elif rng.random() < 0.5 + skill / 2:
        choice = truth
    else:
        choice = "synthetic" if truth == "real" else "real"
    changed = bool(rng.random() < 0.4)
    width, level = PRESET_WINDOWS[int(rng.integers(len(PRESET_WINDOWS)))] if changed else PRESET_WINDOWS[0]
    reasons = REASONS[choice]
    return AnswerInput(
        choice=choice,
        reason=reasons[int(rng.integers(len(reasons)))],
        seconds_on_slice=float(np.round(rng.lognormal(mean=2.5, sigma=0.5), 2)),
        window_width=float(width),
        window_level=float(level),
        zoom=float(rng.choice([1.0, 1.0, 1.5, 2.0])),
        window_changed=changed and (width, level) != PRESET_WINDOWS[0],
        client_key=uuid.UUID(bytes=rng.bytes(16), version=4),
        exposure_measured_ms=(
            None
            if exposure_ms is None
            else round(exposure_ms + float(rng.uniform(-EXPOSURE_JITTER_MS, EXPOSURE_JITTER_MS)), 1)
        ),
    )
