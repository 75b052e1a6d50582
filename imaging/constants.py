"""The CT and MRI vocabulary every app shares: the HU range, axial layers, modalities and window presets.

Pure Python: no Django, so pure modules (networks, statistics, rendering) can use it as well as models and forms.
Window presets are always written (width, level), in that order.
"""

from dataclasses import dataclass

# CT in Hounsfield units: air (and the scanner's padding) at the bottom, 12 stored bits above it.
HU_AIR = -1024
HU_MIN = HU_AIR
HU_MAX = 3071
HU_RANGE = (HU_MIN, HU_MAX)

# The paper's ten axial layers: 1 = lower abdomen (lower kidneys, bowel) .. 10 = lung bases.
AXIAL_LAYERS = 10
LAYERS = tuple(range(1, AXIAL_LAYERS + 1))


class DatasetKind:
    """What a dataset holds (the values of imaging.models.Dataset.kind)."""

    REAL_CT = "real_ct"
    MRI = "mri"
    SYNTHETIC_CT = "synthetic_ct"
    LABELS = {REAL_CT: "Real CT", MRI: "MRI", SYNTHETIC_CT: "Synthetic CT"}


CT = "ct"
T1_IN = "t1_in"
T1_OUT = "t1_out"
T2 = "t2"
MR_MODALITIES = (T1_IN, T1_OUT, T2)
MODALITIES = (CT, *MR_MODALITIES)


@dataclass(frozen=True)
class WindowPreset:
    """A named display window: `width` HU wide, centred on `level` HU."""

    name: str
    width: int
    level: int

    @property
    def low(self) -> float:
        return self.level - self.width / 2

    @property
    def high(self) -> float:
        return self.level + self.width / 2


CT_WINDOW_PRESETS = (
    WindowPreset("soft-tissue", 400, 40),
    WindowPreset("liver", 150, 90),
    WindowPreset("lung", 1500, -600),
    WindowPreset("bone", 2500, 480),
    WindowPreset("mediastinum", 350, 50),
)
DEFAULT_CT_WINDOW = CT_WINDOW_PRESETS[0]
