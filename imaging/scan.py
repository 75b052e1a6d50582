"""Finding what to import under a path: DICOM series (grouped by SeriesInstanceUID and modality) and NIfTI files.

Understands the CHAOS challenge layout, where the folder names say the modality and the patient:
`CT/<patient>/DICOM_anon/`, `MR/<patient>/T1DUAL/DICOM_anon/{InPhase,OutPhase}/`, `MR/<patient>/T2SPIR/DICOM_anon/`.
Inside that layout only files under DICOM_anon are read (the ground-truth masks beside them are ignored).
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imaging.dicom import DicomHeader, NotImageFile, read_header
from imaging.dicom.deidentify import Deidentifier
from imaging.nifti import is_nifti
from imaging.volumes import DEFAULT_LIMITS, ImageError, ImportLimits, Rejection

CHAOS_T1_FOLDERS = {"inphase": "t1_in", "outphase": "t1_out"}
IGNORED_NAMES = {
    ".DS_Store": "a macOS folder file, no image",
    "Thumbs.db": "a Windows thumbnail cache, no image",
    "DICOMDIR": "DICOMDIR (an index of the media), no image",
}

Progress = Callable[[str, int, int], None]


@dataclass
class SeriesSource:
    """One series to import: DICOM headers of its files, or a single NIfTI file. `patient` is a pseudonym; for a
    NIfTI file without a patient named by the layout or the importer it is empty (the importer numbers it)."""

    modality: str
    patient: str
    headers: list[DicomHeader] = field(default_factory=list)
    nifti_path: str | None = None

    @property
    def series_key(self) -> str:
        return self.headers[0].series_uid if self.headers else f"nifti:{self.nifti_path}"

    @property
    def label(self) -> str:
        where = self.nifti_path or os.path.dirname(self.headers[0].path)
        count = 1 if self.nifti_path else len(self.headers)
        return f"{where} ({self.modality}, patient {self.patient}, {count} file{'s' if count != 1 else ''})"


@dataclass
class ScanResult:
    series: list[SeriesSource]
    rejected: list[Rejection]
    ignored: list[Rejection]  # files read past, each with why (a mask, a DICOMDIR, an RT plan...)
    files_seen: int


@dataclass(frozen=True)
class LayoutHint:
    in_layout: bool
    modality: str | None = None
    patient: str | None = None
    reason: str | None = None


def chaos_hint(path: Path, *, kind: str) -> LayoutHint:
    parts = path.parts
    if "DICOM_anon" not in parts[:-1]:
        return LayoutHint(in_layout=False)
    at = len(parts) - 2 - parts[:-1][::-1].index("DICOM_anon")
    parent = parts[at - 1] if at >= 1 else ""
    if parent.upper() == "T1DUAL":
        phase = parts[at + 1].lower() if at + 2 < len(parts) else ""
        if phase not in CHAOS_T1_FOLDERS:
            return LayoutHint(True, reason="T1DUAL file outside InPhase/ or OutPhase/")
        return LayoutHint(True, CHAOS_T1_FOLDERS[phase], parts[at - 2] if at >= 2 else None)
    if parent.upper() == "T2SPIR":
        return LayoutHint(True, "t2", parts[at - 2] if at >= 2 else None)
    return LayoutHint(True, "ct" if kind != "mr" else None, parent or None)


def list_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found.extend(Path(folder) / name for name in sorted(names) if not name.startswith("."))
    return found


def _modality_for(hint: LayoutHint, *, kind: str, modality: str | None) -> str:
    if kind != "mr":
        if modality not in (None, "ct"):
            raise ImageError(f"--modality {modality} is for MRI, not --kind {kind}")
        return "ct"
    if hint.modality and modality and hint.modality != modality:
        raise ImageError(f"the folder layout says {hint.modality} but --modality is {modality}")
    chosen = hint.modality or modality
    if chosen is None:
        raise ImageError("cannot tell the MRI modality: pass --modality t1_in|t1_out|t2")
    return chosen


def scan_path(
    root: Path,
    *,
    kind: str,
    modality: str | None,
    deidentifier: Deidentifier,
    limits: ImportLimits = DEFAULT_LIMITS,
    progress: Progress | None = None,
) -> ScanResult:
    """Read every file's header under root, de-identified, and group the images into series; nothing is decoded
    yet. A patient named by the CHAOS layout's folders gets the pseudonym of that name."""
    files = list_files(root)
    layout = any("DICOM_anon" in f.parts[:-1] for f in files)
    grouped: dict[tuple[str, str], SeriesSource] = {}
    rejected: list[Rejection] = []
    ignored: list[Rejection] = []
    for done, file in enumerate(files, start=1):
        if progress:
            progress("reading headers", done, len(files))
        hint = chaos_hint(file, kind=kind)
        if file.name in IGNORED_NAMES:
            ignored.append(Rejection(str(file), IGNORED_NAMES[file.name]))
            continue
        if layout and not hint.in_layout:
            ignored.append(
                Rejection(str(file), "outside DICOM_anon in the CHAOS layout (e.g. a ground-truth mask)")
            )
            continue
        try:
            if hint.reason:
                raise ImageError(hint.reason)
            file_modality = _modality_for(hint, kind=kind, modality=modality)
            patient = deidentifier.pseudonym(hint.patient) if hint.patient else ""
            if is_nifti(file):
                grouped[("nifti", str(file))] = SeriesSource(file_modality, patient, nifti_path=str(file))
                continue
            header = read_header(str(file), kind=kind, deidentifier=deidentifier, limits=limits)
        except NotImageFile as exc:
            ignored.append(Rejection(str(file), str(exc)))
            continue
        except ImageError as exc:
            rejected.append(Rejection(str(file), str(exc)))
            continue
        key = (header.series_uid, file_modality)
        if key not in grouped:
            grouped[key] = SeriesSource(file_modality, patient or header.patient)
        grouped[key].headers.append(header)
    return ScanResult(list(grouped.values()), rejected, ignored, len(files))
