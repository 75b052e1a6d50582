"""Multi-reader multi-case (MRMC) analysis: Obuchowski-Rockette (OR) with Hillis' denominator degrees of freedom.

A "modality" is what is compared (in Blindread: a model, i.e. a survey). Every reader reads cases in every
modality; the figure of merit (FOM) of reader j in modality i is theta_ij. The OR model is
theta_ij = mu + tau_i + R_j + (tau R)_ij + e_ij, with random reader effects and correlated errors whose covariance
is estimated by the jackknife over cases: Var (same reader, same modality), Cov1 (same reader, different
modality), Cov2 (different reader, same modality), Cov3 (different reader, different modality). The three
generalisations are random readers and random cases (RRRC, Hillis 2007 ddf), fixed readers and random cases
(FRRC, chi-squared) and random readers and fixed cases (RRFC, the ANOVA of the FOMs).

Cases need not be shared by the modalities. The jackknife runs within each modality over its own cases; the
covariance between two modalities sums over the cases they share only. Cases read in one modality alone (in
Blindread every synthetic slice belongs to one model) are independent samples and contribute nothing to Cov1 and
Cov3: the cases-nested-within-modality (split-plot) structure. With no shared case Cov1 = Cov3 = 0 and the
formulas reduce to the unpaired-case OR model. See docs/statistics.md for the references.

Everything returns frozen dataclasses; what cannot be estimated comes back with ``estimable=False`` and a
one-line ``reason`` ("not estimable because ..."), never NaN or an exception (bad input raises ValueError).
"""

from readerstats.mrmc.jackknife import (
    FOM_LABELS,
    FOMS,
    NotEstimable,
    _modality_data,
    _scores,
    readings,
    too_few_readings,
)
from readerstats.mrmc.obuchowski_rockette import METHOD, or_analysis
from readerstats.mrmc.results import (
    ModalityDifference,
    ModalityEstimate,
    OrAnalysis,
    OrTest,
    OrVarianceComponents,
    _difference,
)
from readerstats.mrmc.split_plot import METHOD as SPLIT_PLOT_METHOD
from readerstats.mrmc.split_plot import OrSplitPlot, or_split_plot

__all__ = [
    "FOMS",
    "FOM_LABELS",
    "METHOD",
    "ModalityDifference",
    "ModalityEstimate",
    "NotEstimable",
    "OrAnalysis",
    "OrTest",
    "OrVarianceComponents",
    "OrSplitPlot",
    "SPLIT_PLOT_METHOD",
    "or_split_plot",
    "_difference",
    "_modality_data",
    "_scores",
    "or_analysis",
    "readings",
    "too_few_readings",
]
