"""What a study archive takes from the reports, imported in this one place: the stored report of a selection of
surveys (computed first when missing or out of date) and its statistics and PDF, the answers CSV and its data
dictionary, readers' pseudonyms (and the prefix of a restored reader's user name), and surveys by name or id."""

from reports.content.exports import answers_csv, data_dictionary_csv
from reports.selectors import (
    ARCHIVED_READER_PREFIX,
    answer_rows,
    reader_pseudonyms,
    stored_report,
    survey_names,
    surveys_by_ids,
    surveys_by_name,
)
from reports.services import artefact, report_now

__all__ = [
    "ARCHIVED_READER_PREFIX",
    "answer_rows",
    "answers_csv",
    "artefact",
    "data_dictionary_csv",
    "reader_pseudonyms",
    "report_now",
    "stored_report",
    "survey_names",
    "surveys_by_ids",
    "surveys_by_name",
]


def current_report(surveys):
    """The report job of `surveys`: the stored one when it is up to date, else one computed now."""
    stored = stored_report(surveys)
    return stored.job if stored is not None and not stored.is_stale else report_now(surveys=surveys)
