"""Procedural phantoms: the CHAOS layout, valid DICOM, plausible HU and MR contrast, determinism, the command."""

import hashlib
from io import StringIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.core.management import CommandError, call_command
from pydicom.pixels import apply_modality_lut
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage

from imaging.phantoms import (
    CT_SLICE_MM,
    FAT_TISSUES,
    MR_SLICE_MM,
    WATER_TISSUES,
    Tissue,
    mr_from_labels,
    patient_rng,
    phantom_anatomy,
    tissue_labels,
    write_phantoms,
)

SEED = 11
SMALL = {"ct_matrix": 128, "mr_matrix": 64, "ct_slices": 20, "mr_slices": 8}
SERIES_FOLDERS = {
    "ct": "CT/{p}/DICOM_anon",
    "ct_noncontrast": "CT_noncontrast/{p}/DICOM_anon",
    "t1_in": "MR/{p}/T1DUAL/DICOM_anon/InPhase",
    "t1_out": "MR/{p}/T1DUAL/DICOM_anon/OutPhase",
    "t2": "MR/{p}/T2SPIR/DICOM_anon",
}
# Tissues whose signal is all water, so out-of-phase equals in-phase inside them (the liver holds some fat).
PURE_WATER = (Tissue.MUSCLE, Tissue.SPLEEN, Tissue.KIDNEY_CORTEX, Tissue.KIDNEY_MEDULLA)

# sha256 of the PixelData, and of the SOP/series/study/frame of reference UIDs, of every file of each series folder
# (files in name order), as imaging/phantoms.py wrote them before it became a package: the same seed must keep
# giving the same pixels and UIDs.
PIXELS_AND_UIDS_BEFORE_THE_SPLIT = {
    "CT/1/DICOM_anon": (
        "f62c1afdbb4f180527d9a7b422e4fa5610f0c82a2a25448d63ce1b195749a026",
        "1adac62a06a61759008b7d560b55c8a761a80e6ec87068cf96d88e202d9e7516",
    ),
    "CT/2/DICOM_anon": (
        "9ee26a67059b36c092eda82f5818863c1f45180da1ce1ab82deba727588340d4",
        "ace013f51bafc0187a4ece2cb1ea81bb86b142d6eaa75b7d11242efd3ea06e41",
    ),
    "CT_noncontrast/1/DICOM_anon": (
        "8533878080a1cb0fa2fee988b2679229dfbce1c260c8e0ec58f6e47eb27ff101",
        "6c9d1215f69684fabcc7f58237abf78dcbfbe6abfa489eff3f39effd70cf0710",
    ),
    "CT_noncontrast/2/DICOM_anon": (
        "4fbfc33ae68de43d6fc0b7282d2f91436a6f8cb1a54e1993876fee084629c365",
        "cfe26565c34a244436b6533621a9e581abba2e136dbfc02018e8300547b8e8d5",
    ),
    "MR/1/T1DUAL/DICOM_anon/InPhase": (
        "bccd28bb69b45a796558759db59faa092d1d4810f16a45922ebd3998425a7305",
        "1c5eea021e8943b308fced030c1423dc2ebd3800472c93679f3cb3dc91e557fe",
    ),
    "MR/1/T1DUAL/DICOM_anon/OutPhase": (
        "b5e00e28e689559d4c1aa4654d84516012c0b94ac4fa2378036a3437df092085",
        "17b0db023029b7f19d385a9bd36a28294840f1e10c5185b44ad7347e1d277dfd",
    ),
    "MR/1/T2SPIR/DICOM_anon": (
        "cedc4fd25fe9a9da515d4e4420dc441e2da3f5ec5d49dd3943068f91e4cc949c",
        "583ab9ae5f8f5c13edcaf900827eea1585d07eef608168b02744a0a109ccef22",
    ),
    "MR/2/T1DUAL/DICOM_anon/InPhase": (
        "82a1a1cdb5138e78e7ca60f9bfee1ea3fbe6144ccd84aa22a690a5092cb73448",
        "ddd7e25a76c1f3bb5331c01563bd354a22c72ef511e0b82aa59b0542feb0cad5",
    ),
    "MR/2/T1DUAL/DICOM_anon/OutPhase": (
        "e838e21be417a0c97a435aacef1c096814c323e45f73e2d25620cae6df89ed65",
        "c7245ab415c5f0bc84dc30132762f397f1f0b43ef92a3a8c5d99b59e21a89b5e",
    ),
    "MR/2/T2SPIR/DICOM_anon": (
        "3567f4862b29818a8cf1e2b5384da6bf5a6f1d92dbd5d485bcb553cd17e1b3f5",
        "f6f0edffb405bc2aef5361d6fa5df45d32d8ffc778cb2a20b3dcbaef4137463a",
    ),
}
# One patient at odd matrices (97 CT, 45 MR) and few slices, seed 2024.
ODD = {"ct_matrix": 97, "mr_matrix": 45, "ct_slices": 7, "mr_slices": 5}
ODD_PIXELS_AND_UIDS_BEFORE_THE_SPLIT = {
    "CT/1/DICOM_anon": (
        "3c9ef2b84048c0f144d7f618a995c9803610074c2e79e8427db23880d97126fd",
        "a7cceb32e83e68351bedcbea6eb503c2b8b180243d1d2df29f325ce952ae13b4",
    ),
    "CT_noncontrast/1/DICOM_anon": (
        "0d010ece503d80e9ec8eecdab84b6e02943db3bfc92751ab066821d67dba8627",
        "36fb43a7ba3e84f5fc490dbc00f3f6d25a330f1e940d82a1478b557243049f24",
    ),
    "MR/1/T1DUAL/DICOM_anon/InPhase": (
        "cd9b417b0ff054ffb3ecc753e51754baa822025c0ec66e74b26eb3907faf1501",
        "73d458158de0d0976a3b4331bd62296e8186980893ab8a695380281a039d7bd4",
    ),
    "MR/1/T1DUAL/DICOM_anon/OutPhase": (
        "c0fdcc467634ae03a4f1e609026a52dbde4a857315d4a4cdf61d73401d6f0e94",
        "349e77ca582d2565c886618deb9484d8e11032edaca40532e3526c8596c2dfb4",
    ),
    "MR/1/T2SPIR/DICOM_anon": (
        "02322d0fdfee2bcc31a9aec81d23a5010eb7bf3b3b4ed97c374a22244b0ad478",
        "d700d541d8a83ed8da1f20f5f609e5c0e96c120a228de51db5876c5a3cdcd8ff",
    ),
}


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("phantoms")
    summary = write_phantoms(outdir, patients=2, seed=SEED, **SMALL)
    return outdir, summary


