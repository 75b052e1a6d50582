"""Reader subgroups of a report: accuracy (and AUC where the answers carry ratings) by the readers' specialty and
by their experience band, and the likelihood-ratio test of a group effect from the logistic mixed model
(:func:`readerstats.by_specialty`, :func:`readerstats.by_experience`). Pure Python; no Django.

All the report's answers are analysed together (every survey and model), indeterminable answers left out; items
are identified within their survey. The test is shown when every group has at least two readers; otherwise the
report says what to change. The experience bands are the report's own (edges in years; default 5 and 15: "< 5",
"5-15", "> 15").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from readerstats import DEFAULT_EXPERIENCE_BANDS, INDETERMINABLE, experience_bands, p_text
from reports.content.exports import AnswerRow
from reports.content.wording import not_estimable

if TYPE_CHECKING:
    from readerstats import SubgroupAnalysis

GROUPS_TITLE = "Do some readers tell better than others?"
GROUPS_HEADER = (
    "Group",
    "Readers",
    "Answers",
    "Readers correct (95% CI)",
    "Mean reader accuracy",
    "Mean reader AUC",
)
GROUPS_NOTE = (
    "Readers correct: all the group's answers pooled, indeterminable answers left out, 95% Wilson interval (it "
    "ignores that answers come in readers, so it is narrower than it should be). Mean reader accuracy and AUC: "
    "each reader's own, averaged (AUC from the confidence ratings, where the survey asked for them). The test of a "
    "difference between groups compares a logistic mixed model with the group against one without it "
    "(likelihood ratio; readers and slices random), and needs at least two readers in every group."
)
GROUPINGS = (("specialty", "By specialty"), ("experience", "By years of experience"))


def specialty_label(code: str) -> str:
    """ "radiation_oncology" -> "Radiation oncology" (the stored code in words)."""
    return code.replace("_", " ").capitalize() if code else code


def parse_bands(text: str) -> tuple[float, ...]:
    """Experience band edges from "5, 15" (years, increasing); ValueError in one line otherwise."""
    try:
        edges = tuple(float(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"experience bands must be years separated by commas, like 5, 15; not {text[:40]!r}"
        ) from None
    experience_bands(edges)  # raises ValueError when not positive and increasing
    return edges


@dataclass(frozen=True)
class ReaderGroups:
    """The report's reader subgroups: by specialty and by experience band."""

    edges: tuple[float, ...]
    specialty: SubgroupAnalysis
    experience: SubgroupAnalysis

    @property
    def analyses(self) -> tuple[tuple[str, SubgroupAnalysis], ...]:
        return tuple((label, getattr(self, name)) for name, label in GROUPINGS)

    @property
    def rated(self) -> bool:
        """Some reader has an AUC (the answers carry ratings): the tables show the mean reader AUC."""
        return any(
            group.mean_reader_auc is not None for group in self.specialty.groups + self.experience.groups
        )

    @property
    def header(self) -> tuple[str, ...]:
        return GROUPS_HEADER if self.rated else GROUPS_HEADER[:-1]

    def rows(self, analysis: SubgroupAnalysis) -> list[tuple[str, ...]]:
        """Display rows of ``analysis`` under :attr:`header`."""
        return [row if self.rated else row[:-1] for row in group_rows(analysis)]

    @property
    def bands(self) -> tuple[str, ...]:
        return experience_bands(self.edges)

    def to_dict(self) -> dict[str, Any]:
        """The stats JSON's ``reader_subgroups`` section."""
        from readerstats import MIN_READERS_PER_GROUP  # here: the subgroup analysis loads SciPy

        return {
            "experience_band_edges_years": list(self.edges),
            "experience_bands": list(self.bands),
            "minimum_readers_per_group_for_the_test": MIN_READERS_PER_GROUP,
            **{name: _analysis_dict(getattr(self, name)) for name, _ in GROUPINGS},
        }


