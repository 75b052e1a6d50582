"""What the studies services refuse, and the limits they enforce."""

MAX_ITEMS_PER_SIDE = 500
MAX_REASON_CHARS = 2000
MAX_SECONDS_ON_SLICE = 7 * 24 * 3600.0


class StudyError(ValueError):
    """A request the studies app refuses; the message is one line a person can act on."""


class AnswerRejected(StudyError):
    """An answer that was not stored; `status` is the HTTP status the reader's page gets."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status
