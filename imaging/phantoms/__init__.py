"""Procedural abdominal phantoms written as DICOM series in the CHAOS challenge layout; no Django here.

Each patient is a `PhantomAnatomy` drawn from a seeded generator (`anatomy`): body habitus, organ sizes and
positions, liver fat, contrast enhancement and scanner noise. A slice is made in two steps: `labels.tissue_labels`
paints a label map of `Tissue` for one axial level, then `signal` turns it into CT Hounsfield units
(`ct_hu_from_labels`) or MR signal (`mr_from_labels`), with partial volume, correlated CT noise, Rician MR noise and
a coil bias field. `geometry` plans each patient's matrices, spacings and slice positions; `series` writes the
files through `imaging.dicom`'s writer. Axial levels are z fractions: 0 is the most inferior CT slice (lower
kidneys), 1 the most superior (lung bases).

`write_phantoms` writes, per patient, under OUTDIR:

    CT/<patient>/DICOM_anon/*.dcm                          contrast-enhanced CT (portal venous phase)
    CT_noncontrast/<patient>/DICOM_anon/*.dcm              non-contrast CT of the same anatomy
    MR/<patient>/T1DUAL/DICOM_anon/{InPhase,OutPhase}/*.dcm T1 dual echo, both echoes at the same positions
    MR/<patient>/T2SPIR/DICOM_anon/*.dcm                   T2, at positions offset from the T1 slices

The same seed gives byte-identical files: every random draw and every UID derives from (seed, patient, series,
slice).
"""

from imaging.phantoms.anatomy import PhantomAnatomy, Rib, Tube, patient_rng, phantom_anatomy
from imaging.phantoms.geometry import (
    CT_PIXEL_MM,
    CT_SLICE_MM,
    DEFAULT_CT_MATRIX,
    DEFAULT_CT_SLICES,
    DEFAULT_MR_MATRIX,
    DEFAULT_MR_SLICES,
    MR_PIXEL_MM,
    MR_SLICE_MM,
)
from imaging.phantoms.labels import FAT_TISSUES, WATER_TISSUES, Tissue, tissue_labels
from imaging.phantoms.series import PatientSummary, PhantomSummary, SeriesSummary, write_phantoms
from imaging.phantoms.signal import TISSUE_SIGNALS, TissueSignal, ct_hu_from_labels, mr_from_labels

__all__ = [
    "CT_PIXEL_MM",
    "CT_SLICE_MM",
    "DEFAULT_CT_MATRIX",
    "DEFAULT_CT_SLICES",
    "DEFAULT_MR_MATRIX",
    "DEFAULT_MR_SLICES",
    "FAT_TISSUES",
    "MR_PIXEL_MM",
    "MR_SLICE_MM",
    "TISSUE_SIGNALS",
    "WATER_TISSUES",
    "PatientSummary",
    "PhantomAnatomy",
    "PhantomSummary",
    "Rib",
    "SeriesSummary",
    "Tissue",
    "TissueSignal",
    "Tube",
    "ct_hu_from_labels",
    "mr_from_labels",
    "patient_rng",
    "phantom_anatomy",
    "tissue_labels",
    "write_phantoms",
]
