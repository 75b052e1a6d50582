"""Label maps: which `Tissue` each pixel of one axial level of a phantom patient holds.

`tissue_labels` paints the body wall first, then fat, muscles, bowel, organs, vessels, lungs and bones, each shape
only over the tissues it may replace (its `over` table), so a later shape displaces an earlier one only where
anatomy allows.
"""

import enum
import math
from dataclasses import dataclass

import numpy as np

from imaging.phantoms.anatomy import PhantomAnatomy, body_widening


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


MIN_HALF_AXIS_MM = 1e-3


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
        """Paint an ellipse (half-axes a, b; a along angle_deg) over the tissues `over` allows. One whose half-axis
        is under a thousandth of a millimetre (a structure fading out at its end, such as the spinal cord above the
        conus) paints nothing: dividing by it would overflow."""
        if a < MIN_HALF_AXIS_MM or b < MIN_HALF_AXIS_MM:
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
    widening = body_widening(z)
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
