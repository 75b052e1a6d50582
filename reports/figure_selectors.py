"""Reads for the report's image figures: the slices each figure shows, chosen by seed (reports.content.
paper_figures.choice) and read through the doors of the apps that own them: imaging (datasets, slices, pixels),
generation (which MRI slices made which synthetic ones) and studies (what readers were sent for an item)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from generation import selectors as generation
from imaging import selectors as images
from imaging.constants import DEFAULT_CT_WINDOW
from imaging.pixels import load_slice_pixels
from imaging.rendering import auto_window
from reports.content.exports import AnswerRow
from reports.content.paper_figures import (
    DiscussedItem,
    ModelOutput,
    ShownSlice,
    SpectralPair,
    discussed_items,
    figure_rng,
    most_discussed,
    representative_by_layer,
)
from reports.content.paper_figures.discussed import reason_counts
from studies import selectors as studies
from studies.models import Survey

MODALITY_NAMES = {"ct": "CT", "t1_in": "T1 in-phase", "t1_out": "T1 out-of-phase", "t2": "T2"}
DISCUSSED_ITEMS = 6
"""How many of the most-discussed items Fig. 10 shows (the paper shows eight, a to h, over all its surveys)."""


@dataclass
class PixelCache:
    """Each slice's pixels read once per report, however many figures show it."""

    loaded: dict[str, np.ndarray] = field(default_factory=dict)

    def __call__(self, storage_name: str) -> np.ndarray:
        if storage_name not in self.loaded:
            self.loaded[storage_name] = load_slice_pixels(storage_name)
        return self.loaded[storage_name]


def _ct(hu: np.ndarray, label: str) -> ShownSlice:
    return ShownSlice.windowed(hu, label=label, width=DEFAULT_CT_WINDOW.width, level=DEFAULT_CT_WINDOW.level)


@dataclass(frozen=True)
class LayerSlices:
    """Fig. 4's columns (a dataset's title and its slice of each layer) and, by dataset id, the slices chosen,
    as HU, for Fig. 8."""

    columns: list[tuple[str, dict[int, ShownSlice]]]
    hu: dict[int, dict[int, np.ndarray]]


def _unique_datasets(surveys: Sequence[Survey]):
    reals = list({survey.real_dataset_id: survey.real_dataset for survey in surveys}.values())
    models = {}
    for survey in surveys:
        models.setdefault(survey.model_dataset_id, (survey.model_dataset, survey.model_alias))
    return reals, list(models.values())


def layer_slices(surveys: Sequence[Survey], pixels: PixelCache | None = None) -> LayerSlices:
    """A representative slice of every axial layer of each real CT dataset and each model of ``surveys``: per
    dataset and layer, a patient drawn with the dataset's own seed and their middle slice of the layer (the same
    slices in every report of that dataset)."""
    pixels = pixels or PixelCache()
    reals, models = _unique_datasets(surveys)
    titled = [(dataset, f"Real CT: {dataset.name}") for dataset in reals]
    titled += [(model, f"{alias}: {model.name}" if alias else model.name) for model, alias in models]
    columns, hu = [], {}
    for dataset, title in titled:
        chosen = representative_by_layer(images.layered_ct_slices(dataset), figure_rng("fig4", dataset.name))
        hu[dataset.pk] = {layer: pixels(stored.pixels) for layer, stored in chosen.items()}
        columns.append(
            (
                title,
                {
                    layer: _ct(hu[dataset.pk][layer], f"{stored.patient}, slice {stored.index}")
                    for layer, stored in chosen.items()
                },
            )
        )
    return LayerSlices(columns=columns, hu=hu)


