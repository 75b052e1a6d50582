"""What a practice page tells the reader after each practice item, and only there (the blinding audit checks that
no test item's page or answer carries it)."""

from django.utils.translation import gettext as _


def practice_strings() -> dict[str, str]:
    """The practice pages' feedback text, in the reader's language."""
    return {
        "feedbackReal": _("Practice: this was a real slice."),
        "feedbackSynthetic": _("Practice: this was a synthetic slice."),
        "feedbackRight": _("✓ Right"),
        "feedbackWrong": _("✗ Wrong"),
        "feedbackUndecided": _("– Indeterminable: neither right nor wrong"),
        "continue": _("Continue"),
    }
