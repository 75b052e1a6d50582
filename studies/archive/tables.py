"""The declarations: which fields of each studies model a study archive holds, in which file, and why the others
are left out (audit.archive.ArchivedFields); the export and the restore both use them."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from audit.archive import ArchivedFields
from studies.models import (
    EXPOSURE_FIELDS,
    SLAB_VIEW_FIELDS,
    VIEWER_STATE_FIELDS,
    Answer,
    AnswerRevision,
    Assignment,
    BlindingAudit,
    Invitation,
    Item,
    ItemPair,
    PairAnswer,
    PracticeAnswer,
    PracticeItem,
    ReaderProfile,
    ReadingRound,
    RepeatAnswer,
    Survey,
)

ANSWER_CONTENT = (
    "choice",
    "reason",
    "seconds_on_slice",
    "window_width",
    "window_level",
    "zoom",
    "window_changed",
    "rating",
    "invert_used",
    "slices_visited",
    "seconds_per_slice",
    *EXPOSURE_FIELDS,
    *SLAB_VIEW_FIELDS,
)
PRACTICE_CONTENT = ("choice", "rating", "seconds_on_slice", *VIEWER_STATE_FIELDS, *SLAB_VIEW_FIELDS)
# Version 2 added ratings and the invert flag, version 3 the stack's visited slices and (practice) the viewer state,
# version 5 the time-limited exposure and slab reading's views.
ANSWER_ADDED_IN = {
    "rating": (2, None),
    "invert_used": (2, False),
    "slices_visited": (3, []),
    "seconds_per_slice": (3, []),
    "exposure_requested_ms": (5, None),
    "exposure_measured_ms": (5, None),
    "exposure_rejected": (5, False),
    # Version 5 adds slab reading's views used and seconds per view.
    **dict.fromkeys(SLAB_VIEW_FIELDS, (5, [])),
}
EXPORTING_SITE_ID = "the row's number on the exporting site"


@dataclass(frozen=True)
class StudyTable(ArchivedFields):
    """A studies table of a survey's folder; `since` is the format version that added the whole table (older
    archives import with it empty); `by_place` are fields given by the folder the rows are in."""

    since: int = 1
    by_place: tuple[str, ...] = ()

    @property
    def archived(self) -> set[str]:
        return {*super().archived, *self.by_place}


SURVEYS = StudyTable(
    Survey,
    "survey.json",
    copied=(
        "name",
        "model_alias",
        "real_count",
        "synthetic_count",
        "seed",
        "status",
        "allow_going_back",
        "reader_title",
        "instructions",
        "reader_title_it",
        "instructions_it",
        "last_audit_passed",
        "last_audit_report",
        "last_audit_fingerprint",
    ),
    times=("created_at", "opened_at", "closed_at", "rendered_at", "last_audit_at"),
    related={
        "model_dataset": "model_dataset",
        "real_dataset": "real_dataset",
        "display_policy": "display_policy",
        "design": "design",
    },
    left_out={
        "id": EXPORTING_SITE_ID,
        "created_by": "a person of the exporting site",
        "project": "a team of the exporting site; a restored survey joins this site's default project",
    },
    added_in={"design": (2, {}), "reader_title_it": (4, ""), "instructions_it": (4, "")},
)
ITEM_LEFT_OUT = {"id": EXPORTING_SITE_ID}
ITEMS = StudyTable(
    Item,
    "items.json",
    copied=("public_id", "truth", "axial_layer", "payload_sha256", "catch"),
    related={"slice": "source", "payload": "payload"},
    by_place=("survey",),
    left_out=ITEM_LEFT_OUT,
    # Catch items (studies.catch) came after format 4: an archive without the key has none.
    added_in={"catch": (5, False)},
)
PRACTICE_ITEMS = StudyTable(
    PracticeItem,
    "practice-items.json",
    copied=("public_id", "truth", "axial_layer", "payload_sha256"),
    related={"slice": "source", "payload": "payload"},
    by_place=("survey",),
    left_out=ITEM_LEFT_OUT,
    since=2,
)
ASSIGNMENTS = StudyTable(
    Assignment,
    "assignments.json",
    copied=("seed", "reminder_count"),
    times=("created_at", "last_activity_at", "completed_at", "last_reminded_at"),
    related={
        "reader": "reader",
        "item_order": "item_order",
        "practice_order": "practice_order",
        "pair_plan": "pair_plan",
    },
    by_place=("survey",),
    left_out={
        "id": EXPORTING_SITE_ID,
        "key": "the reader's secret link on the exporting site; a restored assignment gets a new one",
        "invitation": "invitations are archived without tokens and not linked to the reader they let in",
        "is_audit": "the blinding audit's throwaway assignments are never archived",
    },
    # Version 5 adds 2AFC surveys: a reader's plan of pairs ([pair public id, real side] in order; [] without).
    added_in={"practice_order": (2, []), "pair_plan": (5, [])},
)
READER_PROFILES = StudyTable(
    ReaderProfile,
    "assignments.json",
    related={
        "user": "reader",
        "specialty": "reader_specialty",
        "years_of_experience": "reader_years_of_experience",
    },
    left_out={"id": EXPORTING_SITE_ID, "updated_at": "when the reader last changed the profile"},
)
READERS = StudyTable(
    get_user_model(),
    "assignments.json",
    related={"username": "reader"},
    left_out={
        "id": EXPORTING_SITE_ID,
        "password": "restored readers cannot sign in here",
        "last_login": "personal data: readers appear under pseudonyms only",
        "is_superuser": "restored readers hold no rights here",
        "first_name": "personal data: readers appear under pseudonyms only",
        "last_name": "personal data: readers appear under pseudonyms only",
        "email": "personal data: readers appear under pseudonyms only",
        "is_staff": "restored readers hold no rights here",
        "is_active": "restored readers are inactive here",
        "date_joined": "personal data: readers appear under pseudonyms only",
        "groups": "restored readers hold no rights here",
        "user_permissions": "restored readers hold no rights here",
    },
)
INVITATIONS = StudyTable(
    Invitation,
    "invitations.json",
    times=("created_at", "expires_at", "used_at", "revoked_at"),
    related={"used_by": "used_by"},
    by_place=("survey",),
    left_out={
        "id": EXPORTING_SITE_ID,
        "token": "a secret that lets a reader in",
        "email": "personal data: where the invitation was sent",
        "label": "personal data: whom the invitation was for",
        "created_by": "a person of the exporting site",
    },
)
ANSWERS = StudyTable(
    Answer,
    "answers.json",
    copied=(*ANSWER_CONTENT, "revision_count"),
    times=("created_at", "updated_at"),
    keys=("client_key",),
    related={"assignment": "reader", "item": "item"},
    left_out={"id": EXPORTING_SITE_ID},
    added_in=ANSWER_ADDED_IN,
)
REVISIONS = StudyTable(
    AnswerRevision,
    "revisions.json",
    copied=(*ANSWER_CONTENT, "revision"),
    times=("created_at",),
    keys=("client_key",),
    related={"answer": "item", "assignment": "reader"},
    left_out={"id": EXPORTING_SITE_ID},
    added_in=ANSWER_ADDED_IN,
)
PRACTICE_ANSWERS = StudyTable(
    PracticeAnswer,
    "practice-answers.json",
    copied=PRACTICE_CONTENT,
    times=("created_at",),
    keys=("client_key",),
    related={"assignment": "reader", "practice_item": "practice_item"},
    left_out={"id": EXPORTING_SITE_ID},
    added_in={**dict.fromkeys(VIEWER_STATE_FIELDS, (3, None)), **dict.fromkeys(SLAB_VIEW_FIELDS, (5, []))},
    since=2,
)
ROUNDS = StudyTable(
    ReadingRound,
    "rounds.json",
    copied=("number",),
    times=("opens_at", "created_at", "completed_at"),
    related={"assignment": "reader", "item_order": "item_order"},
    left_out={"id": EXPORTING_SITE_ID},
    since=2,
)
REPEAT_ANSWERS = StudyTable(
    RepeatAnswer,
    "repeat-answers.json",
    copied=ANSWER_CONTENT,
    times=("created_at",),
    keys=("client_key",),
    related={"reading_round": "round", "item": "item"},
    left_out={"id": EXPORTING_SITE_ID},
    added_in=ANSWER_ADDED_IN,
    since=2,
)
PAIRS = StudyTable(
    ItemPair,
    "pairs.json",
    copied=("public_id", "axial_layer"),
    related={"real_item": "real_item", "synthetic_item": "synthetic_item"},
    by_place=("survey",),
    left_out={"id": EXPORTING_SITE_ID},
    since=5,
)
PAIR_ANSWERS = StudyTable(
    PairAnswer,
    "pair-answers.json",
    copied=("side", "real_side", "correct", "seconds", "confidence", "reason"),
    times=("answered_at",),
    related={"assignment": "reader", "pair": "pair"},
    left_out={"id": EXPORTING_SITE_ID},
    since=5,
)
ARCHIVED = (
    SURVEYS,
    ITEMS,
    PRACTICE_ITEMS,
    ASSIGNMENTS,
    READER_PROFILES,
    READERS,
    INVITATIONS,
    ANSWERS,
    REVISIONS,
    PRACTICE_ANSWERS,
    ROUNDS,
    REPEAT_ANSWERS,
    PAIRS,
    PAIR_ANSWERS,
)
# Models of the studies app whose rows an archive does not hold, and why.
NOT_ARCHIVED = {
    BlindingAudit: "the audit jobs stay on the exporting site; the last audit's verdict, report and fingerprint are "
    "archived on the survey, and the audit rows of every audit job",
}
