"""Time-limited exposure: the transformed up-down staircase that sets each item's exposure. Pure Python, no Django.

A survey with exposure shows each item's image for a requested number of milliseconds, then a mask, then the
question (docs/reader_page.md). With a *fixed* exposure every item is shown for the same time. With a *staircase*
the exposure of a reader's next item follows their previous answers, by Levitt's transformed up-down rule (Levitt
1971, "Transformed up-down methods in psychoacoustics", J Acoust Soc Am 49:467-477), as HYPE_time does for
generative models (Zhou et al., "HYPE: a benchmark for human eye perceptual evaluation of generative models",
NeurIPS 2019):

- after `down` correct answers in a row the exposure shortens by one step (the task gets harder);
- after `up` wrong answers in a row it lengthens by one step; each step resets both counts;
- a step is `step_ms` milliseconds (linear) or a factor 1 + `step_percent` / 100 (multiplicative, log-spaced);
  the exposure never leaves [min_ms, max_ms];
- a *reversal* is a step in the other direction from the step before it; its level is the exposure of the answer
  that triggered it (the level the track turned at). A step held at a bound moves nothing and is no step.

1-up/3-down converges on the exposure at which a reader is right 79.4 % of the time (p**3 = 1/2, p = 0.794);
1-up/2-down on 70.7 %. The threshold of a reader is the mean of the exposures at their last `reversals` reversals
(the geometric mean with multiplicative steps: the mean in log space), computed by `readerstats.exposure` from the
stored answers.

The track depends only on the correctness of the answers already given, in the reader's order: never on the item
about to be shown. An answer whose measured exposure was refused (:func:`exposure_accepted`) does not move it, and
an "indeterminable" answer counts as wrong (HYPE's forced choice).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

# A measured exposure may differ from the requested one by at most two frames at 60 Hz (2 x 16.7 ms).
EXPOSURE_TOLERANCE_MS = 34.0


@dataclass(frozen=True)
class Staircase:
    """The rule of a transformed up-down staircase (see the module's docstring)."""

    start_ms: int
    min_ms: int
    max_ms: int
    step_ms: int = 0  # linear steps (ms); 0 with multiplicative steps
    step_percent: int = 0  # multiplicative steps: x / (1 + p/100); 0 with linear steps
    down: int = 3  # correct answers in a row that shorten the exposure
    up: int = 1  # wrong answers in a row that lengthen it
    reversals: int = 6  # the last reversals averaged into a threshold

    def __post_init__(self):
        if (self.step_ms > 0) == (self.step_percent > 0):
            raise ValueError("a staircase steps either in ms or in percent")
        if not self.min_ms <= self.start_ms <= self.max_ms:
            raise ValueError("the staircase starts between its bounds")

    @property
    def multiplicative(self) -> bool:
        return self.step_percent > 0

    def shorter(self, level: float) -> float:
        moved = level / (1 + self.step_percent / 100) if self.multiplicative else level - self.step_ms
        return max(float(self.min_ms), moved)

    def longer(self, level: float) -> float:
        moved = level * (1 + self.step_percent / 100) if self.multiplicative else level + self.step_ms
        return min(float(self.max_ms), moved)

    @property
    def target_probability(self) -> float:
        """The proportion correct a 1-up/n-down rule converges on, where a step down and a step up are equally
        likely: p**n = 1/2, p = 0.5 ** (1 / n) (Levitt 1971); NaN for other rules (not tabulated here)."""
        return 0.5 ** (1 / self.down) if self.up == 1 else float("nan")


@dataclass(frozen=True)
class Trial:
    """One answered item on a staircase: the exposure it was shown at, and what became of it."""

    level: float  # the staircase's exposure for this answer (ms, before rounding)
    requested_ms: int
    correct: bool
    accepted: bool  # False: its measured exposure was refused, the track did not move
    step: int  # -1 the exposure shortened after it, +1 lengthened, 0 stayed (also when held at a bound)
    reversal: bool  # the step after it went the other way from the step before


@dataclass(frozen=True)
class Track:
    """A reader's staircase after their answers so far: the trials, the reversals' levels and the next level."""

    trials: tuple[Trial, ...]
    next_level: float

    @property
    def next_ms(self) -> int:
        return requested_ms(self.next_level)

    @property
    def reversal_levels(self) -> tuple[int, ...]:
        """The exposures (whole ms, as shown) of the trials the track turned at."""
        return tuple(t.requested_ms for t in self.trials if t.reversal)


def requested_ms(level: float) -> int:
    """The whole milliseconds a level asks the page for (half up)."""
    return int(math.floor(level + 0.5))


def run_staircase(rule: Staircase, outcomes: Iterable[tuple[bool, bool]]) -> Track:
    """The track of a reader's answers in their order; each outcome is (correct, accepted).

    A step held at a bound changes nothing on screen and is no step: directions and reversals are those of the
    requested whole milliseconds, so they can be read back from the stored answers alone (readerstats.exposure)."""
    level = float(rule.start_ms)
    right = wrong = 0
    last_direction = 0
    trials = []
    for correct, accepted in outcomes:
        target = level
        if accepted:
            if correct:
                right, wrong = right + 1, 0
                if right >= rule.down:
                    target, right = rule.shorter(level), 0
            else:
                right, wrong = 0, wrong + 1
                if wrong >= rule.up:
                    target, wrong = rule.longer(level), 0
        moved = requested_ms(target) - requested_ms(level)
        direction = (moved > 0) - (moved < 0)
        reversal = direction != 0 and last_direction != 0 and direction != last_direction
        trials.append(Trial(level, requested_ms(level), correct, accepted, direction, reversal))
        if direction:
            last_direction = direction
        level = target
    return Track(tuple(trials), level)


def exposure_accepted(requested: float, measured: float, tolerance_ms: float = EXPOSURE_TOLERANCE_MS) -> bool:
    """Whether an image was on screen for its requested time, within the tolerance (two frames)."""
    return abs(measured - requested) <= tolerance_ms


def mask_seed(survey_key: str) -> int:
    """The seed of a survey's noise mask: from the survey only, the same for every item (32 bits)."""
    return int.from_bytes(hashlib.sha256(f"blindread-mask:{survey_key}".encode()).digest()[:4], "big")
