"""What a reader's page sends with an answer: parsed and validated once against the survey's design, the same for
every round (test, practice, repeat)."""

import math
import uuid
from dataclasses import dataclass

from studies.design import DesignError, StudyDesign, check_rating, derive_choice, rating_contradicts
from studies.models import CHOICE_VALUES, SLAB_VIEW_FIELDS, VIEWER_STATE_FIELDS
from studies.services.errors import MAX_REASON_CHARS, MAX_SECONDS_ON_SLICE, AnswerRejected
from studies.slabs import VIEWS


@dataclass(frozen=True)
class AnswerInput:
    """One submission from a reader's page, already parsed into Python types."""

    choice: str
    reason: str
    seconds_on_slice: float
    window_width: float
    window_level: float
    zoom: float
    window_changed: bool
    client_key: uuid.UUID
    base_revision: int = 0
    rating: int | None = None
    invert_used: bool = False
    slices_visited: tuple[int, ...] = ()  # stack reading: offsets from the centre, in the order first seen
    seconds_per_slice: tuple[float, ...] = ()  # stack reading: seconds on each slice, offset -k..+k
    exposure_measured_ms: float | None = None  # time-limited exposure: the image's time on screen (ms)
    views_used: tuple[str, ...] = ()  # slab reading: the views looked at, in the order first seen
    seconds_per_view: tuple[float, ...] = ()  # slab reading: seconds on axial, coronal and sagittal


def parse_answer_input(data, design: StudyDesign | None = None) -> AnswerInput:
    """Validate a decoded JSON body against the survey's design (its rating scale, whether the choice is asked or
    derived from the rating); raises AnswerRejected (400) with one line naming the first bad field."""
    design = design or StudyDesign()
    if not isinstance(data, dict):
        raise AnswerRejected("the answer must be a JSON object")
    try:
        rating = check_rating(design, data.get("rating"))
    except DesignError as exc:
        raise AnswerRejected(str(exc)) from None

    def number(name, low, high):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AnswerRejected(f"{name} must be a number")
        if not low <= value <= high:
            raise AnswerRejected(f"{name} must be between {low} and {high}")
        return float(value)

    choice = data.get("choice")
    if design.choice_from_rating:
        derived = derive_choice(design, rating)
        if choice is not None and choice != derived:
            raise AnswerRejected(f"choice is derived from the rating in this survey ({derived}); send none")
        choice = derived
    elif choice not in CHOICE_VALUES:
        raise AnswerRejected(f"choice must be one of {', '.join(CHOICE_VALUES)}")
    confirmed = data.get("contradiction_confirmed", False)
    if not isinstance(confirmed, bool):
        raise AnswerRejected("contradiction_confirmed must be true or false")
    if design.checks_contradictions and rating_contradicts(design, choice, rating) and not confirmed:
        # The page asks the reader first; a body without the confirmation did not come from that question.
        raise AnswerRejected(
            f"the rating {rating} leans against the answer {choice!r}: confirm it (contradiction_confirmed)"
        )
    reason = data.get("reason", "")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise AnswerRejected("reason must be text")
    reason = reason.replace("\x00", "").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise AnswerRejected(f"reason must be at most {MAX_REASON_CHARS} characters")
    window_changed = data.get("window_changed")
    if not isinstance(window_changed, bool):
        raise AnswerRejected("window_changed must be true or false")
    try:
        client_key = uuid.UUID(str(data.get("client_key")))
    except ValueError:
        raise AnswerRejected("client_key must be a UUID") from None
    invert_used = data.get("invert_used", False)
    if not isinstance(invert_used, bool):
        raise AnswerRejected("invert_used must be true or false")
    base_revision = data.get("base_revision", 0)
    if isinstance(base_revision, bool) or not isinstance(base_revision, int) or base_revision < 0:
        raise AnswerRejected("base_revision must be a non-negative integer")
    slices_visited, seconds_per_slice = _stack_reading(data, design)
    exposure_measured_ms = _measured_exposure(data, design)
    views_used, seconds_per_view = _slab_views(data, design)
    return AnswerInput(
        choice=choice,
        reason=reason,
        seconds_on_slice=number("seconds_on_slice", 0, MAX_SECONDS_ON_SLICE),
        window_width=number("window_width", 1, 10000),
        window_level=number("window_level", -5000, 5000),
        zoom=number("zoom", 0.05, 64),
        window_changed=window_changed,
        client_key=client_key,
        base_revision=base_revision,
        rating=rating,
        invert_used=invert_used,
        slices_visited=slices_visited,
        seconds_per_slice=seconds_per_slice,
        exposure_measured_ms=exposure_measured_ms,
        views_used=views_used,
        seconds_per_view=seconds_per_view,
    )


