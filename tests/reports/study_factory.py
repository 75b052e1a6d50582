"""Closed surveys with answers, written straight into the study tables, for the report tests."""

import uuid
from datetime import timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from imaging.models import Slice
from projects.services import ensure_default_project
from studies.models import Answer, AnswerRevision, Assignment, Item, ReaderProfile, Survey
from studies.policy import DisplayPolicy

REASONS = {
    "real": ["bone trabeculae look right", ""],
    "synthetic": ["=cmd|' /C calc'!A0", "kidneys look hyperdense", ""],
    "indeterminable": ["hard to say", ""],
}


def make_survey(name, *, model, real, per_side=4, readers=3, seed=0, alias="", skill=0.4, status="closed"):
    """A survey of ``per_side`` real and synthetic slices answered by ``readers`` readers; ``skill`` is every
    reader's (0: guessing, 1: always right) or a sequence of one per reader."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    survey = Survey.objects.create(
        name=name,
        project=ensure_default_project(),
        model_dataset=model,
        model_alias=alias or model.name,
        real_dataset=real,
        real_count=per_side,
        synthetic_count=per_side,
        seed=seed,
        display_policy=DisplayPolicy(matrix_size=64, field_of_view_mm=40.0),
        status=status,
        opened_at=None if status == "draft" else now - timedelta(days=2),
        closed_at=now if status == "closed" else None,
    )
    items = []
    for dataset, truth in ((real, "real"), (model, "synthetic")):
        slices = list(Slice.objects.filter(volume__dataset=dataset).order_by("volume_id", "index"))
        for slice_ in rng.choice(slices, per_side, replace=False):
            items.append(
                Item.objects.create(survey=survey, slice=slice_, truth=truth, axial_layer=slice_.axial_layer)
            )
    User = get_user_model()
    for number in range(readers):
        user = User.objects.create_user(username=f"{name}-reader-{number}", password=None)
        if number % 2 == 0:
            ReaderProfile.objects.create(user=user, specialty="radiology", years_of_experience=3 + number)
        order = [item.pk for item in rng.permutation(items)]
        assignment = Assignment.objects.create(survey=survey, reader=user, seed=number, item_order=order)
        reader_skill = skill[number] if isinstance(skill, list | tuple) else skill
        for item in items:
            if rng.random() < 0.1:
                choice = "indeterminable"
            elif rng.random() < 0.5 + reader_skill / 2:
                choice = item.truth
            else:
                choice = "synthetic" if item.truth == "real" else "real"
            options = REASONS[choice]
            fields = {
                "choice": choice,
                "reason": options[int(rng.integers(len(options)))],
                "seconds_on_slice": float(rng.uniform(2, 30)),
                "window_width": 400.0,
                "window_level": 40.0,
                "zoom": 1.0,
                "window_changed": False,
                "client_key": uuid.uuid4(),
            }
            with transaction.atomic():  # the database wants an answer's first revision in its transaction
                answer = Answer.objects.create(assignment=assignment, item=item, **fields)
                AnswerRevision.objects.create(answer=answer, assignment=assignment, revision=1, **fields)
    return survey
