"""Reader studies: surveys of real and synthetic CT slices, readers' assignments and their answers, one module
per concept: `surveys` (surveys and their items), `people` (profiles, invitations, assignments), `answers` (test
answers and their revisions), `rounds` (practice answers, the second reading), `audits` (blinding audit jobs) and
`fields` (opaque ids, value-object fields). Every name other code uses is re-exported here.

The truth of an item (real or synthetic) lives on `Item` and is never sent to a reader. Readers reach items only
through their own `Assignment.key` and each item's `Item.public_id`, both opaque random strings.
"""

from studies.models.answers import (
    CHOICE_VALUES,
    EXPOSURE_FIELDS,
    SLAB_VIEW_FIELDS,
    VIEWER_STATE_FIELDS,
    Answer,
    AnswerFields,
    AnswerRevision,
    Choice,
    answer_field_constraints,
)
from studies.models.audits import BlindingAudit
from studies.models.fields import (
    OPAQUE_ID_LENGTH,
    DisplayPolicyField,
    StudyDesignField,
    ValueObjectField,
    default_study_design,
    new_invitation_token,
    new_opaque_id,
)
from studies.models.people import Assignment, Invitation, ReaderProfile
from studies.models.rounds import PracticeAnswer, ReadingRound, RepeatAnswer
from studies.models.surveys import Item, PracticeItem, Survey, Truth

__all__ = [
    "CHOICE_VALUES",
    "OPAQUE_ID_LENGTH",
    "EXPOSURE_FIELDS",
    "SLAB_VIEW_FIELDS",
    "VIEWER_STATE_FIELDS",
    "Answer",
    "AnswerFields",
    "AnswerRevision",
    "Assignment",
    "BlindingAudit",
    "Choice",
    "DisplayPolicyField",
    "Invitation",
    "Item",
    "PracticeAnswer",
    "PracticeItem",
    "ReaderProfile",
    "ReadingRound",
    "RepeatAnswer",
    "StudyDesignField",
    "Survey",
    "Truth",
    "ValueObjectField",
    "answer_field_constraints",
    "default_study_design",
    "new_invitation_token",
    "new_opaque_id",
]
