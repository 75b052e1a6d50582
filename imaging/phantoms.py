"""Procedural abdominal phantoms written as DICOM series in the CHAOS challenge layout; no Django here.

Each patient is a `PhantomAnatomy` drawn from a seeded generator: body habitus, organ sizes and positions, liver
fat, contrast enhancement and scanner noise. A slice is rendered in three steps: `tissue_labels` paints a label map
of `Tissue` for one axial level, then the label map is turned into CT Hounsfield units (`ct_slice_hu`) or MR signal
(`mr_slice`), with partial volume, correlated CT noise, Rician MR noise and a coil bias field. Axial levels are
given as a z fraction: 0 is the most inferior CT slice (lower kidneys), 1 the most superior (lung bases).

`write_phantoms` writes, per patient, under OUTDIR:

    CT/<patient>/DICOM_anon/*.dcm                          contrast-enhanced CT (portal venous phase)
    CT_noncontrast/<patient>/DICOM_anon/*.dcm              non-contrast CT of the same anatomy
    MR/<patient>/T1DUAL/DICOM_anon/{InPhase,OutPhase}/*.dcm T1 dual echo, both echoes at the same positions
    MR/<patient>/T2SPIR/DICOM_anon/*.dcm                   T2, at positions offset from the T1 slices

Geometry per patient (at the default matrices; pixel spacing scales with 512/ct_matrix and 256/mr_matrix so the
field of view stays the same): CT pixel spacing 0.70-0.80 mm, slice spacing 3.00-3.20 mm; MR pixel spacing
1.36-1.89 mm, slice spacing 6.0-9.0 mm, chosen so the MR stack covers about the CT range. The same seed gives
byte-identical files: every random draw and every UID derives from (seed, patient, series, slice).
"""

import enum
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

DEFAULT_CT_MATRIX = 512
DEFAULT_MR_MATRIX = 256
DEFAULT_CT_SLICES = 90
DEFAULT_MR_SLICES = 36
MIN_MATRIX = 32
MAX_MATRIX = 2048
MAX_SLICES = 1000

CT_PIXEL_MM = (0.70, 0.80)
CT_SLICE_MM = (3.00, 3.20)
MR_PIXEL_MM = (1.36, 1.89)
MR_SLICE_MM = (6.0, 9.0)

HU_MIN, HU_MAX = -1024, 3071  # what 12 stored bits hold with RescaleIntercept -1024
CT_RESCALE_INTERCEPT = -1024
MR_MAX_SIGNAL = 4095

ECHO_TIME_MS = {"t1_in": 4.4, "t1_out": 2.2, "t2": 80.0}
MR_SEQUENCES = tuple(ECHO_TIME_MS)

Progress = Callable[[int, int], None]


class Tissue(enum.IntEnum):
    """Labels of the label map; each has its CT and MR signal in TISSUE_SIGNALS."""

    AIR = 0
    LUNG = 1
    SKIN = 2
    SUBCUTANEOUS_FAT = 3
    VISCERAL_FAT = 4
    RENAL_SINUS_FAT = 5
    MUSCLE = 6
    DIAPHRAGM = 7
    LIVER = 8
    HEPATIC_VESSEL = 9
    SPLEEN = 10
    PANCREAS = 11
    KIDNEY_CORTEX = 12
    KIDNEY_MEDULLA = 13
    URINE = 14
    BILE = 15
    AORTA = 16
    VEIN = 17
    CSF = 18
    SPINAL_CORD = 19
    CORTICAL_BONE = 20
    CANCELLOUS_BONE = 21
    DISC = 22
    BOWEL_WALL = 23
    BOWEL_FLUID = 24
    BOWEL_GAS = 25


FAT_TISSUES = frozenset({Tissue.SUBCUTANEOUS_FAT, Tissue.VISCERAL_FAT, Tissue.RENAL_SINUS_FAT})
WATER_TISSUES = frozenset(
    {Tissue.MUSCLE, Tissue.LIVER, Tissue.SPLEEN, Tissue.KIDNEY_CORTEX, Tissue.KIDNEY_MEDULLA, Tissue.PANCREAS}
)


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


# --- one patient -----------------------------------------------------------------------------------------------


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
        return self.body_half_width_mm * _body_widening(1.2)


def _body_widening(z_fraction: float) -> float:
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


# --- painting a label map ------------------------------------------------------------------------------------


def _allowed(*tissues: Tissue) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(tissues)] = True
    return table


_ANYWHERE = np.ones(256, dtype=bool)
_INSIDE_BODY = ~_allowed(Tissue.AIR, Tissue.SKIN)
_BOWEL = (Tissue.BOWEL_WALL, Tissue.BOWEL_FLUID, Tissue.BOWEL_GAS)
_CAVITY = _allowed(Tissue.VISCERAL_FAT, *_BOWEL)
_SOLID_ORGAN_SPACE = _allowed(Tissue.VISCERAL_FAT, *_BOWEL, Tissue.LIVER, Tissue.HEPATIC_VESSEL, Tissue.BILE)
_SOFT_TISSUE = ~_allowed(
    Tissue.AIR,
    Tissue.SKIN,
    Tissue.CORTICAL_BONE,
    Tissue.CANCELLOUS_BONE,
    Tissue.DISC,
    Tissue.CSF,
    Tissue.SPINAL_CORD,
)
_RETROPERITONEUM = _SOFT_TISSUE & ~_allowed(Tissue.AORTA, Tissue.VEIN)
_LUNG_SPACE = _allowed(
    Tissue.VISCERAL_FAT,
    *_BOWEL,
    Tissue.LIVER,
    Tissue.HEPATIC_VESSEL,
    Tissue.SPLEEN,
    Tissue.BILE,
    Tissue.PANCREAS,
    Tissue.DIAPHRAGM,
)
_RIB_SPACE = _allowed(
    Tissue.MUSCLE,
    Tissue.SUBCUTANEOUS_FAT,
    Tissue.VISCERAL_FAT,
    Tissue.LUNG,
    Tissue.DIAPHRAGM,
    Tissue.LIVER,
    Tissue.HEPATIC_VESSEL,
    Tissue.SPLEEN,
    *_BOWEL,
)


