"""Pairing a checkpoint's input modalities slice by slice. Pure Python/NumPy, no Django.

The first input modality leads: every slice of one of its volumes becomes one generated slice if each other
modality has a slice of the same patient within the z tolerance (the nearest one is taken). Slices left
without a partner on either side are reported, each with the reason.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SliceRef:
    slice_id: int
    index: int
    z_mm: float
    pixels: str = ""
    axial_layer: int | None = None


@dataclass(frozen=True)
class VolumeRef:
    volume_id: int
    patient: str
    modality: str
    slices: tuple[SliceRef, ...]
    rows: int = 0
    columns: int = 0
    uid: str = ""

    @property
    def z_mm(self) -> np.ndarray:
        return np.array([s.z_mm for s in self.slices], dtype=np.float64)

    @property
    def slice_spacing_mm(self) -> float | None:
        z = np.sort(self.z_mm)
        return float(np.median(np.diff(z))) if len(z) > 1 else None


@dataclass(frozen=True)
class SlicePair:
    """Source slices of one generated slice, one per input modality in input order."""

    slices: tuple[SliceRef, ...]

    @property
    def source_key(self) -> str:
        return source_key([s.slice_id for s in self.slices])

    @property
    def primary(self) -> SliceRef:
        return self.slices[0]


def source_key(slice_ids) -> str:
    return "-".join(str(int(slice_id)) for slice_id in slice_ids)


@dataclass(frozen=True)
class Unpaired:
    patient: str
    modality: str
    volume_id: int
    index: int
    z_mm: float
    reason: str

    def as_dict(self) -> dict:
        return {
            "patient": self.patient,
            "modality": self.modality,
            "volume": self.volume_id,
            "index": self.index,
            "z_mm": round(self.z_mm, 3),
            "reason": self.reason,
        }

    def __str__(self):
        return (
            f"patient {self.patient} {self.modality} slice #{self.index} (z={self.z_mm:.1f}): {self.reason}"
        )


@dataclass
class PairGroup:
    """The pairs made from one volume of the first modality: they become one synthetic volume."""

    patient: str
    volumes: tuple[VolumeRef, ...]  # input order; volumes[0] leads
    pairs: list[SlicePair] = field(default_factory=list)

    @property
    def primary(self) -> VolumeRef:
        return self.volumes[0]


@dataclass
class PairingPlan:
    groups: list[PairGroup]
    unpaired: list[Unpaired]

    @property
    def pair_count(self) -> int:
        return sum(len(group.pairs) for group in self.groups)


def _overlap_mm(a: VolumeRef, b: VolumeRef) -> float:
    za, zb = a.z_mm, b.z_mm
    return min(za.max(), zb.max()) - max(za.min(), zb.min())


def default_tolerance_mm(volume: VolumeRef) -> float:
    """Half the volume's slice spacing (a partner nearer than that is the slice at the same level)."""
    spacing = volume.slice_spacing_mm
    return spacing / 2.0 if spacing else 1.0


def pair_slices(
    volumes: list[VolumeRef], inputs: list[str], tolerance_mm: float | None = None
) -> PairingPlan:
    """Pair the volumes' slices for a checkpoint taking `inputs` (modalities, first leads).

    Volumes of other modalities are ignored. `tolerance_mm` None means half the leading volume's spacing.
    """
    if not inputs or len(set(inputs)) != len(inputs):
        raise ValueError(f"inputs must be distinct modalities, got {inputs!r}")
    if tolerance_mm is not None and not tolerance_mm > 0:
        raise ValueError(f"the z tolerance must be positive, not {tolerance_mm!r}")
    by_patient: dict[str, dict[str, list[VolumeRef]]] = defaultdict(lambda: defaultdict(list))
    for volume in volumes:
        if volume.modality in inputs and volume.slices:
            by_patient[volume.patient][volume.modality].append(volume)
    groups: list[PairGroup] = []
    unpaired: list[Unpaired] = []
    lead, partners = inputs[0], inputs[1:]
    for patient in sorted(by_patient):
        modalities = by_patient[patient]
        used: dict[int, set[int]] = defaultdict(set)  # partner volume id -> slice ids used
        for primary in sorted(modalities.get(lead, []), key=lambda v: v.volume_id):
            group, group_unpaired = _pair_volume(primary, modalities, partners, tolerance_mm, used)
            unpaired += group_unpaired
            if group.pairs:
                groups.append(group)
        for modality in partners:
            for volume in modalities.get(modality, []):
                reason = (
                    f"patient has no {lead} volume"
                    if lead not in modalities
                    else f"no {lead} slice chose it as the nearest within tolerance"
                )
                unpaired += [
                    Unpaired(patient, modality, volume.volume_id, s.index, s.z_mm, reason)
                    for s in volume.slices
                    if s.slice_id not in used[volume.volume_id]
                ]
    return PairingPlan(groups=groups, unpaired=unpaired)


def _pair_volume(primary, modalities, partners, tolerance_mm, used):
    tolerance = tolerance_mm if tolerance_mm is not None else default_tolerance_mm(primary)
    ordered = tuple(sorted(primary.slices, key=lambda s: s.index))
    chosen: list[VolumeRef] = [primary]
    unpaired: list[Unpaired] = []
    for modality in partners:
        candidates = modalities.get(modality, [])
        if not candidates:
            reason = f"patient has no {modality} volume"
            unpaired += [
                Unpaired(primary.patient, primary.modality, primary.volume_id, s.index, s.z_mm, reason)
                for s in ordered
            ]
            return PairGroup(primary.patient, (primary,)), unpaired
        chosen.append(max(candidates, key=lambda v: (_overlap_mm(primary, v), -v.volume_id)))
    group = PairGroup(primary.patient, tuple(chosen))
    partner_z = [volume.z_mm for volume in chosen[1:]]
    for slice_ref in ordered:
        members = [slice_ref]
        for volume, z in zip(chosen[1:], partner_z, strict=True):
            distances = np.abs(z - slice_ref.z_mm)
            nearest = int(np.argmin(distances))
            if distances[nearest] > tolerance + 1e-6:
                unpaired.append(
                    Unpaired(
                        primary.patient,
                        primary.modality,
                        primary.volume_id,
                        slice_ref.index,
                        slice_ref.z_mm,
                        f"nearest {volume.modality} slice is {distances[nearest]:.2f} mm away "
                        f"(tolerance {tolerance:.2f} mm)",
                    )
                )
                members = []
                break
            members.append(volume.slices[nearest])
        if members:
            group.pairs.append(SlicePair(tuple(members)))
            for volume, member in zip(chosen[1:], members[1:], strict=True):
                used[volume.volume_id].add(member.slice_id)
    return group, unpaired
