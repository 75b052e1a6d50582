"""The paper's image figures, drawn from pixels handed in (no Django, no storage): a representative slice of each
axial layer beside each model's (Fig. 4), a real and a synthetic slice with their spectra (Fig. 8), one MRI slice
through every model that accepts it (Fig. 9) and the most-discussed items with the readers' answers and reasons
(Fig. 10), with the remaining comments as a table.

The report job (reports.services.report_figures) reads the pixels through imaging, generation and studies,
chooses them with :mod:`.choice` (seeded, so the same data give the same figures) and stores what
:func:`.artefacts.drawn` returns."""

from reports.content.paper_figures.artefacts import DrawnFigure, drawn, table_artefact
from reports.content.paper_figures.choice import figure_rng, most_discussed, representative_by_layer
from reports.content.paper_figures.discussed import (
    DiscussedItem,
    comment_rows,
    comments_csv,
    discussed_items,
    discussed_items_figure,
)
from reports.content.paper_figures.panels import (
    ModelOutput,
    ShownSlice,
    layer_slices_figure,
    mri_through_models_figure,
)
from reports.content.paper_figures.spectra import SpectralPair, spectral_pairs_figure

__all__ = [
    "DiscussedItem",
    "DrawnFigure",
    "ModelOutput",
    "ShownSlice",
    "SpectralPair",
    "comment_rows",
    "comments_csv",
    "discussed_items",
    "discussed_items_figure",
    "drawn",
    "figure_rng",
    "layer_slices_figure",
    "most_discussed",
    "mri_through_models_figure",
    "representative_by_layer",
    "spectral_pairs_figure",
    "table_artefact",
]
