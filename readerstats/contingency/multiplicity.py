"""Holm's step-down adjustment of a family of p-values and of contingency tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from readerstats.contingency.independence import TRUTH_VS_ANSWER, ContingencyTest, _decide


def holm_adjust(p_values: Sequence[float | None]) -> tuple[float | None, ...]:
    """Holm step-down adjusted p-values; ``None`` entries stay ``None`` and do not count toward the family.

    With the m available p-values sorted ascending, p_(i) (i = 1..m) becomes
        max_{j<=i} min(1, (m - j + 1) p_(j)).
    """
    present = [index for index, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    order = sorted(present, key=lambda index: p_values[index])
    running_max = 0.0
    for rank, index in enumerate(order):
        running_max = max(running_max, min(1.0, (len(order) - rank) * float(p_values[index])))
        adjusted[index] = running_max
    return tuple(adjusted)


def holm_adjust_tests(tests: Sequence[ContingencyTest], family: str) -> tuple[ContingencyTest, ...]:
    """The tests with ``holm_p_value`` filled in (Holm over their decisive p-values), conclusions restated."""
    adjusted = holm_adjust([test.decisive_p_value for test in tests])
    result = []
    for test, p_value in zip(tests, adjusted, strict=True):
        if p_value is None:
            result.append(dataclasses.replace(test, holm_family=family))
            continue
        rejects, conclusion = _decide(
            p_value,
            test.alpha,
            test.hypothesis or TRUTH_VS_ANSWER,
            which=f"Holm-adjusted ({len(tests)} tests)",
        )
        result.append(
            dataclasses.replace(
                test, holm_p_value=p_value, holm_family=family, rejects_null=rejects, conclusion=conclusion
            )
        )
    return tuple(result)
