"""Writing phantom patients as DICOM series in the CHAOS challenge layout, through `imaging.dicom`'s writer.

Per patient: contrast-enhanced and non-contrast CT of the same anatomy at the same positions, T1 in- and
out-of-phase at the same positions, and T2 at positions offset from T1. Every random draw and every UID derives
from (seed, patient, series, slice), so the same seed writes byte-identical files.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imaging.constants import DEFAULT_CT_WINDOW, HU_MIN
from imaging.dicom import (
    AxialImage,
    Patient,
    PixelEncoding,
    Series,
    Study,
    centred_position,
    decimal_string,
    phantom_uid,
    slice_dataset,
    write_dataset,
)
from imaging.phantoms.anatomy import PhantomAnatomy, patient_rng, phantom_anatomy
from imaging.phantoms.geometry import (
    DEFAULT_CT_MATRIX,
    DEFAULT_CT_SLICES,
    DEFAULT_MR_MATRIX,
    DEFAULT_MR_SLICES,
    MAX_MATRIX,
    MAX_SLICES,
    MIN_MATRIX,
    ScanPlan,
    scan_plan,
)
from imaging.phantoms.labels import tissue_labels
from imaging.phantoms.signal import ct_hu_from_labels, mr_from_labels

Progress = Callable[[int, int], None]

STUDY_DATE = "20240101"
STUDY_TIME = "120000"
SOFTWARE = "blindread phantoms 1"
AXIAL_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)

# CT is stored in 12 bits: HU -1024..3071 (the range the signal is clipped to) as 0..4095.
CT_ENCODING = PixelEncoding(bits_stored=12, signed=False, rescale_intercept=HU_MIN)
MR_ENCODING = PixelEncoding(bits_stored=12, signed=False)

# Computed, not acquired: DERIVED. Value 3 comes from each IOD's defined terms: AXIAL for CT; MR Images have no term
# for an axial image and require a value, so OTHER.
CT_IMAGE_TYPE = ("DERIVED", "PRIMARY", "AXIAL")
MR_IMAGE_TYPE = ("DERIVED", "PRIMARY", "OTHER")

ECHO_TIME_MS = {"t1_in": 4.4, "t1_out": 2.2, "t2": 80.0}
_SERIES_CODES = {"ct": 1, "ct_noncontrast": 2, "t1_in": 3, "t1_out": 4, "t2": 5}


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
class _PhantomSeries:
    """One series to write: its kind, folder and slice positions, and the DICOM attributes its slices share."""

    kind: str
    folder: Path
    matrix: int
    pixel_mm: float
    slice_mm: float
    z_mm: tuple[float, ...]
    dicom: Series

    @property
    def is_ct(self) -> bool:
        return self.dicom.modality == "CT"

    def file_path(self, index: int) -> Path:
        return self.folder / f"IMG-{self.dicom.number:04d}-{index + 1:05d}.dcm"


def _ct_attributes(kind: str) -> dict[str, object]:
    attributes: dict[str, object] = {"KVP": "120", "ConvolutionKernel": "STANDARD", "AcquisitionNumber": 1}
    if kind == "ct":
        attributes |= {"ContrastBolusAgent": "IODINATED CONTRAST", "ContrastBolusRoute": "IV"}
    return attributes


def _mr_attributes(kind: str) -> dict[str, object]:
    attributes: dict[str, object] = {
        "MagneticFieldStrength": "1.5",
        "ImagingFrequency": "63.87",
        "ImagedNucleus": "1H",
        "MRAcquisitionType": "2D",
        "EchoTime": decimal_string(ECHO_TIME_MS[kind]),
        "ScanOptions": "",  # no fat saturation, gating or other options
    }
    if kind == "t2":
        return attributes | {
            "ScanningSequence": "SE",
            "SequenceVariant": "SK",
            "RepetitionTime": "1600",
            "EchoTrainLength": 20,
            "FlipAngle": "90",
        }
    return attributes | {
        "ScanningSequence": "GR",
        "SequenceVariant": "SP",
        "RepetitionTime": "150",
        "EchoTrainLength": 1,
        "FlipAngle": "80",
        "EchoNumbers": 2 if kind == "t1_in" else 1,
    }


def _slice_thickness(kind: str, slice_mm: float) -> float:
    if kind.startswith("ct"):
        return slice_mm
    return slice_mm - (0.5 if kind == "t2" else 0.8)  # MR stacks leave a small gap


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


def _slice_rng(seed: int, patient: int, series_code: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, patient, series_code, index])


def _patient_series(outdir: Path, patient: int, seed: int, plan: ScanPlan, ct_matrix: int, mr_matrix: int):
    """The five series of one patient: non-contrast CT, contrast CT, T2, T1 in-phase, T1 out-of-phase."""
    name = str(patient)
    person = Patient(name=f"PHANTOM^{patient}", id=f"PHANTOM-{patient}", sex="O")

    def study(part: str) -> Study:
        return Study(
            uid=phantom_uid(seed, patient, f"{part}-study"),
            patient=person,
            description="Phantom abdomen",
            date=STUDY_DATE,
            time=STUDY_TIME,
            study_id="1",
        )

    ct_study, mr_study = study("ct"), study("mr")
    ct_frame, mr_frame = phantom_uid(seed, patient, "ct-frame"), phantom_uid(seed, patient, "mr-frame")

    def series(kind, folder, description, number, matrix, pixel_mm, slice_mm, z_mm) -> _PhantomSeries:
        is_ct = kind.startswith("ct")
        return _PhantomSeries(
            kind=kind,
            folder=folder,
            matrix=matrix,
            pixel_mm=pixel_mm,
            slice_mm=slice_mm,
            z_mm=z_mm,
            dicom=Series(
                study=ct_study if is_ct else mr_study,
                modality="CT" if is_ct else "MR",
                uid=phantom_uid(seed, patient, kind, "series"),
                number=number,
                description=description,
                frame_of_reference_uid=ct_frame if is_ct else mr_frame,
                image_type=CT_IMAGE_TYPE if is_ct else MR_IMAGE_TYPE,
                pixel_spacing_mm=(pixel_mm, pixel_mm),
                encoding=CT_ENCODING if is_ct else MR_ENCODING,
                slice_thickness_mm=_slice_thickness(kind, slice_mm),
                spacing_between_slices_mm=slice_mm,
                model_name="Procedural phantom",
                software_versions=SOFTWARE,
                body_part="ABDOMEN",
                patient_position="HFS",
                date=STUDY_DATE,
                time=STUDY_TIME,
                window=DEFAULT_CT_WINDOW if is_ct else None,
                attributes=_ct_attributes(kind) if is_ct else _mr_attributes(kind),
            ),
        )

    ct = (ct_matrix, plan.ct_pixel_mm, plan.ct_slice_mm, plan.ct_z_mm)
    t1 = (mr_matrix, plan.mr_pixel_mm, plan.t1_slice_mm, plan.t1_z_mm)
    t2 = (mr_matrix, plan.mr_pixel_mm, plan.t2_slice_mm, plan.t2_z_mm)
    t1_folder = outdir / "MR" / name / "T1DUAL" / "DICOM_anon"
    return (
        series(
            "ct_noncontrast",
            outdir / "CT_noncontrast" / name / "DICOM_anon",
            "CT abdomen non-contrast",
            1,
            *ct,
        ),
        series("ct", outdir / "CT" / name / "DICOM_anon", "CT abdomen portal venous", 2, *ct),
        series("t2", outdir / "MR" / name / "T2SPIR" / "DICOM_anon", "T2SPIR", 1, *t2),
        series("t1_in", t1_folder / "InPhase", "T1DUAL InPhase", 2, *t1),
        series("t1_out", t1_folder / "OutPhase", "T1DUAL OutPhase", 3, *t1),
    )


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
    plan = scan_plan(rng, anatomy, ct_matrix, mr_matrix, ct_slices, mr_slices)
    ct_plain, ct_contrast, t2, t1_in, t1_out = _patient_series(
        outdir, patient, seed, plan, ct_matrix, mr_matrix
    )

    # Series that share slice positions share one label map per slice.
    for group in ((ct_plain, ct_contrast), (t1_in, t1_out), (t2,)):
        for item in group:
            item.folder.mkdir(parents=True, exist_ok=True)
        first = group[0]
        for index, z_fraction in enumerate(plan.z_fractions(first.z_mm)):
            labels = tissue_labels(anatomy, z_fraction, first.matrix, first.pixel_mm)
            for item in group:
                rng_slice = _slice_rng(seed, patient, _SERIES_CODES[item.kind], index)
                if item.is_ct:
                    pixels = ct_hu_from_labels(anatomy, labels, item.kind == "ct", rng_slice)
                else:
                    pixels = mr_from_labels(anatomy, labels, item.kind, item.pixel_mm, rng_slice)
                write_dataset(_slice(item, seed, patient, index, pixels), item.file_path(index))
            advance(len(group))
        for item in group:
            _remove_stale_files(item)

    summaries = tuple(
        SeriesSummary(
            kind=item.kind,
            folder=item.folder,
            series_instance_uid=item.dicom.uid,
            matrix=item.matrix,
            pixel_spacing_mm=item.pixel_mm,
            slice_spacing_mm=item.slice_mm,
            z_mm=item.z_mm,
            z_fractions=plan.z_fractions(item.z_mm),
        )
        for item in (ct_contrast, ct_plain, t1_in, t1_out, t2)
    )
    return PatientSummary(patient=str(patient), anatomy=anatomy, series=summaries)


def _slice(series: _PhantomSeries, seed: int, patient: int, index: int, pixels: np.ndarray):
    z = series.z_mm[index]
    spacing = (series.pixel_mm, series.pixel_mm)
    image = AxialImage(
        sop_instance_uid=phantom_uid(seed, patient, series.kind, "instance", index),
        instance_number=index + 1,
        position_mm=centred_position(series.matrix, series.matrix, spacing, AXIAL_ORIENTATION, z),
        orientation=AXIAL_ORIENTATION,
        slice_location_mm=z,
        pixels=pixels,
    )
    return slice_dataset(series.dicom, image)


def _remove_stale_files(series: _PhantomSeries) -> None:
    expected = {series.file_path(index).name for index in range(len(series.z_mm))}
    for path in series.folder.glob("*.dcm"):
        if path.name not in expected:
            path.unlink()
