"""Writes to reader studies, one module per concept: `surveys`, `audits` (the blinding audit as a job), `people`
(groups, invitations, readers, reminders) and `answers`. Each `do_*` function is one transaction that also writes
its audit row. The names other code uses are re-exported here."""

from studies.services.answers import (
    AnswerInput,
    SubmitResult,
    do_complete_assignment,
    do_submit_answer,
    parse_answer_input,
)
from studies.services.audits import do_audit_and_open, do_audit_survey, request_blinding_audit
from studies.services.errors import MAX_ITEMS_PER_SIDE, AnswerRejected, StudyError
from studies.services.people import (
    INVITATION_PROBLEMS,
    assignment_url,
    do_accept_invitation,
    do_create_invitations,
    do_join_with_new_account,
    do_revoke_invitation,
    do_send_reminder,
    do_update_reader_profile,
    ensure_study_groups,
    invitation_url,
)
from studies.services.practice import PracticeResult, do_submit_practice_answer
from studies.services.repeat import RepeatResult, do_complete_round, do_submit_repeat_answer
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
    "MAX_ITEMS_PER_SIDE",
    "READER_SETTINGS",
    "AnswerInput",
    "AnswerRejected",
    "PracticeResult",
    "RepeatResult",
    "StudyError",
    "SubmitResult",
    "SurveyCreated",
    "assignment_url",
    "check_survey_datasets",
    "choose_field_of_view",
    "create_survey",
    "do_accept_invitation",
    "do_audit_and_open",
    "do_audit_survey",
    "do_change_survey_settings",
    "do_close_survey",
    "do_complete_assignment",
    "do_create_invitations",
    "do_join_with_new_account",
    "do_open_survey",
    "do_rename_survey",
    "do_revoke_invitation",
    "do_send_reminder",
    "do_submit_answer",
    "do_submit_practice_answer",
    "do_submit_repeat_answer",
    "do_complete_round",
    "do_update_reader_profile",
    "ensure_study_groups",
    "invitation_url",
    "parse_answer_input",
    "request_blinding_audit",
]
