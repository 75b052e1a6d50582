"""What the studies app refuses. Pure Python: the services raise it, and so does the check of what a door gives to
create a survey (studies.survey_input)."""


class StudyError(ValueError):
    """A request the studies app refuses; the message is one line a person can act on."""
