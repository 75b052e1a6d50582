"""Writes to reader studies, one module per concept: `surveys`, `audits` (the blinding audit as a job), `people`
(groups, invitations, readers, reminders), `answer_input` (what a reader's page sends), `answers` (one service for
the answers of every round: test, practice, repeat) and `rounds` (the reader confirming a round's end). Each `do_*`
function is one transaction that also writes its audit row. The names other code uses are re-exported here."""

from studies.services.answer_input import AnswerInput, parse_answer_input
from studies.services.answers import (
    PRACTICE,
    REPEAT,
    TEST,
    Round,
    SubmitResult,
    do_submit_answer,
    do_submit_practice_answer,
    do_submit_repeat_answer,
    do_submit_round_answer,
)
from studies.services.audits import do_audit_and_open, do_audit_survey, request_blinding_audit
from studies.services.errors import AnswerRejected, StudyError
from studies.services.pairs import create_pairs, do_answer_pair, pair_plan_for, parse_pair_answer
from studies.services.people import (
    INVITATION_PROBLEMS,
    assignment_url,
    do_accept_invitation,
    do_create_invitations,
    do_join_with_new_account,
    do_register_reader,
    do_revoke_invitation,
    do_send_reminder,
    do_update_reader_profile,
    ensure_study_groups,
    invitation_url,
)
from studies.services.rounds import do_complete_assignment, do_complete_round
from studies.services.surveys import (
    READER_SETTINGS,
    SurveyCreated,
    check_survey_datasets,
    choose_field_of_view,
    create_survey,
    do_change_survey_settings,
    do_close_survey,
    do_open_survey,
    do_rename_survey,
)

__all__ = [
    "INVITATION_PROBLEMS",
    "READER_SETTINGS",
    "AnswerInput",
    "AnswerRejected",
    "PRACTICE",
    "REPEAT",
    "TEST",
    "Round",
    "StudyError",
    "SubmitResult",
    "SurveyCreated",
    "assignment_url",
    "check_survey_datasets",
    "choose_field_of_view",
    "create_pairs",
    "create_survey",
    "do_accept_invitation",
    "do_answer_pair",
    "do_audit_and_open",
    "do_audit_survey",
    "do_change_survey_settings",
    "do_close_survey",
    "do_complete_assignment",
    "do_create_invitations",
    "do_join_with_new_account",
    "do_open_survey",
    "do_register_reader",
    "do_rename_survey",
    "do_revoke_invitation",
    "do_send_reminder",
    "do_submit_answer",
    "do_submit_practice_answer",
    "do_submit_repeat_answer",
    "do_submit_round_answer",
    "do_complete_round",
    "do_update_reader_profile",
    "ensure_study_groups",
    "invitation_url",
    "pair_plan_for",
    "parse_answer_input",
    "parse_pair_answer",
    "request_blinding_audit",
]
