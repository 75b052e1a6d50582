"""Plain words for the people who read a report: the statistics package's terms as a clinician reads them, and a
"not estimable" that always says what to change in the study design. Pure Python; no Django.

readerstats speaks the MRMC literature's language ("modality" for the thing compared); a report compares models
(and their surveys), and to a radiologist a modality is CT or MR, so every reason shown to people goes through
:func:`for_people`.
"""

from __future__ import annotations

import re
from typing import Any

# (pattern of a reason, what to change in the design to make it estimable); the first match wins
DESIGN_ADVICE = (
    (
        r"one reader|fewer than \d+ readers|has \d+ readers?|reader variability needs",
        "invite at least two readers to every survey (more readers also narrow the interval)",
    ),
    (
        r"one (?:model|modality)|needs two|at least two models",
        "report two or more surveys of different models together",
    ),
    (
        r"every answer .* is (?:correct|wrong)|infinite",
        "add readers or slices so that some answers are right and some wrong",
    ),
    (
        r"read nothing|did not read|every reader must read|read (?:models|modalities) .* and",
        "have every reader read every survey (fully crossed), or give each survey its own readers (split-plot)",
    ),
    (
        r"one (?:real|synthetic)|no (?:real|synthetic)|both truths|one truth",
        "keep real and synthetic slices in every survey",
    ),
    (
        r"rating scale",
        "use one rating scale in every survey that is compared",
    ),
    (
        r"group",
        "add readers so that every group has at least two, or merge small groups",
    ),
)
DEFAULT_ADVICE = "more readers and more slices per survey make it estimable"

_TERMS = (
    (re.compile(r"\bmodalities\b"), "models"),
    (re.compile(r"\bModalities\b"), "Models"),
    (re.compile(r"\bmodality\b"), "model"),
    (re.compile(r"\bModality\b"), "Model"),
)


def for_people(text: str) -> str:
    """``text`` with the statistics package's "modality" said as "model"."""
    for pattern, word in _TERMS:
        text = pattern.sub(word, text)
    return text


def design_advice(reason: str) -> str:
    """What to change in the study design so that what ``reason`` says is not estimable becomes estimable."""
    for pattern, advice in DESIGN_ADVICE:
        if re.search(pattern, reason, flags=re.IGNORECASE):
            return advice
    return DEFAULT_ADVICE


def not_estimable(reason: str | None) -> str:
    """A "not estimable" reason in plain words, ending with what to change: "not estimable because ...; to make
    it estimable, invite at least two readers ..." (a reason that already says so is kept as it is)."""
    text = for_people((reason or "not estimable").strip().rstrip("."))
    if "estimable with" in text or "to make it estimable" in text or "becomes estimable" in text:
        return text
    return f"{text}; to make it estimable, {design_advice(text)}"


def plain_reason(reason: str | None) -> str:
    """Why a number is missing, for people: a "not estimable" with what to change, anything else said
    :func:`for_people`."""
    text = (reason or "").strip()
    return not_estimable(text) if text.startswith("not estimable") else for_people(text)


PEOPLE_KEYS = frozenset(
    {"method", "reason", "verdict", "comparison_verdict", "conclusion", "note", "notes", "design"}
)
"""The keys of the stats JSON whose values are sentences for people (the rest are names and numbers)."""


def for_people_in(data: Any, key: str | None = None) -> Any:
    """``data`` (the dicts and lists of a JSON section) with every sentence under :data:`PEOPLE_KEYS` said
    :func:`for_people`; keys (code identifiers) stay as they are."""
    if isinstance(data, dict):
        return {name: for_people_in(value, name) for name, value in data.items()}
    if isinstance(data, list | tuple):
        return [for_people_in(value, key) for value in data]
    if isinstance(data, str) and key in PEOPLE_KEYS:
        return for_people(data)
    return data
