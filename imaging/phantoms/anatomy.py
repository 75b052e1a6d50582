"""One phantom patient: body habitus, organ sizes and positions, and their per-patient signal, drawn from a seed.

Lengths are in mm (x to the patient's left, y posterior); levels along the body are z fractions, 0 at the most
inferior CT slice (lower kidneys) and 1 at the most superior (lung bases).
"""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tube:
    """A short tube crossing the axial plane (bowel loop, hepatic vessel): where it is at each z fraction.

    x and y are fractions of the half-axes of what holds the tube (the abdominal cavity, the liver), so a tube stays
    inside its organ whatever the organ's size; the drifts are their change per unit z fraction.
    """

    x: float
    y: float
    x_drift: float
    y_drift: float
    radius_mm: float
    z_centre: float
    z_half_length: float
    gas_fraction: float = 0.0  # bowel only: share of the lumen (anterior, non-dependent) filled with gas


@dataclass(frozen=True)
class Rib:
    """One rib on one side: seen where it crosses the plane, at an angle around the body that moves with z."""

    side: int  # +1 patient left, -1 patient right
    z_posterior: float  # z fraction where the rib leaves the spine (its highest point)
    lowest_angle_deg: float  # floating ribs stop early; anterior ribs continue as far as -75 degrees
    radius_mm: float


@dataclass(frozen=True)
class PhantomAnatomy:
    """Everything that makes one phantom patient: lengths in mm (x to patient left, y posterior), z as fractions."""

    body_half_width_mm: float
    body_half_depth_mm: float
    body_centre_y_mm: float
    subcutaneous_fat_mm: float
    muscle_wall_mm: float
    posterior_shift_mm: float  # how much deeper the posterior wall (paraspinal muscles) is than the anterior
    vertebra_half_width_mm: float
    vertebra_half_depth_mm: float
    spinal_canal_radius_mm: float
    disc_phase: float
    disc_period: float
    liver_size: float
    liver_shift_x_mm: float
    liver_shape: tuple[tuple[int, float, float], ...]  # (harmonic, amplitude, phase) of the outline
    liver_fat_fraction: float
    gallbladder_z: float
    gallbladder_size: float
    spleen_size: float
    spleen_z: float
    spleen_shape: tuple[tuple[int, float, float], ...]
    kidney_size: float
    kidney_z_left: float
    kidney_z_right: float
    kidney_half_length: float
    kidney_lateral_mm: float
    aorta_radius_mm: float
    aorta_offset_x_mm: float
    stomach_gas_fraction: float
    lung_start_z: float
    lung_size: float
    liver_vessels: tuple[Tube, ...]
    bowel_loops: tuple[Tube, ...]
    ribs: tuple[Rib, ...]
    aorta_contrast_hu: float
    kidney_cortex_contrast_hu: float
    cortical_bone_hu: float
    lung_hu: float
    ct_noise_hu: float
    mr_noise: float
    t1_gain: float
    t2_gain: float
    coil_gradient: tuple[float, float]
    coil_peripheral_gain: float

    @property
    def widest_half_width_mm(self) -> float:
        return self.body_half_width_mm * body_widening(1.2)


def body_widening(z_fraction: float) -> float:
    # The lower rib cage is a little wider than the waist.
    return 1.0 + 0.04 * min(max(z_fraction, 0.0), 1.2)


def _outline(rng: np.random.Generator, amplitude: float) -> tuple[tuple[int, float, float], ...]:
    return tuple(
        (k, float(rng.uniform(0.3, 1.0) * amplitude / k), float(rng.uniform(0, 2 * math.pi)))
        for k in (2, 3, 4)
    )