MAX_MEASURED_EXPOSURE_MS = 60_000.0


def _measured_exposure(data: dict, design: StudyDesign) -> float | None:
    """The image's measured time on screen (ms): required with a time-limited exposure, absent without. Whether it
    is close enough to the requested exposure is the answer service's to judge (studies.exposure_track)."""
    measured = data.get("exposure_measured_ms")
    if not design.has_exposure:
        if measured is not None:
            raise AnswerRejected("this survey has no time-limited exposure: send no exposure_measured_ms")
        return None
    if isinstance(measured, bool) or not isinstance(measured, int | float) or not math.isfinite(measured):
        raise AnswerRejected("exposure_measured_ms must be a number (the image's time on screen, ms)")
    if not 0 <= measured <= MAX_MEASURED_EXPOSURE_MS:
        raise AnswerRejected(f"exposure_measured_ms must be between 0 and {MAX_MEASURED_EXPOSURE_MS:.0f}")
    return round(float(measured), 1)


def _stack_reading(data: dict, design: StudyDesign) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The slices visited (distinct offsets -k..k, starting at the centre, 0) and the seconds on each of the 2k+1
    slices of a stack; both must be absent (or empty) without a stack."""
    visited, seconds = data.get("slices_visited"), data.get("seconds_per_slice")
    if not design.scrolls:
        if visited not in (None, []) or seconds not in (None, []):
            raise AnswerRejected("this survey shows one slice: send no slices_visited or seconds_per_slice")
        return (), ()
    k = design.centre_slice
    if not isinstance(visited, list) or not visited:
        raise AnswerRejected(f"slices_visited must be a list of offsets -{k}..{k}")
    for offset in visited:
        if isinstance(offset, bool) or not isinstance(offset, int) or not -k <= offset <= k:
            raise AnswerRejected(f"slices_visited must be a list of offsets -{k}..{k}")
    if len(set(visited)) != len(visited):
        raise AnswerRejected("slices_visited must name each offset once")
    if visited[0] != 0:
        raise AnswerRejected("slices_visited must start at the centre slice (offset 0)")
    if not isinstance(seconds, list) or len(seconds) != design.stack_slices:
        raise AnswerRejected(f"seconds_per_slice must be a list of {design.stack_slices} numbers")
    for value in seconds:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AnswerRejected(f"seconds_per_slice must be a list of {design.stack_slices} numbers")
        if not 0 <= value <= MAX_SECONDS_ON_SLICE:
            raise AnswerRejected(f"seconds_per_slice must be between 0 and {MAX_SECONDS_ON_SLICE}")
    return tuple(visited), tuple(round(float(value), 3) for value in seconds)


def _slab_views(data: dict, design: StudyDesign) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The views of a slab the reader used (distinct, starting with axial, the view the page opens in) and the
    seconds on each of axial, coronal and sagittal; both must be absent (or empty) without a slab."""
    views, seconds = data.get("views_used"), data.get("seconds_per_view")
    if not design.is_slab:
        if views not in (None, []) or seconds not in (None, []):
            raise AnswerRejected("this survey shows no slab: send no views_used or seconds_per_view")
        return (), ()
    names = ", ".join(VIEWS)
    if not isinstance(views, list) or not views or any(view not in VIEWS for view in views):
        raise AnswerRejected(f"views_used must be a list of views ({names})")
    if len(set(views)) != len(views):
        raise AnswerRejected("views_used must name each view once")
    if views[0] != "axial":
        raise AnswerRejected("views_used must start with the axial view")
    if not isinstance(seconds, list) or len(seconds) != len(VIEWS):
        raise AnswerRejected(f"seconds_per_view must be a list of {len(VIEWS)} numbers ({names})")
    for value in seconds:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AnswerRejected(f"seconds_per_view must be a list of {len(VIEWS)} numbers ({names})")
        if not 0 <= value <= MAX_SECONDS_ON_SLICE:
            raise AnswerRejected(f"seconds_per_view must be between 0 and {MAX_SECONDS_ON_SLICE}")
    return tuple(views), tuple(round(float(value), 3) for value in seconds)


def viewer_state(data: AnswerInput) -> dict:
    """What the viewer showed when the reader answered (window, zoom, invert, the stack's slices), as model fields;
    test, repeat and practice answers all store it."""
    state = {name: getattr(data, name) for name in (*VIEWER_STATE_FIELDS, *SLAB_VIEW_FIELDS)}
    return {name: list(value) if isinstance(value, tuple) else value for name, value in state.items()}
