"""What a report says about a survey besides its answers (light: the selectors that web requests run build it)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SurveyInfo:
    """What a report says about a survey besides its answers."""

    name: str
    model_alias: str
    model: str
    real_dataset: str
    status: str
    item_count: int
    reader_count: int
    # Time-limited exposure (studies.design): off, fixed or staircase; the reversals averaged into a reader's
    # threshold, and whether the staircase's steps are multiplicative (thresholds then averaged in log space).
    exposure: str = "off"
    exposure_reversals: int = 0
    exposure_log: bool = False