def phantom_anatomy(rng: np.random.Generator) -> PhantomAnatomy:
    """Draw one patient's anatomy; the same generator state gives the same patient."""
    fat = rng.uniform(10, 32)
    muscle = rng.uniform(8, 13)
    half_width = rng.uniform(128, 145) + 0.6 * fat
    half_depth = rng.uniform(104, 118) + 0.5 * fat
    kidney_low = rng.uniform(0.16, 0.24)
    return PhantomAnatomy(
        body_half_width_mm=half_width,
        body_half_depth_mm=half_depth,
        body_centre_y_mm=rng.uniform(-6, 6),
        subcutaneous_fat_mm=fat,
        muscle_wall_mm=muscle,
        posterior_shift_mm=rng.uniform(16, 20),
        vertebra_half_width_mm=rng.uniform(19, 23),
        vertebra_half_depth_mm=rng.uniform(14, 17),
        spinal_canal_radius_mm=rng.uniform(7, 9),
        disc_phase=rng.uniform(0, 1),
        disc_period=rng.uniform(0.115, 0.135),
        liver_size=rng.uniform(0.9, 1.08),
        liver_shift_x_mm=rng.uniform(-8, 8),
        liver_shape=_outline(rng, 0.07),
        liver_fat_fraction=rng.uniform(0.02, 0.25),
        gallbladder_z=rng.uniform(0.44, 0.52),
        gallbladder_size=rng.uniform(0.8, 1.2),
        spleen_size=rng.uniform(0.85, 1.15),
        spleen_z=rng.uniform(0.74, 0.84),
        spleen_shape=_outline(rng, 0.08),
        kidney_size=rng.uniform(0.9, 1.1),
        kidney_z_left=kidney_low + rng.uniform(0.03, 0.07),
        kidney_z_right=kidney_low,
        kidney_half_length=rng.uniform(0.2, 0.24),
        kidney_lateral_mm=rng.uniform(34, 42),
        aorta_radius_mm=rng.uniform(10, 13),
        aorta_offset_x_mm=rng.uniform(4, 10),
        stomach_gas_fraction=rng.uniform(0.2, 0.6),
        lung_start_z=rng.uniform(0.76, 0.82),
        lung_size=rng.uniform(0.85, 1.1),
        liver_vessels=_liver_vessels(rng),
        bowel_loops=_bowel_loops(rng),
        ribs=_ribs(rng),
        aorta_contrast_hu=rng.uniform(180, 250),
        kidney_cortex_contrast_hu=rng.uniform(170, 220),
        cortical_bone_hu=rng.uniform(700, 1000),
        lung_hu=rng.uniform(-880, -820),
        ct_noise_hu=rng.uniform(10, 18),
        mr_noise=rng.uniform(10, 18),
        t1_gain=rng.uniform(1.05, 1.35),
        t2_gain=rng.uniform(0.9, 1.1),
        coil_gradient=(float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.15, 0.15))),
        coil_peripheral_gain=rng.uniform(0.1, 0.25),
    )


def _liver_vessels(rng: np.random.Generator) -> tuple[Tube, ...]:
    return tuple(
        Tube(
            x=rng.uniform(-0.6, 0.6),
            y=rng.uniform(-0.6, 0.6),
            x_drift=rng.uniform(-0.8, 0.8),
            y_drift=rng.uniform(-0.8, 0.8),
            radius_mm=rng.uniform(2.5, 6.0),
            z_centre=rng.uniform(0.45, 0.95),
            z_half_length=rng.uniform(0.08, 0.25),
        )
        for _ in range(int(rng.integers(8, 14)))
    )


def _bowel_loops(rng: np.random.Generator) -> tuple[Tube, ...]:
    """Small bowel loops in the anterior lower abdomen, plus the ascending and descending colon.

    x, y here are fractions of the abdominal cavity's half-axes; all gas stays anterior to the vertebral body,
    so the posterior abdomen of the lower slices holds no air.
    """
    loops = []
    for _ in range(int(rng.integers(14, 22))):
        content = rng.uniform()
        gas = 0.0 if content < 0.7 else (1.0 if content < 0.85 else rng.uniform(0.3, 0.6))
        loops.append(
            Tube(
                x=rng.uniform(-0.55, 0.55),
                y=rng.uniform(-0.75, -0.05),
                x_drift=rng.uniform(-0.4, 0.4),
                y_drift=rng.uniform(-0.3, 0.3),
                radius_mm=rng.uniform(8, 14),
                z_centre=rng.uniform(-0.05, 0.5),
                z_half_length=rng.uniform(0.04, 0.1),
                gas_fraction=gas,
            )
        )
    ascending = Tube(
        x=-0.74,
        y=-0.1,
        x_drift=0.05,
        y_drift=0.0,
        radius_mm=rng.uniform(15, 20),
        z_centre=0.2,
        z_half_length=rng.uniform(0.32, 0.38),
        gas_fraction=rng.uniform(0.2, 0.7),
    )
    descending = Tube(
        x=0.78,
        y=-0.05,
        x_drift=-0.05,
        y_drift=0.0,
        radius_mm=rng.uniform(11, 15),
        z_centre=0.3,
        z_half_length=rng.uniform(0.42, 0.48),
        gas_fraction=rng.uniform(0.3, 0.8),
    )
    return (*loops, ascending, descending)


def _ribs(rng: np.random.Generator) -> tuple[Rib, ...]:
    ribs = []
    for side in (-1, 1):
        top = rng.uniform(1.4, 1.48)
        step = rng.uniform(0.08, 0.095)
        for k in range(12):
            # Ribs 1-7 reach the sternum; 8-10 end on the costal margin, further back the lower they are;
            # 11 and 12 float.
            lowest = -75.0 + max(k - 5, 0) * 15.0
            ribs.append(
                Rib(
                    side=side,
                    z_posterior=top - k * step + rng.uniform(-0.01, 0.01),
                    lowest_angle_deg=rng.uniform(5, 25) if k >= 10 else lowest + rng.uniform(-5, 5),
                    radius_mm=rng.uniform(4.0, 5.5),
                )
            )
    return tuple(ribs)


def patient_rng(seed: int, patient: int) -> np.random.Generator:
    """The generator that draws patient `patient`'s anatomy (then its scan geometry) for a given seed."""
    return np.random.default_rng([seed, patient])
