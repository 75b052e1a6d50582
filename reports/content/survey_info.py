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
