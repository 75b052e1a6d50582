"""From label maps to pixels: CT HU with partial volume and correlated noise; MR signal with chemical shift,
Rician noise and a coil bias field."""

import functools
from dataclasses import dataclass

import numpy as np

from imaging.constants import HU_MAX, HU_MIN, MR_MODALITIES
from imaging.phantoms.anatomy import PhantomAnatomy
from imaging.phantoms.labels import Tissue

MR_MAX_SIGNAL = 4095  # 12 bits


@dataclass(frozen=True)
class TissueSignal:
    """Typical signal of a tissue: CT HU without and with contrast; T1 water and fat signal; T2 signal.

    T1 in-phase shows water + fat, out-of-phase |water - fat|; MR values are arbitrary units before gain.
    """

    hu_plain: float
    hu_contrast: float
    t1_water: float
    t1_fat: float
    t2: float


# Liver, aorta, kidney cortex, lung and cortical bone are adjusted per patient (see `_signal_table`).
# T2 fat is medium-bright here although SPIR suppresses part of it, so fat/water boundaries stay readable.
TISSUE_SIGNALS: dict[Tissue, TissueSignal] = {
    Tissue.AIR: TissueSignal(-1000, -1000, 0, 0, 0),
    Tissue.LUNG: TissueSignal(-850, -850, 25, 0, 30),
    Tissue.SKIN: TissueSignal(30, 40, 400, 60, 300),
    Tissue.SUBCUTANEOUS_FAT: TissueSignal(-105, -105, 90, 900, 520),
    Tissue.VISCERAL_FAT: TissueSignal(-95, -95, 90, 880, 500),
    Tissue.RENAL_SINUS_FAT: TissueSignal(-90, -90, 90, 850, 480),
    Tissue.MUSCLE: TissueSignal(52, 62, 360, 20, 150),
    Tissue.DIAPHRAGM: TissueSignal(52, 65, 360, 20, 150),
    Tissue.LIVER: TissueSignal(62, 112, 600, 0, 230),
    Tissue.HEPATIC_VESSEL: TissueSignal(40, 165, 180, 0, 350),
    Tissue.SPLEEN: TissueSignal(46, 125, 430, 0, 600),
    Tissue.PANCREAS: TissueSignal(42, 105, 640, 40, 380),
    Tissue.KIDNEY_CORTEX: TissueSignal(33, 195, 470, 0, 750),
    Tissue.KIDNEY_MEDULLA: TissueSignal(30, 110, 340, 0, 1000),
    Tissue.URINE: TissueSignal(8, 10, 90, 0, 1800),
    Tissue.BILE: TissueSignal(6, 6, 160, 0, 1850),
    Tissue.AORTA: TissueSignal(42, 210, 120, 0, 60),  # flowing blood: dark on T1 GRE, flow void on T2
    Tissue.VEIN: TissueSignal(40, 150, 200, 0, 250),
    Tissue.CSF: TissueSignal(8, 8, 110, 0, 1900),
    Tissue.SPINAL_CORD: TissueSignal(35, 38, 380, 0, 600),
    Tissue.CORTICAL_BONE: TissueSignal(850, 850, 30, 0, 30),
    Tissue.CANCELLOUS_BONE: TissueSignal(240, 250, 280, 380, 420),  # fatty marrow: drops on out-of-phase
    Tissue.DISC: TissueSignal(90, 95, 300, 0, 1100),
    Tissue.BOWEL_WALL: TissueSignal(38, 105, 380, 30, 250),
    Tissue.BOWEL_FLUID: TissueSignal(12, 14, 140, 0, 1600),
    Tissue.BOWEL_GAS: TissueSignal(-1000, -1000, 0, 0, 0),
}


def _signal_table(anatomy: PhantomAnatomy) -> dict[Tissue, TissueSignal]:
    table = dict(TISSUE_SIGNALS)
    fat = anatomy.liver_fat_fraction
    liver = table[Tissue.LIVER]
    # A fatty liver is darker on CT (real livers lose 1-2 HU per percent of fat; milder here so the liver stays in
    # its usual band) and loses signal out of phase.
    table[Tissue.LIVER] = TissueSignal(
        liver.hu_plain - 40 * fat,
        liver.hu_contrast - 40 * fat,
        liver.t1_water * (1 - fat),
        liver.t1_water * fat,
        liver.t2,
    )
    aorta = table[Tissue.AORTA]
    table[Tissue.AORTA] = TissueSignal(aorta.hu_plain, anatomy.aorta_contrast_hu, aorta.t1_water, 0, aorta.t2)
    cortex = table[Tissue.KIDNEY_CORTEX]
    table[Tissue.KIDNEY_CORTEX] = TissueSignal(
        cortex.hu_plain, anatomy.kidney_cortex_contrast_hu, cortex.t1_water, cortex.t1_fat, cortex.t2
    )
    bone = table[Tissue.CORTICAL_BONE]
    table[Tissue.CORTICAL_BONE] = TissueSignal(
        anatomy.cortical_bone_hu, anatomy.cortical_bone_hu, bone.t1_water, bone.t1_fat, bone.t2
    )
    lung = table[Tissue.LUNG]
    table[Tissue.LUNG] = TissueSignal(anatomy.lung_hu, anatomy.lung_hu, lung.t1_water, lung.t1_fat, lung.t2)
    return table


