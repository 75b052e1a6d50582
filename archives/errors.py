"""What an archive export or import that cannot be made raises: one line, and its job fails with it."""

from jobs.services import JobRefused


class ArchiveError(JobRefused):
    """An export or import that cannot be made; one line."""
