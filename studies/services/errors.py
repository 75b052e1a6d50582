"""What the studies services refuse (a StudyError, at home in studies.errors; a rejected answer), and the limits
they enforce."""

from studies.errors import StudyError

MAX_REASON_CHARS = 2000
MAX_SECONDS_ON_SLICE = 7 * 24 * 3600.0


class AnswerRejected(StudyError):
    """An answer that was not stored; `status` is the HTTP status the reader's page gets."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status