def group_rows(analysis: SubgroupAnalysis) -> list[tuple[str, str, str, str, str, str]]:
    """Display rows: group, readers, answers, pooled accuracy (CI), mean reader accuracy, mean reader AUC."""
    rows = []
    for group in analysis.groups:
        accuracy = group.accuracy
        pooled = (
            "n/a"
            if accuracy.proportion is None
            else f"{100 * accuracy.proportion:.1f}% ({100 * accuracy.ci_low:.1f}\u2013{100 * accuracy.ci_high:.1f})"
        )
        rows.append(
            (
                specialty_label(str(group.group)) if analysis.grouping == "specialty" else str(group.group),
                str(group.reader_count),
                str(group.answer_count),
                pooled,
                "" if group.mean_reader_accuracy is None else f"{100 * group.mean_reader_accuracy:.1f}%",
                "" if group.mean_reader_auc is None else f"{group.mean_reader_auc:.3f}",
            )
        )
    return rows


def test_sentence(analysis: SubgroupAnalysis) -> str:
    """The group effect in words: the likelihood-ratio test, or why it is not shown and what to change."""
    test = analysis.test
    words = "specialties" if analysis.grouping == "specialty" else "experience bands"
    left_out = (
        f" ({analysis.readers_without_group} reader(s) without a stated {analysis.grouping} left out.)"
        if analysis.readers_without_group
        else ""
    )
    if not test.estimable:
        return f"No test of a difference between {words}: {not_estimable(test.reason)}.{left_out}"
    text = (
        f"Difference between {words}: likelihood-ratio test chi-squared {test.statistic:.2f} on {test.df} "
        f"degree{'' if test.df == 1 else 's'} of freedom, {p_text(test.p_value)}: "
    )
    if test.p_value < 0.05:
        text += "readers of some groups told real from synthetic more often than others."
    else:
        text += "no difference was shown, which is not proof that the groups read alike."
    return text + left_out


def _analysis_dict(analysis: SubgroupAnalysis) -> dict[str, Any]:
    test = analysis.test
    return {
        "method": analysis.method,
        "groups": [
            {
                "group": group.group,
                "label": specialty_label(str(group.group))
                if analysis.grouping == "specialty"
                else group.group,
                "readers": group.reader_count,
                "answers": group.answer_count,
                "accuracy": group.accuracy.to_dict(),
                "mean_reader_accuracy": group.mean_reader_accuracy,
                "mean_reader_auc": group.mean_reader_auc,
                "readers_with_auc": group.auc_reader_count,
            }
            for group in analysis.groups
        ],
        "group_effect": {
            "estimable": test.estimable,
            "reason": None if test.estimable else not_estimable(test.reason),
            "statistic": test.statistic,
            "df": test.df,
            "p_value": test.p_value,
            "log_likelihood_full": test.log_likelihood_full,
            "log_likelihood_null": test.log_likelihood_null,
        },
        "sentence": test_sentence(analysis),
        "readers_without_group": analysis.readers_without_group,
        "answers_without_group": analysis.answers_without_group,
    }


def reader_groups(
    rows: Sequence[AnswerRow], *, edges: Sequence[float] = DEFAULT_EXPERIENCE_BANDS
) -> ReaderGroups | None:
    """The subgroups of the readers of ``rows``; None when no reader stated a specialty or experience."""
    if not any(row.reader_specialty or row.reader_years_of_experience is not None for row in rows):
        return None
    edges = tuple(float(edge) for edge in edges)
    correct = [None if row.answer == INDETERMINABLE else float(row.correct) for row in rows]
    readers = [row.reader for row in rows]
    items = [f"{row.survey}/{row.item}" for row in rows]
    rated = any(row.rating is not None for row in rows)
    options = {"truth": [row.truth for row in rows], "rating": [row.rating for row in rows]} if rated else {}
    # Here, not at the top: the subgroup analysis loads SciPy, and web pages import this module's band parser.
    from readerstats import by_experience, by_specialty

    return ReaderGroups(
        edges=edges,
        specialty=by_specialty(
            correct, readers, items, [row.reader_specialty or None for row in rows], **options
        ),
        experience=by_experience(
            correct, readers, items, [row.reader_years_of_experience for row in rows], edges=edges, **options
        ),
    )
