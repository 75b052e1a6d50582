"""Reader studies in a study archive: which fields of surveys, items, readers, assignments, invitations, answers,
revisions, practice answers, reading rounds and repeat answers an archive holds (:mod:`studies.archive.tables`: one
declaration per model, used by both directions), how a survey's rows are written (:mod:`studies.archive.export`),
and how they are read back, checked and restored (:mod:`studies.archive.restore`: `do_restore_survey`, one
transaction with its audit row, the rows inserted with their original times).

A new field of one of these models is either added to its declaration (the export writes it and the import restores
it, nothing else to change; with `added_in` when older archives lack it) or listed in `left_out` with the reason;
tests/archives/test_archive_format.py fails until one of the two is done. The archive's container, its checks and
the order of the import are the `archives` app's; the pixels' volumes are imaging's.
"""

from studies.archive.export import ExportedSurvey, survey_tables
from studies.archive.restore import (
    NOT_AS_DESCRIBED,
    SurveyRows,
    check_answers_match_revisions,
    check_restorable,
    do_restore_survey,
    survey_rows,
    survey_settings,
)
from studies.archive.tables import (
    ANSWER_CONTENT,
    ANSWERS,
    ARCHIVED,
    ASSIGNMENTS,
    INVITATIONS,
    ITEMS,
    NOT_ARCHIVED,
    PAIR_ANSWERS,
    PAIRS,
    PRACTICE_ANSWERS,
    PRACTICE_CONTENT,
    PRACTICE_ITEMS,
    READER_PROFILES,
    READERS,
    REPEAT_ANSWERS,
    REVISIONS,
    ROUNDS,
    SURVEYS,
    StudyTable,
)

__all__ = [
    "ANSWERS",
    "ANSWER_CONTENT",
    "ARCHIVED",
    "ASSIGNMENTS",
    "INVITATIONS",
    "ITEMS",
    "NOT_ARCHIVED",
    "NOT_AS_DESCRIBED",
    "PRACTICE_ANSWERS",
    "PRACTICE_CONTENT",
    "PRACTICE_ITEMS",
    "READERS",
    "READER_PROFILES",
    "REPEAT_ANSWERS",
    "PAIRS",
    "PAIR_ANSWERS",
    "REVISIONS",
    "ROUNDS",
    "SURVEYS",
    "ExportedSurvey",
    "StudyTable",
    "SurveyRows",
    "check_answers_match_revisions",
    "check_restorable",
    "do_restore_survey",
    "survey_rows",
    "survey_settings",
    "survey_tables",
]
