"""The most-discussed items (the paper's Fig. 10): each slice as readers saw it, its truth, how readers answered
(real / synthetic / indeterminable, and the ratings when rated) and the reasons they gave; every other comment
goes to a table (the report page's searchable table and a CSV), never to the PDF."""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from readerstats import ANSWERS
from reports.content.exports import AnswerRow, _csv, spreadsheet_safe
from reports.content.figures import STYLE, _wrap
from reports.content.paper_figures.panels import ShownSlice, _figure, _image, _placed
from studies.design import RATING_RANGES

ITEM_ROW_INCHES = 2.5
REASON_CHARS = 95
REASON_LINES = 13
"""The reasons beside a slice: lines of at most REASON_CHARS characters, at most REASON_LINES of them (the rest
are counted and left to the comments table), so the text never runs past its row."""
COMMENT_COLUMNS = (
    "survey",
    "item",
    "truth",
    "axial_layer",
    "reader",
    "answer",
    "rating",
    "reason",
    "in_figure_10",
)


@dataclass(frozen=True)
class DiscussedItem:
    survey: str
    item: str
    truth: str
    axial_layer: int
    answer_counts: dict[str, int]
    rating_scale: str
    ratings: tuple[int, ...]
    reasons: tuple[tuple[str, str, str], ...]  # (reader, answer, reason)
    shown: ShownSlice | None = None

    @property
    def rating_histogram(self) -> list[tuple[str, int]]:
        """(bin label, count) over the scale's range: each rating of a 5-point scale, fifths of a slider."""
        if self.rating_scale not in RATING_RANGES:
            return []
        low, high = RATING_RANGES[self.rating_scale]
        if high - low <= 4:
            counts = Counter(self.ratings)
            return [(str(value), counts.get(value, 0)) for value in range(low, high + 1)]
        edges = np.linspace(low, high, 6)
        counts, _ = np.histogram(self.ratings, bins=edges)
        return [(f"{edges[i]:g}-{edges[i + 1]:g}", int(counts[i])) for i in range(5)]


def reason_counts(rows: Sequence[AnswerRow]) -> dict[tuple[str, str], int]:
    """How many readers gave a reason, per (survey, item)."""
    counts: Counter = Counter()
    for row in rows:
        counts[(row.survey, row.item)] += bool(row.reason.strip())
    return dict(counts)


def discussed_items(rows: Sequence[AnswerRow], keys: Sequence[tuple[str, str]]) -> list[DiscussedItem]:
    """The items ``keys`` (survey, item), in that order, with every answer to them counted."""
    by_key: dict[tuple[str, str], list[AnswerRow]] = {}
    for row in rows:
        by_key.setdefault((row.survey, row.item), []).append(row)
    result = []
    for key in keys:
        answers = by_key[key]
        counts = Counter(row.answer for row in answers)
        given = sorted(
            (row for row in answers if row.reason.strip()), key=lambda row: (row.answer, row.reader)
        )
        result.append(
            DiscussedItem(
                survey=key[0],
                item=key[1],
                truth=answers[0].truth,
                axial_layer=answers[0].axial_layer,
                answer_counts={answer: counts.get(answer, 0) for answer in ANSWERS},
                rating_scale=answers[0].rating_scale,
                ratings=tuple(row.rating for row in answers if row.rating is not None),
                reasons=tuple((row.reader, row.answer, row.reason.strip()) for row in given),
            )
        )
    return result


def _reason_lines(item: DiscussedItem) -> list[str]:
    lines: list[str] = []
    for shown, (reader, answer, reason) in enumerate(item.reasons):
        wrapped = textwrap.wrap(f"{reader} ({answer}): {reason}", REASON_CHARS, subsequent_indent="   ")
        if len(lines) + len(wrapped) > REASON_LINES - 1 and shown < len(item.reasons):
            lines.append(f"... and {len(item.reasons) - shown} more (see the comments table)")
            break
        lines += wrapped
    return lines


def discussed_items_figure(items: Sequence[DiscussedItem], *, title: str) -> Figure:
    """One row per item: the slice as readers saw it; its truth, answer counts and reasons; the rating
    histogram when the survey was rated."""
    title_height, image_width, text_width, histogram_width = 0.5, 2.3, 4.9, 1.6
    width = image_width + text_width + histogram_width + 0.3
    height = title_height + max(len(items), 1) * ITEM_ROW_INCHES + 0.1
    with matplotlib.rc_context(STYLE):
        figure = _figure(width, height)
        figure.text(0.1 / width, 1 - 0.1 / height, _wrap(title, 130, 2), va="top", fontsize=9)
        for index, item in enumerate(items):
            top = height - title_height - index * ITEM_ROW_INCHES
            bottom = top - ITEM_ROW_INCHES + 0.15
            _image(
                _placed(figure, 0.1, bottom, image_width - 0.15, image_width - 0.15), item.shown, "no payload"
            )
            counts = ", ".join(f"{count} {answer}" for answer, count in item.answer_counts.items())
            heading = f"{_wrap(item.survey, 40, 1)} / {item.item}: truth {item.truth.upper()}, layer {item.axial_layer}"
            figure.text(
                (image_width + 0.05) / width, top / height, heading, va="top", fontsize=7.5, weight="bold"
            )
            figure.text(
                (image_width + 0.05) / width,
                (top - 0.2) / height,
                f"Answers: {counts}",
                va="top",
                fontsize=7,
            )
            figure.text(
                (image_width + 0.05) / width,
                (top - 0.42) / height,
                "\n".join(_reason_lines(item)),
                va="top",
                fontsize=6.2,
                linespacing=1.25,
                family="DejaVu Sans",
            )
            histogram = item.rating_histogram
            if histogram:
                axes = _placed(
                    figure, image_width + text_width + 0.25, bottom + 0.5, histogram_width - 0.35, 1.2
                )
                labels, values = zip(*histogram, strict=True)
                axes.bar(range(len(values)), values, color="#4c72b0")
                axes.set_xticks(
                    range(len(values)), labels, fontsize=5.5, rotation=30 if len(labels[0]) > 2 else 0
                )
                axes.set_title("Ratings", fontsize=7)
                axes.tick_params(axis="y", labelsize=6)
                axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


def comment_rows(rows: Sequence[AnswerRow], in_figure: set[tuple[str, str]]) -> list[dict[str, object]]:
    """Every answer with a reason, as a row of the comments table; ``in_figure_10`` marks the items Fig. 10
    shows (their comments are there, the table holds the rest)."""
    return [
        {
            "survey": row.survey,
            "item": row.item,
            "truth": row.truth,
            "axial_layer": row.axial_layer,
            "reader": row.reader,
            "answer": row.answer,
            "rating": "" if row.rating is None else row.rating,
            "reason": row.reason.strip(),
            "in_figure_10": (row.survey, row.item) in in_figure,
        }
        for row in sorted(rows, key=lambda row: (row.survey, row.item, row.reader))
        if row.reason.strip()
    ]


def comments_csv(comments: Sequence[dict[str, object]]) -> bytes:
    """The comments as CSV, as the answers CSV writes its cells (reasons safe to open in a spreadsheet)."""
    return _csv(
        COMMENT_COLUMNS,
        (
            [
                *(comment[name] for name in COMMENT_COLUMNS[:-2]),
                spreadsheet_safe(str(comment["reason"])),
                "yes" if comment["in_figure_10"] else "no",
            ]
            for comment in comments
        ),
    )
