"""Reader quality control: the exclusion rules a survey freezes when it opens, and their verdict per reader. Pure
Python.

A survey's design (:class:`studies.design.StudyDesign`) may hold three rules, each off when 0:

- ``qc_min_catch_percent``: a reader whose catch-item accuracy is below this percentage is excluded (catch items
  are synthetic slices with a plainly visible artefact, :mod:`studies.catch`; the only right answer is
  "synthetic");
- ``qc_min_median_seconds``: a reader whose median time per item (every answered item, catch items included) is
  below this many seconds is excluded;
- ``qc_max_run``: a reader who gave the same answer to more than this many items in a row (in their frozen reading
  order, catch items included) is excluded.

:func:`evaluate_reader` applies the rules to one reader's answers and returns a :class:`ReaderQuality`: the
measured values, whether the reader is excluded and the reasons, one line each. A reader with no catch answer is
never excluded by the catch rule (there is nothing to measure); a reader with no answer at all is not excluded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

CATCH_TRUTH = "synthetic"


@dataclass(frozen=True)
class QualityRules:
    min_catch_percent: int = 0  # 0: off
    min_median_seconds: float = 0.0  # 0: off
    max_run: int = 0  # 0: off

    @property
    def any(self) -> bool:
        return bool(self.min_catch_percent or self.min_median_seconds or self.max_run)

    def describe(self) -> list[str]:
        """The rules as lines, those that are off included."""
        return [
            f"catch accuracy at least {self.min_catch_percent}%"
            if self.min_catch_percent
            else "catch accuracy: no rule",
            f"median time per item at least {self.min_median_seconds:g} s"
            if self.min_median_seconds
            else "median time per item: no rule",
            f"at most {self.max_run} identical answers in a row"
            if self.max_run
            else "identical answers in a row: no rule",
        ]

    def to_dict(self) -> dict:
        return {
            "min_catch_percent": self.min_catch_percent,
            "min_median_seconds": self.min_median_seconds,
            "max_run": self.max_run,
        }


@dataclass(frozen=True)
class QualityAnswer:
    """One answer of a reader, in their reading order: the answer, the seconds on the item, whether it was a catch
    item."""

    choice: str
    seconds: float
    catch: bool = False


@dataclass(frozen=True)
class ReaderQuality:
    reader: str
    answers: int
    catch_answers: int
    catch_correct: int
    catch_accuracy: float | None  # None without catch answers
    median_seconds: float | None  # None without answers
    longest_run: int
    longest_run_answer: str
    excluded: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "reader": self.reader,
            "answers": self.answers,
            "catch_answers": self.catch_answers,
            "catch_correct": self.catch_correct,
            "catch_accuracy": self.catch_accuracy,
            "median_seconds": self.median_seconds,
            "longest_run": self.longest_run,
            "longest_run_answer": self.longest_run_answer,
            "excluded": self.excluded,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class QualityInput:
    """What one survey's quality control is computed from: its frozen rules, its number of catch items and each
    reader's answers (pseudonym, answers in the reader's order)."""

    survey: str
    rules: QualityRules
    catch_items: int
    readers: tuple[tuple[str, tuple[QualityAnswer, ...]], ...]


def longest_run(choices: Sequence[str]) -> tuple[int, str]:
    """The length of the longest run of one answer in ``choices`` and that answer (the first such run); (0, "")
    for none."""
    best, best_choice, current, previous = 0, "", 0, None
    for choice in choices:
        current = current + 1 if choice == previous else 1
        previous = choice
        if current > best:
            best, best_choice = current, choice
    return best, best_choice


def evaluate_reader(reader: str, answers: Sequence[QualityAnswer], rules: QualityRules) -> ReaderQuality:
    """The rules applied to one reader's answers (in their reading order)."""
    catch = [a for a in answers if a.catch]
    correct = sum(a.choice == CATCH_TRUTH for a in catch)
    catch_accuracy = correct / len(catch) if catch else None
    median_seconds = float(median(a.seconds for a in answers)) if answers else None
    run, run_choice = longest_run([a.choice for a in answers])
    reasons = []
    if (
        rules.min_catch_percent
        and catch_accuracy is not None
        and catch_accuracy * 100 < rules.min_catch_percent
    ):
        reasons.append(
            f"catch accuracy {correct}/{len(catch)} ({catch_accuracy:.0%}) below {rules.min_catch_percent}%"
        )
    if rules.min_median_seconds and median_seconds is not None and median_seconds < rules.min_median_seconds:
        reasons.append(f"median time {median_seconds:.2f} s below {rules.min_median_seconds:g} s")
    if rules.max_run and run > rules.max_run:
        reasons.append(f"{run} answers {run_choice!r} in a row, more than {rules.max_run}")
    return ReaderQuality(
        reader=reader,
        answers=len(answers),
        catch_answers=len(catch),
        catch_correct=correct,
        catch_accuracy=catch_accuracy,
        median_seconds=median_seconds,
        longest_run=run,
        longest_run_answer=run_choice,
        excluded=bool(reasons),
        reasons=tuple(reasons),
    )
