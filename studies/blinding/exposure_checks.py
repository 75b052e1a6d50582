"""The blinding audit's checks of a time-limited exposure (studies.exposure): the exposure each page requests and
the mask it shows after it must not differ by truth.

- `exposure-config`: every slice page (test, practice, second reading) carries the same exposure keys, the same mode
  and the same mask seed, the survey's (the mask is noise drawn by static/studies/exposure.js from that seed only, so
  the same seed is the same mask on every item);
- `exposure-requested`: the exposure each test page requests is the one the survey's rule gives from the audit
  reader's earlier answers (the walk answers every item alike, so its staircase never depends on a truth): the
  fixed exposure, or the staircase's track (a stronger test than a separation AUC: any exposure that depends on
  the item shown breaks it). The walk answers with the requested exposure as measured, so none is refused.
The scripts themselves are the same for every page (`page-assets`).
"""

from studies.blinding.measurement import BlindingReport, describe
from studies.blinding.walk import Walk
from studies.exposure import mask_seed, run_staircase
from studies.models import Survey

EXPOSURE_KEYS = ("maskSeed", "mode", "requestedMs")


def check_exposure(survey: Survey, walk: Walk, report: BlindingReport) -> None:
    design = survey.design
    pages = [*walk.practice, *walk.observations, *walk.repeat]
    report.checks.append("exposure-config")
    shapes = [(o.truth, tuple(sorted(o.config.get("exposure") or {}))) for o in pages]
    if any(shape != EXPOSURE_KEYS for _, shape in shapes):
        report.leak("exposure-config", f"the pages' exposure settings have other keys: {describe(shapes)}")
        return
    expected_seed = mask_seed(f"{survey.pk}:{survey.seed}") if design.has_exposure else None
    for key, expected in (("mode", design.exposure), ("maskSeed", expected_seed)):
        values = [(o.truth, o.config["exposure"][key]) for o in pages]
        if any(value != expected for _, value in values):
            what = "mask" if key == "maskSeed" else "exposure mode"
            report.leak("exposure-config", f"the {what} differs between items: {describe(values)}")
    report.checks.append("exposure-requested")
    requested = [(o.truth, o.config["exposure"]["requestedMs"]) for o in walk.observations]
    if not design.has_exposure:
        if any(value is not None for _, value in requested):
            report.leak("exposure-requested", "pages of a survey without exposure request one")
        return
    if design.staircase is not None:
        # The walk's neutral answers are all "indeterminable": wrong for every item, whatever its truth.
        track = run_staircase(design.staircase, [(False, True)] * len(requested))
        expected = [trial.requested_ms for trial in track.trials]
    else:
        expected = [design.exposure_ms] * len(requested)
    wrong = [
        (truth, value) for (truth, value), want in zip(requested, expected, strict=True) if value != want
    ]
    if wrong:
        report.leak(
            "exposure-requested",
            f"{len(wrong)} page(s) request an exposure other than the survey's rule gives: {describe(wrong)}",
        )
