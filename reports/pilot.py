"""Planning assumptions from a pilot survey: the typical accuracy and the reader and item spreads (log-odds) of a
closed survey's crossed GLMM, read from its stored report (the statistics JSON's ``glmm`` section).

Nothing is fitted here: the planning panel calls this in a web request, and the GLMM takes seconds on a large
survey. A pilot whose report was never computed, or was computed before answers changed, has no estimate; the
estimate says so ("no pilot estimate yet: compute the survey's report") and where to compute it. ``plan_study
--pilot`` fits the same GLMM itself (a command may take its time)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from reports import selectors
from reports.services import ReportUnavailable, artefact
from studies.models import Survey

MAX_PLANNING_SD = 5.0
"""plan_design's largest spread (log-odds); a pilot beyond it is degenerate (e.g. every answer of a reader right)."""

NO_SPREAD_SD = 1e-3
"""A pilot's SD below this (log-odds) is a variance component fitted at zero: the pilot shows no spread."""


@dataclass(frozen=True)
class PilotEstimate:
    """What a pilot survey says about accuracy and the spreads, or why it says nothing (``reason``)."""

    survey: str
    estimable: bool
    reason: str | None
    accuracy: float | None = None
    reader_sd: float | None = None
    case_sd: float | None = None
    readers: int | None = None
    items: int | None = None
    answers: int | None = None
    report_job: int | None = None
    computed_at: str | None = None
    source: str = ""
    """One line for people: where the numbers come from, or why there are none."""
    caution: str | None = None
    """Why the plan from this pilot may be optimistic (a spread fitted at zero), or None."""

    def assumptions(self, *, spreads: bool = True) -> dict[str, float]:
        """plan_design's keyword arguments from this pilot (empty when it has no estimate); without `spreads`,
        only its accuracy (the reader and slice SDs are then the assumed ones)."""
        if not self.estimable:
            return {}
        if not spreads:
            return {"accuracy": self.accuracy}
        return {"accuracy": self.accuracy, "reader_sd": self.reader_sd, "case_sd": self.case_sd}

    def to_dict(self) -> dict:
        return asdict(self)


def default_pilot(
    pilots: Sequence[Survey], *, model_id: int | None, real_dataset_id: int | None
) -> Survey | None:
    """The most recently closed pilot of the same model and the same real dataset as the survey being planned, or
    None (then the panel uses the assumed values): a pilot of another model or other real slices may differ in
    exactly what is being planned for."""
    if model_id is None or real_dataset_id is None:
        return None
    return next(
        (
            pilot
            for pilot in pilots
            if pilot.model_dataset_id == model_id and pilot.real_dataset_id == real_dataset_id
        ),
        None,
    )


def _unavailable(survey: Survey, reason: str) -> PilotEstimate:
    return PilotEstimate(
        survey=survey.name, estimable=False, reason=reason, source=f"pilot {survey.name!r}: {reason}"
    )


def pilot_estimate(survey: Survey) -> PilotEstimate:
    """The GLMM estimates of ``survey`` alone from its latest stored report, if that report is current."""
    selection = [survey]
    stored = selectors.stored_report(selection)
    if stored is None or stored.is_stale:
        active = selectors.active_report_job(selection)
        if active is not None:
            return _unavailable(
                survey, f"no pilot estimate yet: its report is being computed (report #{active.pk})"
            )
        if stored is None:
            return _unavailable(survey, "no pilot estimate yet: compute the survey's report")
        return _unavailable(
            survey,
            f"no pilot estimate yet: the survey's report predates {stored.new_answers} answer(s) and "
            f"{stored.new_revisions} revision(s); compute it again",
        )
    try:
        report = json.loads(artefact(stored.job, "stats_json"))
    except (ReportUnavailable, OSError, ValueError):
        return _unavailable(
            survey, "no pilot estimate yet: the stored report cannot be read; compute it again"
        )
    entries = (report.get("glmm") or {}).get("surveys") or []
    entry = next((item for item in entries if item.get("survey") == survey.name), None)
    if entry is None:
        return _unavailable(survey, "no pilot estimate: the stored report has no GLMM for this survey")
    if not entry.get("estimable"):
        return _unavailable(
            survey, f"no pilot estimate: the pilot's GLMM is {entry.get('reason') or 'not estimable'}"
        )
    accuracy = entry["accuracy"]
    reader_sd = math.sqrt(max(entry["reader_variance"], 0.0))
    case_sd = math.sqrt(max(entry["item_variance"], 0.0))
    if not 0 < accuracy < 1 or reader_sd > MAX_PLANNING_SD or case_sd > MAX_PLANNING_SD:
        return _unavailable(
            survey,
            f"no usable pilot estimate: typical accuracy {accuracy:.3f}, reader SD {reader_sd:.2f}, item SD "
            f"{case_sd:.2f} (the planner takes accuracies strictly between 0 and 1 and SDs up to {MAX_PLANNING_SD:g})",
        )
    fit = entry.get("fit") or {}
    readers, items, answers = fit.get("reader_count"), fit.get("item_count"), fit.get("answer_count")
    computed = stored.job.finished_at.date().isoformat() if stored.job.finished_at else None
    source = (
        f"from pilot {survey.name!r}: {readers} readers, {items} items, {answers} definite answers; GLMM "
        f"(Laplace) typical accuracy {accuracy:.3f}, reader SD {reader_sd:.2f}, item SD {case_sd:.2f} (log-odds), "
        f"from report #{stored.job.pk}" + (f" of {computed}" if computed else "")
    )
    flat = [name for name, sd in (("reader", reader_sd), ("slice", case_sd)) if sd < NO_SPREAD_SD]
    caution = (
        f"this pilot gives no {' or '.join(flat)} spread (its GLMM variance is 0, which a small pilot often "
        "gives by chance): a plan from it is optimistic; use the assumed spreads instead"
        if flat
        else None
    )
    return PilotEstimate(
        survey=survey.name,
        estimable=True,
        caution=caution,
        reason=None,
        accuracy=float(accuracy),
        reader_sd=reader_sd,
        case_sd=case_sd,
        readers=readers,
        items=items,
        answers=answers,
        report_job=stored.job.pk,
        computed_at=computed,
        source=source,
    )