def series_files(outdir: Path, kind: str, patient: int = 1) -> list[Path]:
    return sorted((outdir / SERIES_FOLDERS[kind].format(p=patient)).glob("*.dcm"))


def read_series(outdir: Path, kind: str, patient: int = 1) -> list[pydicom.Dataset]:
    datasets = [pydicom.dcmread(path) for path in series_files(outdir, kind, patient)]
    return sorted(datasets, key=lambda ds: int(ds.InstanceNumber))


def hu_stack(outdir: Path, kind: str, patient: int = 1) -> np.ndarray:
    return np.stack([apply_modality_lut(ds.pixel_array, ds) for ds in read_series(outdir, kind, patient)])


def labels_of(summary, kind: str, index: int, patient: int = 1) -> np.ndarray:
    record = summary.patients[patient - 1]
    series = record.series_of(kind)
    return tissue_labels(record.anatomy, series.z_fractions[index], series.matrix, series.pixel_spacing_mm)


def interior(mask: np.ndarray) -> np.ndarray:
    """Pixels of the mask whose four neighbours are in it too: away from partial volume at the edges."""
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner


def touching(mask: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Pixels of the mask with at least one of their four neighbours in `other`."""
    near = np.zeros_like(other)
    near[1:, :] |= other[:-1, :]
    near[:-1, :] |= other[1:, :]
    near[:, 1:] |= other[:, :-1]
    near[:, :-1] |= other[:, 1:]
    return mask & near


def test_every_series_is_written_in_the_chaos_layout(phantoms):
    outdir, _ = phantoms
    expected = {"ct": 20, "ct_noncontrast": 20, "t1_in": 8, "t1_out": 8, "t2": 8}
    for patient in (1, 2):
        counts = {kind: len(series_files(outdir, kind, patient)) for kind in SERIES_FOLDERS}
        assert counts == expected, f"patient {patient}"
    assert sorted(p.name for p in (outdir / "CT").iterdir()) == ["1", "2"]


def test_every_file_is_dicom_part_10_with_the_attributes_an_importer_needs(phantoms):
    outdir, _ = phantoms
    sop_instances = set()
    series_per_patient = {1: set(), 2: set()}
    for patient in (1, 2):
        for kind in SERIES_FOLDERS:
            for path in series_files(outdir, kind, patient):
                ds = pydicom.dcmread(path)  # not force=True: needs the preamble and file meta
                is_ct = kind.startswith("ct")
                assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
                assert ds.file_meta.MediaStorageSOPClassUID == (CTImageStorage if is_ct else MRImageStorage)
                assert ds.SOPClassUID == ds.file_meta.MediaStorageSOPClassUID
                assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
                assert ds.Modality == ("CT" if is_ct else "MR")
                assert str(ds.PatientName) == f"PHANTOM^{patient}"
                assert ds.PatientID
                assert (ds.PhotometricInterpretation, ds.SamplesPerPixel, ds.BitsAllocated) == (
                    "MONOCHROME2",
                    1,
                    16,
                )
                assert ds.PixelRepresentation == 0 and ds.pixel_array.dtype == np.uint16
                assert int(ds.pixel_array.max()) < 2**ds.BitsStored
                assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
                assert ds.Rows == ds.Columns == (128 if is_ct else 64)
                # Centred: the first pixel sits half a field of view up and to the patient's right.
                half_fov = (ds.Columns - 1) / 2 * float(ds.PixelSpacing[1])
                assert float(ds.ImagePositionPatient[0]) == pytest.approx(-half_fov, abs=1e-3)
                assert float(ds.ImagePositionPatient[1]) == pytest.approx(-half_fov, abs=1e-3)
                assert float(ds.SliceThickness) > 0 and float(ds.SpacingBetweenSlices) > 0
                if is_ct:
                    assert (float(ds.RescaleSlope), float(ds.RescaleIntercept), ds.RescaleType) == (
                        1,
                        -1024,
                        "HU",
                    )
                else:
                    assert float(ds.EchoTime) > 0 and ds.SeriesDescription
                sop_instances.add(ds.SOPInstanceUID)
                series_per_patient[patient].add(ds.SeriesInstanceUID)
    assert len(sop_instances) == 2 * (2 * 20 + 3 * 8)
    assert all(len(uids) == 5 for uids in series_per_patient.values())
    assert not series_per_patient[1] & series_per_patient[2]


def test_echo_times_tell_in_phase_from_out_of_phase(phantoms):
    outdir, _ = phantoms
    in_phase = pydicom.dcmread(series_files(outdir, "t1_in")[0])
    out_of_phase = pydicom.dcmread(series_files(outdir, "t1_out")[0])
    assert float(in_phase.EchoTime) == pytest.approx(4.4)
    assert float(out_of_phase.EchoTime) == pytest.approx(2.2)


def test_air_in_front_of_the_body_reads_minus_1000_hu(phantoms):
    outdir, _ = phantoms
    hu = hu_stack(outdir, "ct")
    centre = hu.shape[2] // 2
    air = hu[:, 3:6, centre - 3 : centre + 3]
    assert air.mean() == pytest.approx(-1000, abs=15)


def test_liver_reads_its_hu_band_with_and_without_contrast(phantoms):
    outdir, summary = phantoms
    index = 13  # z fraction about 0.68: the liver is large there
    liver = interior(labels_of(summary, "ct", index) == Tissue.LIVER)
    assert liver.sum() > 50
    plain = hu_stack(outdir, "ct_noncontrast")[index][liver].mean()
    enhanced = hu_stack(outdir, "ct")[index][liver].mean()
    assert 40 <= plain <= 80
    assert 90 <= enhanced <= 140


def test_aorta_is_brighter_with_contrast_than_without_at_the_same_pixels(phantoms):
    outdir, summary = phantoms
    plain, enhanced = hu_stack(outdir, "ct_noncontrast"), hu_stack(outdir, "ct")
    aorta = np.stack(
        [interior(labels_of(summary, "ct", index) == Tissue.AORTA) for index in range(len(plain))]
    )
    assert aorta.any(axis=(1, 2)).all()
    assert plain[aorta].mean() == pytest.approx(42, abs=12)
    assert enhanced[aorta].mean() > plain[aorta].mean() + 120
    for index in range(len(plain)):
        assert enhanced[index][aorta[index]].mean() > plain[index][aorta[index]].mean() + 60


def test_vertebral_body_is_bone_above_500_hu(phantoms):
    outdir, summary = phantoms
    hu = hu_stack(outdir, "ct")
    bone = (Tissue.CORTICAL_BONE, Tissue.CANCELLOUS_BONE)
    spacing = summary.patients[0].series_of("ct").pixel_spacing_mm
    column = hu.shape[2] // 2
    checked = 0
    for index in range(hu.shape[0]):
        midline = np.isin(labels_of(summary, "ct", index)[:, column], bone)
        first = int(np.argmax(midline))
        run = first
        while run < midline.size and midline[run]:
            run += 1
        if (run - first) * spacing < 20:  # a disc level: the first bone along the midline is the neural arch
            continue
        checked += 1
        assert hu[index, first:run, column].max() > 500, f"slice {index}"
    assert checked >= hu.shape[0] // 2


def posterior_air_pixels(hu: np.ndarray) -> int:
    """Pixels below -700 HU inside the body and in the posterior 40% of its depth (bowel gas stays anterior)."""
    inside = np.zeros(hu.shape, dtype=bool)
    for row in range(hu.shape[0]):
        body = np.flatnonzero(hu[row] > -500)
        if body.size:
            inside[row, body[0] : body[-1] + 1] = True
    rows = np.flatnonzero(inside.any(axis=1))
    posterior = np.arange(hu.shape[0])[:, None] > rows[0] + 0.6 * (rows[-1] - rows[0])
    return int((inside & posterior & (hu < -700)).sum())


def test_lung_bases_appear_posteriorly_in_the_top_slices_only(phantoms):
    outdir, _ = phantoms
    for kind in ("ct", "ct_noncontrast"):
        hu = hu_stack(outdir, kind)
        assert all(posterior_air_pixels(hu[index]) > 30 for index in (-1, -2)), kind
        assert all(posterior_air_pixels(hu[index]) == 0 for index in range(8)), kind


def test_bowel_gas_is_present_in_the_lower_abdomen(phantoms):
    outdir, _ = phantoms
    hu = hu_stack(outdir, "ct")
    lower = hu[:8, : hu.shape[1] // 2]  # anterior half of the lower slices
    assert (lower < -900).sum() > (hu[:8, :3] < -900).sum() // 8 + 20


def test_out_of_phase_darkens_fat_water_boundaries_but_not_water(phantoms):
    outdir, summary = phantoms
    in_phase = np.stack([ds.pixel_array for ds in read_series(outdir, "t1_in")]).astype(float)
    out_phase = np.stack([ds.pixel_array for ds in read_series(outdir, "t1_out")]).astype(float)
    boundary_ratios, water_ratios = [], []
    for index in range(in_phase.shape[0]):
        labels = labels_of(summary, "t1_in", index)
        fat = np.isin(labels, list(FAT_TISSUES))
        water = np.isin(labels, list(WATER_TISSUES))
        boundary = touching(fat, water) | touching(water, fat)
        pure = interior(np.isin(labels, PURE_WATER))
        boundary_ratios.append(out_phase[index][boundary] / np.maximum(in_phase[index][boundary], 1))
        water_ratios.append(out_phase[index][pure] / np.maximum(in_phase[index][pure], 1))
    boundary_ratio = np.median(np.concatenate(boundary_ratios))
    water_ratio = np.median(np.concatenate(water_ratios))
    assert boundary_ratio < 0.6
    assert water_ratio > 0.75


def test_t2_shows_fluid_bright_fat_medium_and_liver_and_muscle_dark(phantoms):
    outdir, summary = phantoms
    t2 = [ds.pixel_array.astype(float) for ds in read_series(outdir, "t2")]
    labels = [labels_of(summary, "t2", index) for index in range(len(t2))]

    def mean(tissues, erode=True):
        masks = [np.isin(label, tissues) for label in labels]
        return np.concatenate([t2[i][interior(m) if erode else m] for i, m in enumerate(masks)]).mean()

    fluid = mean([Tissue.BOWEL_FLUID, Tissue.BILE, Tissue.URINE, Tissue.CSF], erode=False)
    fat, liver, muscle = mean(list(FAT_TISSUES)), mean([Tissue.LIVER]), mean([Tissue.MUSCLE])
    assert fluid > 3 * liver and fluid > 3 * muscle
    assert fat > 1.5 * liver


def test_t1_phases_share_slice_positions_and_t2_does_not(phantoms):
    outdir, _ = phantoms
    for patient in (1, 2):
        z = {
            kind: [float(ds.ImagePositionPatient[2]) for ds in read_series(outdir, kind, patient)]
            for kind in ("t1_in", "t1_out", "t2")
        }
        assert z["t1_in"] == z["t1_out"]
        assert not set(z["t2"]) & set(z["t1_in"])
        uids = {kind: read_series(outdir, kind, patient)[0].SeriesInstanceUID for kind in z}
        assert len(set(uids.values())) == 3


def test_contrast_and_plain_ct_are_two_series_of_the_same_anatomy(phantoms):
    outdir, _ = phantoms
    plain, enhanced = read_series(outdir, "ct_noncontrast"), read_series(outdir, "ct")
    assert plain[0].SeriesInstanceUID != enhanced[0].SeriesInstanceUID
    assert [ds.ImagePositionPatient for ds in plain] == [ds.ImagePositionPatient for ds in enhanced]
    body_plain = np.stack([apply_modality_lut(ds.pixel_array, ds) for ds in plain]) > -500
    body_enhanced = np.stack([apply_modality_lut(ds.pixel_array, ds) for ds in enhanced]) > -500
    assert (body_plain == body_enhanced).mean() > 0.99


@pytest.mark.parametrize(
    ("kind", "limits"), [("ct", CT_SLICE_MM), ("t1_in", MR_SLICE_MM), ("t2", MR_SLICE_MM)]
)
def test_z_increases_with_instance_number_at_a_documented_spacing(phantoms, kind, limits):
    outdir, _ = phantoms
    for patient in (1, 2):
        datasets = read_series(outdir, kind, patient)
        assert [int(ds.InstanceNumber) for ds in datasets] == list(range(1, len(datasets) + 1))
        gaps = np.diff([float(ds.ImagePositionPatient[2]) for ds in datasets])
        assert (gaps > 0).all()
        assert limits[0] - 1e-3 <= gaps.min() and gaps.max() <= limits[1] + 1e-3
        assert np.ptp(gaps) < 2e-3
        assert float(datasets[0].SpacingBetweenSlices) == pytest.approx(gaps.mean(), abs=1e-3)


def test_mr_covers_about_the_ct_range(phantoms):
    outdir, _ = phantoms
    ct_z = [float(ds.ImagePositionPatient[2]) for ds in read_series(outdir, "ct")]
    mr_z = [float(ds.ImagePositionPatient[2]) for ds in read_series(outdir, "t1_in")]
    assert abs(np.mean(mr_z) - np.mean(ct_z)) < 5
    assert np.ptp(mr_z) == pytest.approx(np.ptp(ct_z), rel=0.1)


def test_the_same_seed_writes_byte_identical_files(phantoms, tmp_path):
    outdir, _ = phantoms
    write_phantoms(tmp_path, patients=1, seed=SEED, **SMALL)
    for kind in SERIES_FOLDERS:
        first, again = series_files(outdir, kind), series_files(tmp_path, kind)
        assert [p.name for p in first] == [p.name for p in again]
        assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, again, strict=True)), kind


def pixel_and_uid_hashes(outdir: Path) -> dict[str, tuple[str, str]]:
    pixels, uids = {}, {}
    for path in sorted(outdir.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        folder = path.relative_to(outdir).parent.as_posix()
        pixels.setdefault(folder, hashlib.sha256()).update(ds.PixelData)
        names = (ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.FrameOfReferenceUID)
        uids.setdefault(folder, hashlib.sha256()).update("|".join(names).encode())
    return {folder: (pixels[folder].hexdigest(), uids[folder].hexdigest()) for folder in pixels}


def test_the_same_seed_gives_the_pixels_and_uids_it_gave_before_the_package_split(phantoms, tmp_path):
    outdir, _ = phantoms
    assert pixel_and_uid_hashes(outdir) == PIXELS_AND_UIDS_BEFORE_THE_SPLIT
    write_phantoms(tmp_path, patients=1, seed=2024, **ODD)
    assert pixel_and_uid_hashes(tmp_path) == ODD_PIXELS_AND_UIDS_BEFORE_THE_SPLIT


def test_a_different_seed_gives_a_different_patient(phantoms, tmp_path):
    outdir, _ = phantoms
    write_phantoms(tmp_path, patients=1, seed=SEED + 1, **SMALL)
    for kind in ("ct", "t2"):
        ours, theirs = read_series(outdir, kind), read_series(tmp_path, kind)
        assert not np.array_equal(
            ours[10 if kind == "ct" else 4].pixel_array, theirs[10 if kind == "ct" else 4].pixel_array
        )
        assert ours[0].SOPInstanceUID != theirs[0].SOPInstanceUID


def test_patients_of_one_seed_differ_in_anatomy():
    first, second = phantom_anatomy(patient_rng(SEED, 1)), phantom_anatomy(patient_rng(SEED, 2))
    assert first.body_half_width_mm != second.body_half_width_mm
    assert first.liver_fat_fraction != second.liver_fat_fraction


def test_rewriting_with_fewer_slices_leaves_no_stale_files(tmp_path):
    small = {**SMALL, "ct_matrix": 32, "mr_matrix": 32}
    write_phantoms(tmp_path, patients=1, seed=SEED, **small)
    write_phantoms(tmp_path, patients=1, seed=SEED, **{**small, "ct_slices": 5, "mr_slices": 3})
    assert len(series_files(tmp_path, "ct")) == 5
    assert len(series_files(tmp_path, "t1_out")) == 3


def test_mr_signal_rejects_an_unknown_sequence():
    anatomy = phantom_anatomy(patient_rng(SEED, 1))
    labels = tissue_labels(anatomy, 0.5, 32, 12.0)
    with pytest.raises(ValueError, match="unknown MR sequence"):
        mr_from_labels(anatomy, labels, "flair", 12.0, np.random.default_rng(0))


def test_progress_counts_every_file(tmp_path):
    calls = []
    write_phantoms(
        tmp_path,
        patients=2,
        seed=SEED,
        ct_matrix=32,
        mr_matrix=32,
        ct_slices=3,
        mr_slices=2,
        progress=lambda *a: calls.append(a),
    )
    assert calls[-1] == (2 * (2 * 3 + 3 * 2),) * 2
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_command_writes_phantoms_and_prints_a_line_per_patient(tmp_path):
    out = StringIO()
    call_command(
        "make_phantoms",
        str(tmp_path),
        patients=2,
        seed=3,
        ct_matrix=32,
        mr_matrix=32,
        ct_slices=4,
        mr_slices=3,
        stdout=out,
    )
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["patient 1", "patient 2"]
    assert len(series_files(tmp_path, "ct", 2)) == 4
    assert len(series_files(tmp_path, "t2", 2)) == 3


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ({"patients": 0}, "--patients must be at least 1"),
        ({"ct_matrix": 16}, "--ct-matrix must be between"),
        ({"mr_matrix": 31}, "--mr-matrix must be between"),
        ({"ct_slices": 1}, "--ct-slices must be between"),
    ],
)
def test_command_rejects_impossible_arguments(tmp_path, argument, message):
    options = {"patients": 1, "seed": 1, "ct_matrix": 32, "mr_matrix": 32, "ct_slices": 3, "mr_slices": 2}
    with pytest.raises(CommandError, match=message):
        call_command("make_phantoms", str(tmp_path / "out"), **{**options, **argument})
    assert not (tmp_path / "out").exists()


def test_command_refuses_an_outdir_that_is_a_file(tmp_path):
    target = tmp_path / "phantoms.txt"
    target.write_text("not a folder")
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("make_phantoms", str(target), patients=1, seed=1)


@pytest.mark.parametrize("seed", [4, 5, 9])
def test_a_structure_fading_out_between_slices_paints_nothing_instead_of_overflowing(tmp_path, seed):
    # These seeds put a slice just above the conus medullaris, where the spinal cord's half-axes are ~1e-28 mm;
    # the warnings filter turns NumPy's overflow warning into an error, as it did before the smallest ellipse rule.
    write_phantoms(tmp_path, patients=1, seed=seed, ct_matrix=64, mr_matrix=32, ct_slices=6, mr_slices=3)
    assert len(list((tmp_path / "CT").rglob("*.dcm"))) == 6