class _Canvas:
    """A label map on a square grid centred on the patient axis; painters work inside a shape's bounding box."""

    def __init__(self, matrix: int, pixel_mm: float):
        self.labels = np.full((matrix, matrix), Tissue.AIR, dtype=np.uint8)
        self.coords = ((np.arange(matrix) - (matrix - 1) / 2) * pixel_mm).astype(np.float32)
        self.pixel_mm = pixel_mm

    def ellipse(
        self,
        tissue: Tissue,
        cx: float,
        cy: float,
        a: float,
        b: float,
        *,
        angle_deg: float = 0.0,
        over: np.ndarray = _ANYWHERE,
        outline: tuple[tuple[int, float, float], ...] = (),
        y_max: float | None = None,
    ) -> None:
        """Paint an ellipse (half-axes a, b; a along angle_deg) over the tissues `over` allows."""
        if a <= 0 or b <= 0:
            return
        reach = max(a, b) * (1 + sum(abs(amplitude) for _, amplitude, _ in outline)) + self.pixel_mm
        columns = self._span(cx, reach)
        rows = self._span(cy, reach)
        if columns.start >= columns.stop or rows.start >= rows.stop:
            return
        dx = self.coords[columns][None, :] - np.float32(cx)
        dy = self.coords[rows][:, None] - np.float32(cy)
        if angle_deg:
            cos, sin = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
            u, v = dx * cos + dy * sin, dy * cos - dx * sin
        else:
            u, v = dx, dy
        u, v = u / np.float32(a), v / np.float32(b)
        radius_squared = u * u + v * v
        if outline:
            theta = np.arctan2(v, u)
            limit = 1.0 + sum(amplitude * np.cos(k * theta + phase) for k, amplitude, phase in outline)
            inside = radius_squared < limit * limit
        else:
            inside = radius_squared < 1.0
        if y_max is not None:
            inside &= dy < np.float32(y_max - cy)
        view = self.labels[rows, columns]
        inside &= over[view]
        view[inside] = tissue

    def _span(self, centre: float, reach: float) -> slice:
        low = int(np.searchsorted(self.coords, centre - reach, side="left"))
        high = int(np.searchsorted(self.coords, centre + reach, side="right"))
        return slice(low, high)