def _lookup(anatomy: PhantomAnatomy, field: str) -> np.ndarray:
    table = _signal_table(anatomy)
    values = np.zeros(256, dtype=np.float32)
    for tissue, signal in table.items():
        values[tissue] = getattr(signal, field)
    return values


def _smooth(image: np.ndarray, side_weight: float) -> np.ndarray:
    """Separable 3-tap blur [w, 1-2w, w] with edge replication (float32 in, float32 out)."""
    w = np.float32(side_weight)
    rows = image * np.float32(1.0 - 2.0 * side_weight)
    rows[1:] += w * image[:-1]
    rows[:-1] += w * image[1:]
    rows[0] += w * image[0]
    rows[-1] += w * image[-1]
    out = rows * np.float32(1.0 - 2.0 * side_weight)
    out[:, 1:] += w * rows[:, :-1]
    out[:, :-1] += w * rows[:, 1:]
    out[:, 0] += w * rows[:, 0]
    out[:, -1] += w * rows[:, -1]
    return out


_NOISE_SMOOTHING = 0.25
# Standard deviation left after _smooth(white noise, 0.25): (0.25^2 + 0.5^2 + 0.25^2) per axis, square-rooted.
_NOISE_SMOOTHING_GAIN = 0.375


@functools.cache
def _outside_reconstruction_circle(matrix: int) -> np.ndarray:
    # The scanner has no data outside the circle the reconstruction covers.
    index = np.arange(matrix, dtype=np.float32) - (matrix - 1) / 2
    outside = index[:, None] ** 2 + index[None, :] ** 2 > (matrix / 2) ** 2
    outside.flags.writeable = False
    return outside


def ct_hu_from_labels(
    anatomy: PhantomAnatomy, labels: np.ndarray, contrast: bool, rng: np.random.Generator
) -> np.ndarray:
    """CT HU (int16) of a label map: tissue HU, a little partial volume, correlated Gaussian noise."""
    hu = _lookup(anatomy, "hu_contrast" if contrast else "hu_plain")[labels]
    hu = _smooth(hu, 0.15)
    noise = rng.standard_normal(labels.shape, dtype=np.float32)
    hu += _smooth(noise, _NOISE_SMOOTHING) * np.float32(anatomy.ct_noise_hu / _NOISE_SMOOTHING_GAIN)
    hu[_outside_reconstruction_circle(labels.shape[0])] = HU_MIN
    return np.clip(np.rint(hu), HU_MIN, HU_MAX).astype(np.int16)


def _coil_sensitivity(anatomy: PhantomAnatomy, matrix: int, spacing: float) -> np.ndarray:
    """Smooth receive-coil bias: brighter towards the surface coil elements and along a small gradient."""
    coords = (np.arange(matrix, dtype=np.float32) - (matrix - 1) / 2) * np.float32(spacing)
    half = np.float32(anatomy.widest_half_width_mm)
    x, y = coords[None, :] / half, coords[:, None] / half
    gx, gy = anatomy.coil_gradient
    return (
        1.0
        + np.float32(gx) * x
        + np.float32(gy) * y
        + np.float32(anatomy.coil_peripheral_gain) * (x * x + y * y)
    )


def mr_from_labels(
    anatomy: PhantomAnatomy, labels: np.ndarray, sequence: str, spacing: float, rng: np.random.Generator
) -> np.ndarray:
    """MR signal (uint16, 0..4095) of a label map for sequence t1_in, t1_out or t2."""
    if sequence not in MR_MODALITIES:
        raise ValueError(f"unknown MR sequence {sequence!r}; expected one of {', '.join(MR_MODALITIES)}")
    if sequence == "t2":
        signal = _smooth(_lookup(anatomy, "t2")[labels], 0.25) * np.float32(anatomy.t2_gain)
    else:
        # Blur water and fat separately (partial volume), then let the echoes add or cancel them: a voxel that
        # is half fat, half water is bright in phase and black out of phase, hence the India-ink rim.
        water = _smooth(_lookup(anatomy, "t1_water")[labels], 0.25)
        fat = _smooth(_lookup(anatomy, "t1_fat")[labels], 0.25)
        signal = (water + fat) if sequence == "t1_in" else np.abs(water - fat)
        signal *= np.float32(anatomy.t1_gain)
    signal *= _coil_sensitivity(anatomy, labels.shape[0], spacing)
    sigma = np.float32(anatomy.mr_noise * (1.2 if sequence == "t2" else 1.0))
    real = signal + sigma * rng.standard_normal(labels.shape, dtype=np.float32)
    imaginary = sigma * rng.standard_normal(labels.shape, dtype=np.float32)
    magnitude = np.sqrt(real * real + imaginary * imaginary)
    return np.clip(np.rint(magnitude), 0, MR_MAX_SIGNAL).astype(np.uint16)