def spectral_pairs(surveys: Sequence[Survey], layers: LayerSlices) -> list[SpectralPair]:
    """Per survey, its real CT's and its model's representative slices (Fig. 4's) of one axial layer both have,
    the layer drawn with the survey's seed."""
    pairs, seen = [], set()
    for survey in surveys:
        key = (survey.real_dataset_id, survey.model_dataset_id)
        real, synthetic = (
            layers.hu.get(survey.real_dataset_id, {}),
            layers.hu.get(survey.model_dataset_id, {}),
        )
        common = sorted(set(real) & set(synthetic))
        if key in seen or not common:
            continue
        seen.add(key)
        layer = figure_rng("fig8", survey.name).choice(common)
        model = survey.model_alias or survey.model_dataset.name
        pairs.append(
            SpectralPair(
                model=model,
                layer=layer,
                real=_ct(real[layer], f"Real CT: {survey.real_dataset.name}"),
                synthetic=_ct(synthetic[layer], model),
                real_hu=real[layer],
                synthetic_hu=synthetic[layer],
            )
        )
    return pairs


@dataclass(frozen=True)
class MriThroughModels:
    """Fig. 9: the MRI slice chosen (its patient, modality and layer) and each model's row."""

    patient: str
    modality: str
    layer: int | None
    rows: list[ModelOutput]


def mri_through_models(
    surveys: Sequence[Survey], pixels: PixelCache | None = None
) -> MriThroughModels | None:
    """One MRI slice that the most models of ``surveys`` made a synthetic slice from (drawn with the selection's
    seed among those), with each such model's inputs and output; None when no model of the surveys was generated
    here (imported synthetic datasets have no inputs)."""
    pixels = pixels or PixelCache()
    _, models = _unique_datasets(surveys)
    names = {model.pk: alias or model.name for model, alias in models}
    made_from: dict[int, dict[int, generation.Derivation]] = {}
    for derivation in generation.derivations_into(model for model, _ in models):
        for source in derivation.source_slice_ids:
            made_from.setdefault(source, {}).setdefault(derivation.output_dataset_id, derivation)
    if not made_from:
        return None
    most = max(len(models_of) for models_of in made_from.values())
    candidates = sorted(source for source, models_of in made_from.items() if len(models_of) == most)
    chosen = figure_rng("fig9", *sorted(names.values())).choice(candidates)
    derivations = [made_from[chosen][pk] for pk in names if pk in made_from[chosen]]
    slices = images.slices_by_ids(
        {chosen}
        | {d.output_slice_id for d in derivations}
        | {s for d in derivations for s in d.source_slice_ids}
    )
    windows = {}
    rows = []
    for derivation in derivations:
        inputs = []
        for source_id, modality in zip(
            derivation.source_slice_ids, derivation.input_modalities, strict=False
        ):
            values = pixels(slices[source_id].pixels)
            # one window per MRI slice, so a slice looks the same in every row that takes it
            width, level = windows.setdefault(source_id, auto_window(values))
            inputs.append(
                ShownSlice.windowed(
                    values, label=MODALITY_NAMES.get(modality, modality), width=width, level=level
                )
            )
        output = slices[derivation.output_slice_id]
        rows.append(
            ModelOutput(
                model=_model_name(names[derivation.output_dataset_id], derivation.checkpoint),
                inputs=tuple(inputs),
                output=_ct(pixels(output.pixels), "synthetic CT"),
            )
        )
    source = slices[chosen]
    return MriThroughModels(
        patient=source.volume.patient, modality=source.volume.modality, layer=source.axial_layer, rows=rows
    )


def _model_name(shown: str, checkpoint: str) -> str:
    """A model as the report names it, with the checkpoint that made its slices when that is another name."""
    return shown if checkpoint == shown else f"{shown} ({checkpoint})"


def most_discussed_items(surveys: Sequence[Survey], rows: Sequence[AnswerRow]) -> list[DiscussedItem]:
    """Fig. 10: the items with the most reasons (ties drawn with the selection's seed), each with its slice as
    readers were sent it, under the survey's default window."""
    keys = most_discussed(
        reason_counts(rows), DISCUSSED_ITEMS, figure_rng("fig10", *[s.name for s in surveys])
    )
    items = discussed_items(rows, keys)
    shown = studies.items_as_shown(item.item for item in items)
    result = []
    for item in items:
        if item.item in shown:
            values, policy = shown[item.item]
            item = replace(
                item,
                shown=ShownSlice.windowed(
                    values,
                    label=item.item,
                    width=policy.default_window_width,
                    level=policy.default_window_level,
                ),
            )
        result.append(item)
    return result