def _smoothstep(low: float, high: float, value: float) -> float:
    t = min(max((value - low) / (high - low), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _dome(centre: float, half_length: float, value: float) -> float:
    """Cross-section scale of an ellipsoid along z: 1 at its centre, 0 beyond its ends."""
    t = (value - centre) / half_length
    return math.sqrt(1.0 - t * t) if abs(t) < 1.0 else 0.0


@dataclass(frozen=True)
class _Frame:
    """Where the body wall, abdominal cavity and spine are at one level."""

    half_width: float
    half_depth: float
    centre_y: float
    cavity_a: float
    cavity_b: float
    cavity_y: float
    vertebra_y: float

    @property
    def cavity_posterior(self) -> float:
        return self.cavity_y + self.cavity_b


def _frame(anatomy: PhantomAnatomy, z: float) -> _Frame:
    widening = _body_widening(z)
    half_width = anatomy.body_half_width_mm * widening
    half_depth = anatomy.body_half_depth_mm * (1 + 0.5 * (widening - 1))
    wall = 2.0 + anatomy.subcutaneous_fat_mm + anatomy.muscle_wall_mm
    shift = anatomy.posterior_shift_mm
    cavity_y = anatomy.body_centre_y_mm - shift
    cavity_b = half_depth - wall - shift
    # Lumbar lordosis: the spine sits a little more anterior lower down.
    vertebra_y = cavity_y + cavity_b - 5.0 - 6.0 * (0.5 - min(max(z, 0.0), 1.0))
    return _Frame(
        half_width, half_depth, anatomy.body_centre_y_mm, half_width - wall, cavity_b, cavity_y, vertebra_y
    )


def tissue_labels(anatomy: PhantomAnatomy, z_fraction: float, matrix: int, pixel_mm: float) -> np.ndarray:
    """Label map (uint8 values of `Tissue`, rows anterior to posterior, columns patient right to left)."""
    canvas = _Canvas(matrix, pixel_mm)
    z = float(z_fraction)
    frame = _frame(anatomy, z)
    _paint_body_wall(canvas, anatomy, frame)
    _paint_retroperitoneal_fat(canvas, anatomy, frame, z)
    _paint_back_muscles(canvas, anatomy, frame, z)
    _paint_bowel(canvas, anatomy, frame, z)
    _paint_stomach(canvas, anatomy, frame, z)
    _paint_psoas(canvas, anatomy, frame, z)
    _paint_liver(canvas, anatomy, frame, z)
    _paint_spleen(canvas, anatomy, frame, z)
    _paint_pancreas(canvas, anatomy, frame, z)
    _paint_kidneys(canvas, anatomy, frame, z)
    _paint_great_vessels(canvas, anatomy, frame, z)
    _paint_lungs(canvas, anatomy, frame, z)
    _paint_spine(canvas, anatomy, frame, z)
    _paint_ribs(canvas, anatomy, frame, z)
    return canvas.labels


def _paint_body_wall(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame) -> None:
    # The back lies flat on the table.
    back = frame.centre_y + 0.93 * frame.half_depth
    fat = anatomy.subcutaneous_fat_mm
    cy = frame.centre_y
    canvas.ellipse(Tissue.SKIN, 0, cy, frame.half_width, frame.half_depth, y_max=back)
    canvas.ellipse(Tissue.SUBCUTANEOUS_FAT, 0, cy, frame.half_width - 2, frame.half_depth - 2, y_max=back - 2)
    inner_a, inner_b = frame.half_width - 2 - fat, frame.half_depth - 2 - fat
    canvas.ellipse(Tissue.MUSCLE, 0, cy, inner_a, inner_b, y_max=back - 2 - 0.8 * fat)
    canvas.ellipse(Tissue.VISCERAL_FAT, 0, frame.cavity_y, frame.cavity_a, frame.cavity_b)


def _kidney_centre(anatomy: PhantomAnatomy, frame: _Frame, side: int) -> tuple[float, float]:
    return side * (anatomy.vertebra_half_width_mm + anatomy.kidney_lateral_mm), frame.vertebra_y + 4


def _paint_retroperitoneal_fat(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    # The kidneys lie in perirenal fat that reaches back between the psoas and the posterior wall muscles;
    # it thins out above the kidneys so the lung bases stay inside the ribs.
    size = anatomy.kidney_size * (1.0 - _smoothstep(0.55, 0.78, z))
    for side in (-1, 1):
        cx, cy = _kidney_centre(anatomy, frame, side)
        canvas.ellipse(
            Tissue.VISCERAL_FAT,
            cx,
            cy,
            40 * size,
            30 * size,
            angle_deg=side * 40,
            over=_allowed(Tissue.MUSCLE),
        )


def _canal_y(anatomy: PhantomAnatomy, frame: _Frame) -> float:
    return frame.vertebra_y + anatomy.vertebra_half_depth_mm + anatomy.spinal_canal_radius_mm + 2


def _paint_back_muscles(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    # Erector spinae beside the spinous process and, below the twelfth rib, quadratus lumborum lateral to it,
    # each in a thin fat sheath.
    canal_y = _canal_y(anatomy, frame)
    sheath = max(2.0, canvas.pixel_mm)
    wall = _allowed(Tissue.MUSCLE)
    muscles = [(32.0, canal_y + 10, 23.0, 21.0, 0.0)]
    if z < 0.6:
        muscles.append((64.0, canal_y - 8, 17.0, 10.0, 35.0))
    for side in (-1, 1):
        for x, y, a, b, angle in muscles:
            cx, tilt = side * (x + 0.08 * anatomy.subcutaneous_fat_mm), side * angle
            canvas.ellipse(Tissue.SUBCUTANEOUS_FAT, cx, y, a + sheath, b + sheath, angle_deg=tilt, over=wall)
            canvas.ellipse(
                Tissue.MUSCLE,
                cx,
                y,
                a,
                b,
                angle_deg=tilt,
                over=_allowed(Tissue.SUBCUTANEOUS_FAT, Tissue.MUSCLE),
            )


def _paint_bowel(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    for loop in anatomy.bowel_loops:
        profile = _dome(loop.z_centre, loop.z_half_length, z)
        if profile <= 0:
            continue
        offset = z - loop.z_centre
        cx = (loop.x + loop.x_drift * offset) * frame.cavity_a
        cy = frame.cavity_y + (loop.y + loop.y_drift * offset) * frame.cavity_b
        radius = loop.radius_mm * (0.6 + 0.4 * profile)
        _paint_lumen(canvas, cx, cy, radius, radius, 0.0, loop.gas_fraction, over=_CAVITY)
    # Transverse colon: an anterior horizontal tube at the level of the gallbladder.
    transverse = _dome(0.55, 0.06, z)
    if transverse > 0:
        cy = frame.cavity_y - 0.62 * frame.cavity_b
        _paint_lumen(canvas, 0.0, cy, 0.55 * frame.cavity_a * transverse, 13.0, 0.0, 0.7, over=_CAVITY)


def _paint_lumen(
    canvas: _Canvas, cx: float, cy: float, a: float, b: float, angle: float, gas: float, *, over: np.ndarray
) -> None:
    """A hollow viscus: wall, fluid, and gas on the anterior (non-dependent) side above an air-fluid level."""
    wall = max(2.5, canvas.pixel_mm)
    canvas.ellipse(Tissue.BOWEL_WALL, cx, cy, a, b, angle_deg=angle, over=over)
    inner_a, inner_b = a - wall, b - wall
    content = _allowed(Tissue.BOWEL_WALL)
    canvas.ellipse(Tissue.BOWEL_FLUID, cx, cy, inner_a, inner_b, angle_deg=angle, over=content)
    if gas > 0:
        level = cy - inner_b + 2 * inner_b * gas
        canvas.ellipse(
            Tissue.BOWEL_GAS,
            cx,
            cy,
            inner_a,
            inner_b,
            angle_deg=angle,
            over=_allowed(Tissue.BOWEL_FLUID),
            y_max=level,
        )


def _paint_stomach(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    size = _dome(0.8, 0.25, z)
    if size <= 0:
        return
    cx = 0.3 * frame.cavity_a
    cy = frame.cavity_y - 0.3 * frame.cavity_b
    a, b = 0.3 * frame.cavity_a * size, 0.38 * frame.cavity_b * size
    _paint_lumen(canvas, cx, cy, a, b, 25.0, anatomy.stomach_gas_fraction, over=_CAVITY)


def _paint_psoas(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    size = 1.0 - _smoothstep(0.0, 0.55, z)
    if size <= 0.05:
        return
    half_width = 8 + 12 * size
    for side in (-1, 1):
        cx = side * (anatomy.vertebra_half_width_mm + 3 + half_width)
        canvas.ellipse(
            Tissue.MUSCLE,
            cx,
            frame.vertebra_y - 3,
            half_width,
            8 + 9 * size,
            angle_deg=side * 15,
            over=_CAVITY,
        )


def _liver_lobes(anatomy: PhantomAnatomy, frame: _Frame, z: float) -> list[tuple[float, float, float, float]]:
    """Centre and half-axes of the right lobe and (higher up) the left lobe."""
    grown = _smoothstep(0.28, 0.72, z)
    if z < 0.3:
        return []
    scale = anatomy.liver_size * (0.45 + 0.55 * grown)
    right = (
        -0.45 * frame.cavity_a - (1 - grown) * 0.3 * frame.cavity_a + anatomy.liver_shift_x_mm,
        frame.cavity_y + 0.05 * frame.cavity_b + (1 - grown) * 0.3 * frame.cavity_b,
        0.62 * frame.cavity_a * scale,
        0.95 * frame.cavity_b * scale,
    )
    lobes = [right]
    left = _smoothstep(0.62, 0.9, z)
    if left > 0:
        lobes.append(
            (
                0.05 * frame.cavity_a + 0.12 * frame.cavity_a * left,
                frame.cavity_y - 0.5 * frame.cavity_b,
                0.5 * frame.cavity_a * left * anatomy.liver_size,
                0.32 * frame.cavity_b * left,
            )
        )
    return lobes


def _paint_liver(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    lobes = _liver_lobes(anatomy, frame, z)
    for cx, cy, a, b in lobes:
        canvas.ellipse(Tissue.LIVER, cx, cy, a, b, over=_CAVITY, outline=anatomy.liver_shape)
    if lobes:
        cx, cy, a, b = lobes[0]
        for vessel in anatomy.liver_vessels:
            if _dome(vessel.z_centre, vessel.z_half_length, z) <= 0:
                continue
            offset = z - vessel.z_centre
            vx = cx + (vessel.x + vessel.x_drift * offset) * a
            vy = cy + (vessel.y + vessel.y_drift * offset) * b
            radius = vessel.radius_mm
            canvas.ellipse(Tissue.HEPATIC_VESSEL, vx, vy, radius, radius, over=_allowed(Tissue.LIVER))
        # Portal vein entering the liver at the hilum.
        if 0.5 < z < 0.7:
            canvas.ellipse(
                Tissue.HEPATIC_VESSEL,
                -0.15 * frame.cavity_a,
                frame.cavity_y + 0.05 * frame.cavity_b,
                9,
                6,
                angle_deg=-30,
                over=_SOLID_ORGAN_SPACE,
            )
    size = _dome(anatomy.gallbladder_z, 0.08, z) * anatomy.gallbladder_size
    if size > 0:
        canvas.ellipse(
            Tissue.BILE,
            -0.3 * frame.cavity_a,
            frame.cavity_y - 0.4 * frame.cavity_b,
            17 * size,
            13 * size,
            angle_deg=-30,
            over=_SOLID_ORGAN_SPACE,
        )


def _paint_spleen(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    size = _dome(anatomy.spleen_z, 0.3, z) * anatomy.spleen_size
    if size <= 0:
        return
    canvas.ellipse(
        Tissue.SPLEEN,
        0.62 * frame.cavity_a,
        frame.cavity_y + 0.45 * frame.cavity_b,
        0.5 * frame.cavity_b * size,
        0.26 * frame.cavity_a * size,
        angle_deg=120,
        over=_CAVITY,
        outline=anatomy.spleen_shape,
    )


def _paint_pancreas(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    aorta_y = frame.vertebra_y - anatomy.vertebra_half_depth_mm - anatomy.aorta_radius_mm - 3
    # Head (right, lower) to tail (left, higher, towards the splenic hilum).
    segments = (
        (-0.25 * frame.cavity_a, aorta_y - 22, 0.47, 14, 12, 0),
        (-0.02 * frame.cavity_a, aorta_y - 30, 0.51, 16, 8, -10),
        (0.25 * frame.cavity_a, aorta_y - 22, 0.55, 18, 8, 25),
        (0.47 * frame.cavity_a, frame.cavity_y + 0.2 * frame.cavity_b, 0.58, 14, 8, 50),
    )
    for cx, cy, z_centre, a, b, angle in segments:
        size = _dome(z_centre, 0.07, z)
        if size > 0:
            canvas.ellipse(Tissue.PANCREAS, cx, cy, a * size, b * size, angle_deg=angle, over=_CAVITY)


def _paint_kidneys(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    for side, z_centre in ((1, anatomy.kidney_z_left), (-1, anatomy.kidney_z_right)):
        size = _dome(z_centre, anatomy.kidney_half_length, z)
        if size <= 0:
            continue
        cx, cy = _kidney_centre(anatomy, frame, side)
        a, b = 27 * anatomy.kidney_size * size, 21 * anatomy.kidney_size * size
        angle = side * 40
        canvas.ellipse(Tissue.KIDNEY_CORTEX, cx, cy, a, b, angle_deg=angle, over=_RETROPERITONEUM)
        cortex = max(6.0, 1.2 * canvas.pixel_mm)
        inside = _allowed(Tissue.KIDNEY_CORTEX)
        canvas.ellipse(Tissue.KIDNEY_MEDULLA, cx, cy, a - cortex, b - cortex, angle_deg=angle, over=inside)
        hilum = _dome(z_centre, 0.55 * anatomy.kidney_half_length, z)
        if hilum > 0:
            # The renal sinus opens anteromedially; the pelvis leaves through it towards the ureter.
            sx, sy = cx - side * 0.35 * a, cy - 0.3 * a
            kidney = _allowed(Tissue.KIDNEY_CORTEX, Tissue.KIDNEY_MEDULLA)
            canvas.ellipse(
                Tissue.RENAL_SINUS_FAT, sx, sy, 0.55 * a * hilum, 0.35 * b, angle_deg=angle, over=kidney
            )
            canvas.ellipse(
                Tissue.URINE,
                sx - side * 4,
                sy - 2,
                0.35 * a * hilum,
                0.2 * b * hilum,
                angle_deg=angle,
                over=kidney | _allowed(Tissue.RENAL_SINUS_FAT, Tissue.VISCERAL_FAT),
            )


def _paint_great_vessels(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    vertebra_front = frame.vertebra_y - anatomy.vertebra_half_depth_mm
    radius = anatomy.aorta_radius_mm * (0.9 + 0.15 * min(max(z, 0.0), 1.0))
    aorta_x, aorta_y = anatomy.aorta_offset_x_mm, vertebra_front - radius - 3
    canvas.ellipse(Tissue.AORTA, aorta_x, aorta_y, radius, radius, over=_SOFT_TISSUE)
    ivc_x = -anatomy.vertebra_half_width_mm - 6
    canvas.ellipse(Tissue.VEIN, ivc_x, vertebra_front - 10, 14, 9.5, angle_deg=-20, over=_SOFT_TISSUE)
    if 0.3 < z < 0.55:
        # Superior mesenteric artery and vein in the root of the mesentery.
        canvas.ellipse(Tissue.AORTA, aorta_x - 2, aorta_y - radius - 14, 4, 4, over=_CAVITY)
        canvas.ellipse(Tissue.VEIN, aorta_x - 14, aorta_y - radius - 16, 6, 6, over=_CAVITY)


def _paint_lungs(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    grown = min(max((z - anatomy.lung_start_z) / (1.0 - anatomy.lung_start_z), 0.0), 1.25)
    if grown <= 0:
        return
    size = math.sqrt(grown) * anatomy.lung_size
    diaphragm = max(3.0, canvas.pixel_mm)
    for side in (-1, 1):
        cx = side * 0.5 * frame.cavity_a
        cy = frame.cavity_y + 0.8 * frame.cavity_b
        a, b = 0.45 * frame.cavity_a * size, 0.55 * frame.cavity_b * size
        canvas.ellipse(
            Tissue.DIAPHRAGM, cx, cy, a + diaphragm, b + diaphragm, angle_deg=side * 15, over=_LUNG_SPACE
        )
        canvas.ellipse(Tissue.LUNG, cx, cy, a, b, angle_deg=side * 15, over=_LUNG_SPACE)


def _paint_spine(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    cx, cy = 0.0, frame.vertebra_y
    a, b = anatomy.vertebra_half_width_mm, anatomy.vertebra_half_depth_mm
    cortex = max(2.0, 2.0 * canvas.pixel_mm)
    bone_space = _INSIDE_BODY
    at_disc = ((z - anatomy.disc_phase) / anatomy.disc_period) % 1.0 < 0.2
    if at_disc:
        canvas.ellipse(Tissue.DISC, cx, cy, a + 1, b + 1, over=bone_space)
    else:
        canvas.ellipse(Tissue.CORTICAL_BONE, cx, cy, a, b, over=bone_space)
        canvas.ellipse(Tissue.CANCELLOUS_BONE, cx, cy, a - cortex, b - cortex, over=bone_space)
    canal = anatomy.spinal_canal_radius_mm
    canal_y = _canal_y(anatomy, frame)
    arch = max(4.5, 1.5 * canvas.pixel_mm)
    canvas.ellipse(Tissue.CORTICAL_BONE, cx, canal_y, canal + arch, canal + 0.8 * arch, over=_SOFT_TISSUE)
    if not at_disc:
        # Transverse processes.
        for side in (-1, 1):
            canvas.ellipse(
                Tissue.CORTICAL_BONE,
                side * (canal + 16),
                canal_y - 2,
                15,
                max(4.0, canvas.pixel_mm),
                angle_deg=side * 12,
                over=_SOFT_TISSUE,
            )
    spinous = 11.0
    canvas.ellipse(
        Tissue.CORTICAL_BONE,
        cx,
        canal_y + canal + spinous,
        max(3.5, canvas.pixel_mm),
        spinous + 2,
        over=_SOFT_TISSUE,
    )
    canvas.ellipse(
        Tissue.CANCELLOUS_BONE,
        cx,
        canal_y + canal + spinous,
        1.5,
        spinous - 1,
        over=_allowed(Tissue.CORTICAL_BONE),
    )
    canvas.ellipse(Tissue.CSF, cx, canal_y, canal, 0.85 * canal, over=_ANYWHERE)
    if z > 0.6:
        # The conus medullaris ends around L1; below it the canal holds only CSF and nerve roots.
        cord = 4.0 * _smoothstep(0.6, 0.75, z)
        canvas.ellipse(Tissue.SPINAL_CORD, cx, canal_y, cord, 0.8 * cord, over=_allowed(Tissue.CSF))


def _paint_ribs(canvas: _Canvas, anatomy: PhantomAnatomy, frame: _Frame, z: float) -> None:
    # A rib runs from the spine (angle 65 degrees, posterior) downwards and forwards; at a given level it is seen
    # where it crosses the plane, further anterior the lower the plane lies below the rib's posterior end.
    degrees_per_z = 350.0
    for rib in anatomy.ribs:
        angle = 65.0 - degrees_per_z * (rib.z_posterior - z)
        if not rib.lowest_angle_deg <= angle <= 65.0:
            continue
        theta = math.radians(angle)
        ring_a = frame.cavity_a + 0.5 * anatomy.muscle_wall_mm
        ring_b = frame.cavity_b + 0.5 * anatomy.muscle_wall_mm
        cx = rib.side * ring_a * math.cos(theta)
        cy = frame.cavity_y + ring_b * math.sin(theta)
        # Tangent to the wall; the oblique cut makes the section longer than the rib is thick.
        tangent = math.degrees(math.atan2(ring_b * math.cos(theta), -rib.side * ring_a * math.sin(theta)))
        length = 1.7 * rib.radius_mm
        canvas.ellipse(
            Tissue.CORTICAL_BONE, cx, cy, length, rib.radius_mm, angle_deg=tangent, over=_RIB_SPACE
        )
        cortex = max(1.5, 0.8 * canvas.pixel_mm)
        canvas.ellipse(
            Tissue.CANCELLOUS_BONE,
            cx,
            cy,
            length - cortex,
            rib.radius_mm - cortex,
            angle_deg=tangent,
            over=_allowed(Tissue.CORTICAL_BONE),
        )


# --- from labels to pixels -----------------------------------------------------------------------------------


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


def ct_slice_hu(
    anatomy: PhantomAnatomy,
    z_fraction: float,
    contrast: bool,
    matrix: int,
    spacing: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One axial CT slice in HU (int16, matrix x matrix) at z_fraction, pixel spacing `spacing` mm."""
    return ct_hu_from_labels(anatomy, tissue_labels(anatomy, z_fraction, matrix, spacing), contrast, rng)


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
    if sequence not in MR_SEQUENCES:
        raise ValueError(f"unknown MR sequence {sequence!r}; expected one of {', '.join(MR_SEQUENCES)}")
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


def mr_slice(
    anatomy: PhantomAnatomy,
    z_fraction: float,
    sequence: str,
    matrix: int,
    spacing: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One axial MR slice (uint16, 12-bit range) at z_fraction for sequence t1_in, t1_out or t2."""
    return mr_from_labels(
        anatomy, tissue_labels(anatomy, z_fraction, matrix, spacing), sequence, spacing, rng
    )


# --- scan geometry and DICOM files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesSummary:
    """One written series: where, what, and the geometry of its slices (inferior to superior)."""

    kind: str  # ct | ct_noncontrast | t1_in | t1_out | t2
    folder: Path
    series_instance_uid: str
    matrix: int
    pixel_spacing_mm: float
    slice_spacing_mm: float
    z_mm: tuple[float, ...]
    z_fractions: tuple[float, ...]

    @property
    def files(self) -> int:
        return len(self.z_mm)


@dataclass(frozen=True)
class PatientSummary:
    patient: str
    anatomy: PhantomAnatomy
    series: tuple[SeriesSummary, ...]

    def series_of(self, kind: str) -> SeriesSummary:
        return next(s for s in self.series if s.kind == kind)

    def line(self) -> str:
        ct, t1, t2 = self.series_of("ct"), self.series_of("t1_in"), self.series_of("t2")
        return (
            f"patient {self.patient}: CT + CT_noncontrast {ct.files} slices {ct.matrix}x{ct.matrix} "
            f"{ct.pixel_spacing_mm:.2f} mm x {ct.slice_spacing_mm:.2f} mm; "
            f"T1 in/out {t1.files} slices {t1.matrix}x{t1.matrix} {t1.pixel_spacing_mm:.2f} mm x "
            f"{t1.slice_spacing_mm:.2f} mm; T2 {t2.files} slices x {t2.slice_spacing_mm:.2f} mm; "
            f"liver fat {self.anatomy.liver_fat_fraction:.0%}"
        )


@dataclass(frozen=True)
class PhantomSummary:
    outdir: Path
    seed: int
    patients: tuple[PatientSummary, ...]

    @property
    def files(self) -> int:
        return sum(series.files for patient in self.patients for series in patient.series)


@dataclass(frozen=True)
class _ScanPlan:
    ct_pixel_mm: float
    ct_slice_mm: float
    ct_z_mm: tuple[float, ...]
    mr_pixel_mm: float
    t1_slice_mm: float
    t1_z_mm: tuple[float, ...]
    t2_slice_mm: float
    t2_z_mm: tuple[float, ...]

    def z_fractions(self, z_mm: tuple[float, ...]) -> tuple[float, ...]:
        first, span = self.ct_z_mm[0], self.ct_z_mm[-1] - self.ct_z_mm[0]
        return tuple((z - first) / span for z in z_mm)


def _stack(first: float, spacing: float, count: int) -> tuple[float, ...]:
    return tuple(round(first + i * spacing, 3) for i in range(count))


def _scan_plan(
    rng: np.random.Generator,
    anatomy: PhantomAnatomy,
    ct_matrix: int,
    mr_matrix: int,
    ct_slices: int,
    mr_slices: int,
) -> _ScanPlan:
    # The field of view must hold the widest part of the body with a margin.
    needed_fov = 2 * anatomy.widest_half_width_mm + 24
    ct_pixel = max(rng.uniform(*CT_PIXEL_MM), needed_fov / DEFAULT_CT_MATRIX)
    mr_pixel = max(rng.uniform(*MR_PIXEL_MM), needed_fov / DEFAULT_MR_MATRIX)
    ct_pixel = round(ct_pixel * DEFAULT_CT_MATRIX / ct_matrix, 4)
    mr_pixel = round(mr_pixel * DEFAULT_MR_MATRIX / mr_matrix, 4)
    ct_slice = round(rng.uniform(*CT_SLICE_MM), 2)
    ct_first = round(rng.uniform(-260, -160), 1)
    ct_z = _stack(ct_first, ct_slice, ct_slices)
    ct_centre = (ct_z[0] + ct_z[-1]) / 2
    ct_span = ct_z[-1] - ct_z[0]
    low, high = MR_SLICE_MM
    t1_slice = round(
        min(max(ct_span / max(mr_slices - 1, 1) * rng.uniform(0.97, 1.0), low + 0.4), high - 0.4), 2
    )
    # T2 is a separate acquisition: a slightly different spacing, shifted by a third of the T1 spacing.
    change = rng.uniform(0.15, 0.35)
    t2_slice = round(t1_slice - change if t1_slice - change >= low + 0.05 else t1_slice + change, 2)
    t1_first = ct_centre - t1_slice * (mr_slices - 1) / 2
    t2_first = ct_centre - t2_slice * (mr_slices - 1) / 2 + t1_slice / 3
    return _ScanPlan(
        ct_pixel_mm=ct_pixel,
        ct_slice_mm=ct_slice,
        ct_z_mm=ct_z,
        mr_pixel_mm=mr_pixel,
        t1_slice_mm=t1_slice,
        t1_z_mm=_stack(t1_first, t1_slice, mr_slices),
        t2_slice_mm=t2_slice,
        t2_z_mm=_stack(t2_first, t2_slice, mr_slices),
    )


@dataclass(frozen=True)
class _Series:
    kind: str
    folder: Path
    modality: str
    description: str
    series_number: int
    study_uid: str
    frame_uid: str
    series_uid: str
    matrix: int
    pixel_mm: float
    slice_mm: float
    z_mm: tuple[float, ...]


STUDY_DATE = "20240101"
SOFTWARE = "blindread phantoms 1"


def _uid(seed: int, patient: int, *parts: object) -> str:
    return generate_uid(entropy_srcs=["blindread-phantom", str(seed), str(patient), *(str(p) for p in parts)])


def _ds(value: float) -> str:
    # Decimal strings of at most 16 characters, the same on every platform.
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _dataset(series: _Series, patient: int, seed: int, index: int, pixels: np.ndarray) -> Dataset:
    is_ct = series.modality == "CT"
    sop_class = CTImageStorage if is_ct else MRImageStorage
    sop_instance = _uid(seed, patient, series.kind, "instance", index)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["DERIVED", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = STUDY_DATE
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
    ds.AccessionNumber = ""
    ds.Modality = series.modality
    ds.Manufacturer = "Blindread"
    ds.ManufacturerModelName = "Procedural phantom"
    ds.SoftwareVersions = SOFTWARE
    ds.StudyDescription = "Phantom abdomen"
    ds.SeriesDescription = series.description
    ds.PatientName = f"PHANTOM^{patient}"
    ds.PatientID = f"PHANTOM-{patient}"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.BodyPartExamined = "ABDOMEN"
    ds.SliceThickness = _ds(_slice_thickness(series))
    ds.SpacingBetweenSlices = _ds(series.slice_mm)
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = series.study_uid
    ds.SeriesInstanceUID = series.series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series.series_number
    ds.InstanceNumber = index + 1
    offset = -(series.matrix - 1) / 2 * series.pixel_mm
    z = series.z_mm[index]
    ds.ImagePositionPatient = [_ds(offset), _ds(offset), _ds(z)]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = series.frame_uid
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = _ds(z)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = series.matrix
    ds.Columns = series.matrix
    ds.PixelSpacing = [_ds(series.pixel_mm), _ds(series.pixel_mm)]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if is_ct:
        ds.KVP = "120"
        ds.ConvolutionKernel = "STANDARD"
        if series.kind == "ct":
            ds.ContrastBolusAgent = "IODINATED CONTRAST"
            ds.ContrastBolusRoute = "IV"
        ds.WindowCenter = "40"
        ds.WindowWidth = "400"
        ds.RescaleIntercept = str(CT_RESCALE_INTERCEPT)
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        stored = (pixels.astype(np.int32) - CT_RESCALE_INTERCEPT).astype("<u2")
    else:
        _mr_attributes(ds, series.kind)
        stored = pixels.astype("<u2")
    ds.PixelData = stored.tobytes()
    return ds


def _slice_thickness(series: _Series) -> float:
    if series.modality == "CT":
        return series.slice_mm
    return series.slice_mm - (0.5 if series.kind == "t2" else 0.8)  # MR stacks leave a small gap


def _mr_attributes(ds: Dataset, kind: str) -> None:
    ds.MagneticFieldStrength = "1.5"
    ds.ImagingFrequency = "63.87"
    ds.ImagedNucleus = "1H"
    ds.MRAcquisitionType = "2D"
    ds.EchoTime = _ds(ECHO_TIME_MS[kind])
    if kind == "t2":
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "SK"
        ds.RepetitionTime = "1600"
        ds.EchoTrainLength = 20
        ds.FlipAngle = "90"
    else:
        ds.ScanningSequence = "GR"
        ds.SequenceVariant = "SP"
        ds.RepetitionTime = "150"
        ds.EchoTrainLength = 1
        ds.FlipAngle = "80"
        ds.EchoNumbers = 2 if kind == "t1_in" else 1


def _write(ds: Dataset, path: Path) -> None:
    ds.save_as(path, enforce_file_format=True)


def _check_arguments(
    outdir: Path, patients: int, ct_matrix: int, mr_matrix: int, ct_slices: int, mr_slices: int
) -> None:
    if patients < 1:
        raise ValueError(f"--patients must be at least 1, got {patients}")
    for name, matrix in (("--ct-matrix", ct_matrix), ("--mr-matrix", mr_matrix)):
        if not MIN_MATRIX <= matrix <= MAX_MATRIX:
            raise ValueError(f"{name} must be between {MIN_MATRIX} and {MAX_MATRIX}, got {matrix}")
    for name, count in (("--ct-slices", ct_slices), ("--mr-slices", mr_slices)):
        if not 2 <= count <= MAX_SLICES:
            raise ValueError(f"{name} must be between 2 and {MAX_SLICES}, got {count}")
    if outdir.exists() and not outdir.is_dir():
        raise ValueError(f"{outdir} exists and is not a folder")


def write_phantoms(
    outdir: str | Path,
    patients: int,
    seed: int,
    ct_matrix: int = DEFAULT_CT_MATRIX,
    mr_matrix: int = DEFAULT_MR_MATRIX,
    ct_slices: int | None = None,
    mr_slices: int | None = None,
    progress: Progress | None = None,
) -> PhantomSummary:
    """Write `patients` phantom patients (folders "1", "2", ...) under outdir in the CHAOS layout.

    Raises ValueError (one line) for impossible arguments. Patient n is the same whatever `patients` is, and
    re-running with the same arguments rewrites byte-identical files; stale .dcm files of earlier runs with more
    slices are removed from the series folders written. `progress(done, total)` counts files.
    """
    outdir = Path(outdir)
    ct_slices = DEFAULT_CT_SLICES if ct_slices is None else ct_slices
    mr_slices = DEFAULT_MR_SLICES if mr_slices is None else mr_slices
    _check_arguments(outdir, patients, ct_matrix, mr_matrix, ct_slices, mr_slices)
    total = patients * (2 * ct_slices + 3 * mr_slices)
    done = 0

    def advance(files: int) -> None:
        nonlocal done
        done += files
        if progress:
            progress(done, total)

    written = []
    for patient in range(1, patients + 1):
        written.append(
            _write_patient(outdir, patient, seed, ct_matrix, mr_matrix, ct_slices, mr_slices, advance)
        )
    return PhantomSummary(outdir=outdir, seed=seed, patients=tuple(written))


def patient_rng(seed: int, patient: int) -> np.random.Generator:
    """The generator that draws patient `patient`'s anatomy (then its scan geometry) for a given seed."""
    return np.random.default_rng([seed, patient])


def _slice_rng(seed: int, patient: int, series_code: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, patient, series_code, index])


_SERIES_CODES = {"ct": 1, "ct_noncontrast": 2, "t1_in": 3, "t1_out": 4, "t2": 5}


def _write_patient(
    outdir: Path,
    patient: int,
    seed: int,
    ct_matrix: int,
    mr_matrix: int,
    ct_slices: int,
    mr_slices: int,
    advance: Callable[[int], None],
) -> PatientSummary:
    rng = patient_rng(seed, patient)
    anatomy = phantom_anatomy(rng)
    plan = _scan_plan(rng, anatomy, ct_matrix, mr_matrix, ct_slices, mr_slices)
    name = str(patient)
    ct_study, mr_study = _uid(seed, patient, "ct-study"), _uid(seed, patient, "mr-study")
    ct_frame, mr_frame = _uid(seed, patient, "ct-frame"), _uid(seed, patient, "mr-frame")
    t1_folder = outdir / "MR" / name / "T1DUAL" / "DICOM_anon"

    def series(kind, folder, modality, description, number, study, frame, matrix, pixel, spacing, z):
        uid = _uid(seed, patient, kind, "series")
        return _Series(
            kind, folder, modality, description, number, study, frame, uid, matrix, pixel, spacing, z
        )

    ct_args = (ct_study, ct_frame, ct_matrix, plan.ct_pixel_mm, plan.ct_slice_mm, plan.ct_z_mm)
    t1_args = (mr_study, mr_frame, mr_matrix, plan.mr_pixel_mm, plan.t1_slice_mm, plan.t1_z_mm)
    t2_args = (mr_study, mr_frame, mr_matrix, plan.mr_pixel_mm, plan.t2_slice_mm, plan.t2_z_mm)
    ct_plain = series(
        "ct_noncontrast",
        outdir / "CT_noncontrast" / name / "DICOM_anon",
        "CT",
        "CT abdomen non-contrast",
        1,
        *ct_args,
    )
    ct_contrast = series(
        "ct", outdir / "CT" / name / "DICOM_anon", "CT", "CT abdomen portal venous", 2, *ct_args
    )
    t2 = series("t2", outdir / "MR" / name / "T2SPIR" / "DICOM_anon", "MR", "T2SPIR", 1, *t2_args)
    t1_in = series("t1_in", t1_folder / "InPhase", "MR", "T1DUAL InPhase", 2, *t1_args)
    t1_out = series("t1_out", t1_folder / "OutPhase", "MR", "T1DUAL OutPhase", 3, *t1_args)

    # Series that share slice positions share one label map per slice.
    groups = ((ct_plain, ct_contrast), (t1_in, t1_out), (t2,))
    for group in groups:
        for item in group:
            item.folder.mkdir(parents=True, exist_ok=True)
        first = group[0]
        for index, z_fraction in enumerate(plan.z_fractions(first.z_mm)):
            labels = tissue_labels(anatomy, z_fraction, first.matrix, first.pixel_mm)
            for item in group:
                rng_slice = _slice_rng(seed, patient, _SERIES_CODES[item.kind], index)
                if item.modality == "CT":
                    pixels = ct_hu_from_labels(anatomy, labels, item.kind == "ct", rng_slice)
                else:
                    pixels = mr_from_labels(anatomy, labels, item.kind, item.pixel_mm, rng_slice)
                _write(_dataset(item, patient, seed, index, pixels), _file_path(item, index))
            advance(len(group))
        for item in group:
            _remove_stale_files(item)

    summaries = tuple(
        SeriesSummary(
            kind=item.kind,
            folder=item.folder,
            series_instance_uid=item.series_uid,
            matrix=item.matrix,
            pixel_spacing_mm=item.pixel_mm,
            slice_spacing_mm=item.slice_mm,
            z_mm=item.z_mm,
            z_fractions=plan.z_fractions(item.z_mm),
        )
        for item in (ct_contrast, ct_plain, t1_in, t1_out, t2)
    )
    return PatientSummary(patient=name, anatomy=anatomy, series=summaries)


def _file_path(series: _Series, index: int) -> Path:
    return series.folder / f"IMG-{series.series_number:04d}-{index + 1:05d}.dcm"


def _remove_stale_files(series: _Series) -> None:
    expected = {_file_path(series, index).name for index in range(len(series.z_mm))}
    for path in series.folder.glob("*.dcm"):
        if path.name not in expected:
            path.unlink()
