"""Exceptions as the one line a person reads (a job's error, a refusal). Pure Python: pure modules use it too."""

MAX_ERROR_CHARS = 500


class JobRefused(ValueError):
    """A job that cannot run as asked; its message, one line, becomes the job's error."""


class JobFailed(RuntimeError):
    """A failure of a run whose message is already the one line the job's error should say (re-raised)."""


def first_line(exc: BaseException, *, limit: int = 200) -> str:
    """The first non-empty line of an exception's message (its type's name when it has none)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:limit] if lines else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """An exception as one line: the message alone for our own refusals and failures (the project's ValueError
    subclasses, JobFailed), else its type too ("RuntimeError: disk full")."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    ours = isinstance(exc, JobFailed) or (isinstance(exc, ValueError) and type(exc) is not ValueError)
    if not ours:
        text = f"{type(exc).__name__}: {text}"
    return text[:MAX_ERROR_CHARS]
