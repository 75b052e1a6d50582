"""Realism along z, model by model: the z-consistency measure of whole volumes (real vs synthetic) and the
volumetric machine observer's AUC beside the 2-D one, with a sentence saying whether the model betrays itself
along z even where its axial slices pass. Pure Python; no Django.

The sentence follows from the numbers by stated thresholds (``THRESHOLDS_NOTE``):

- an observer *tells* a model's images from real CT when its cross-validated AUC is at least ``TELLS_AUC`` and
  the lower end of its 95% CI is above 0.5; the axial slices *pass* when the 2-D observer (logistic regression on
  image features of displayed slices) does not tell;
- the z-gradient distribution *differs* when the synthetic volumes are more than ``Z_GRADIENT_LIMIT`` times as
  far (1-Wasserstein) from the reference half of the real volumes as the held-out half is;
- a model *betrays itself along z* when the volumetric observer tells, or the z-gradient distribution differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metrics.measures.vocabulary import METRIC_LABELS, VOLUME_METRICS
from reports.content.exports import MetricRow
from reports.content.model_comparison import DONE, ObserverRow

TELLS_AUC = 0.7
Z_GRADIENT_LIMIT = 2.0
INTERPRETABLE, VOLUMETRIC = "interpretable", "volumetric"
TITLE = "Realism along z: whole volumes"
THRESHOLDS_NOTE = (
    f"An observer tells a model's images from real CT when its AUC is at least {TELLS_AUC} and its 95% CI lies "
    f"above 0.5; the axial slices pass when the 2-D observer does not tell. The z-gradient distribution differs "
    f"when the synthetic volumes are more than {Z_GRADIENT_LIMIT:g} times as far (1-Wasserstein) from the "
    "reference half of the real volumes as the held-out real half is. A model betrays itself along z when the "
    "3-D observer tells or the z-gradient distribution differs."
)
MEASURE_NOTE = (
    "z-gradient: |HU difference| between neighbouring slices per mm, inside the body, every volume of both datasets "
    "resampled to their coarsest common grid; score = 1-Wasserstein distance between the pooled distributions of the "
    "synthetic volumes and of the reference half of the real volumes, baseline = the same between the two real "
    "halves, normalised = score / baseline. 3-D observer: the 2-D observer's logistic regression and patient-grouped "
    "cross-validation on 3-D features of the slab of 7 slices around each slice."
)


def observer_tells(row: ObserverRow | None) -> bool | None:
    """Whether an observer tells synthetic from real (see the module); None when it has no result."""
    if row is None or row.status != DONE or row.auc is None:
        return None
    return row.auc >= TELLS_AUC and row.ci_low is not None and row.ci_low > 0.5


@dataclass(frozen=True)
class ZRealismLine:
    """One model: its realism-along-z metric rows (by metric), its 2-D and 3-D observers, and the verdict."""

    model: str
    measures: dict[str, MetricRow]
    axial: ObserverRow | None
    volumetric: ObserverRow | None

    @property
    def gradient(self) -> MetricRow | None:
        return self.measures.get("z_gradient_w1")

    def gradient_differs(self) -> bool | None:
        row = self.gradient
        if row is None or row.normalised is None:
            return None
        return row.normalised > Z_GRADIENT_LIMIT

    def gradient_means(self) -> tuple[float, float] | None:
        """Mean z-gradient (HU/mm) of the real and the synthetic volumes."""
        row = self.gradient
        statistics = (row.detail or {}).get("statistics", {}).get("z_gradient_mean") if row else None
        if not statistics:
            return None
        return statistics["real_mean"], statistics["synthetic_mean"]

    def betrays_along_z(self) -> bool | None:
        tells, differs = observer_tells(self.volumetric), self.gradient_differs()
        if tells is None and differs is None:
            return None
        return bool(tells) or bool(differs)

    def _evidence(self) -> str:
        parts = []
        row = self.gradient
        if row is not None and row.normalised is not None:
            text = (
                f"z-gradient distribution {row.normalised:.1f}x as far from real CT as real CT is from itself"
            )
            means = self.gradient_means()
            if means:
                text += f" (mean {means[1]:.1f} vs {means[0]:.1f} HU/mm real)"
            parts.append(text)
        if self.volumetric is not None:
            parts.append(f"3-D observer {self.volumetric.text()}")
        if self.axial is not None:
            parts.append(f"2-D observer {self.axial.text()}")
        return "; ".join(parts)

    def sentence(self) -> str:
        """Whether the model betrays itself along z, and whether its axial slices pass, from the thresholds."""
        betrays, axial_tells = self.betrays_along_z(), observer_tells(self.axial)
        evidence = self._evidence()
        if betrays is None:
            return f"{self.model}: realism along z not computed yet" + (f" ({evidence})" if evidence else "")
        if betrays and axial_tells is False:
            verdict = "betrays itself along z although its axial slices pass"
        elif betrays and axial_tells:
            verdict = "is told from real CT both in axial slices and along z"
        elif betrays:
            verdict = "betrays itself along z (the 2-D observer has no result)"
        elif axial_tells:
            verdict = "is told in axial slices but not along z"
        else:
            verdict = "does not betray itself along z, and its axial slices pass"
        return f"{self.model} {verdict}: {evidence}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "measures": {
                metric: {
                    "label": METRIC_LABELS[metric],
                    "value": row.value,
                    "baseline": row.baseline,
                    "normalised": row.normalised,
                    "ci": (row.detail or {}).get("ci"),
                    "n_synthetic_volumes": row.n_synthetic,
                    "n_reference_volumes": row.n_reference,
                    "n_held_out_volumes": row.n_held_out,
                    "note": row.note,
                }
                for metric, row in self.measures.items()
            },
            "statistics": (self.gradient.detail or {}).get("statistics", {}) if self.gradient else {},
            "observer_2d": None if self.axial is None else self.axial.to_dict(),
            "observer_3d": None if self.volumetric is None else self.volumetric.to_dict(),
            "observer_2d_tells": observer_tells(self.axial),
            "observer_3d_tells": observer_tells(self.volumetric),
            "z_gradient_differs": self.gradient_differs(),
            "betrays_along_z": self.betrays_along_z(),
            "sentence": self.sentence(),
        }


def realism_along_z(
    models: Sequence[str], metric_rows: Sequence[MetricRow], observer_rows: Sequence[ObserverRow]
) -> tuple[ZRealismLine, ...]:
    """One line per model (in ``models``' order) that has a realism-along-z row or a volumetric observer row."""
    lines = []
    for model in models:
        measures = {
            row.metric: row for row in metric_rows if row.model == model and row.metric in VOLUME_METRICS
        }
        observers = {row.classifier: row for row in observer_rows if row.model == model}
        if not measures and VOLUMETRIC not in observers:
            continue
        lines.append(
            ZRealismLine(
                model=model,
                measures={metric: measures[metric] for metric in VOLUME_METRICS if metric in measures},
                axial=observers.get(INTERPRETABLE),
                volumetric=observers.get(VOLUMETRIC),
            )
        )
    return tuple(lines)


def realism_along_z_dict(lines: Sequence[ZRealismLine]) -> dict[str, Any] | None:
    """The stats JSON's ``realism_along_z`` section."""
    if not lines:
        return None
    return {
        "title": TITLE,
        "thresholds": {"tells_auc": TELLS_AUC, "z_gradient_normalised_limit": Z_GRADIENT_LIMIT},
        "notes": [THRESHOLDS_NOTE, MEASURE_NOTE],
        "models": [line.to_dict() for line in lines],
    }
