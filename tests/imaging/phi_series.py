"""A CT series full of patient identity, as a hospital's files are, for the de-identification and PHI tests."""

from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from tests.imaging.dicom_factory import write_series

NAME = "Rossi^Mario"
PATIENT_ID = "RSSMRA80A01F205X"
BIRTH_DATE = "19800101"
INSTITUTION = "Ospedale Maggiore di Testville"
ACCESSION = "ACC77519342"
# The five values no store or export may hold after an import (the name also as people write it).
PHI_VALUES = (NAME, "Rossi Mario", PATIENT_ID, BIRTH_DATE, INSTITUTION, ACCESSION)


def write_phi_series(folder: Path, *, n: int = 4, seed: int = 0, z0: float = -50.0) -> list[Path]:
    """A CT series (its own SeriesInstanceUID) of the patient, with identity in every usual place: the patient
    module, the study (accession, institution, referring physician, dates), descriptions and a private tag."""
    paths, _ = write_series(folder, n=n, seed=seed, z0=z0, patient=PATIENT_ID)
    study = generate_uid()
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = study
        ds.SeriesNumber = 3
        ds.PatientName = NAME
        ds.PatientBirthDate = BIRTH_DATE
        ds.PatientSex = "M"
        ds.PatientAge = "046Y"
        ds.OtherPatientIDs = f"{PATIENT_ID}-OLD"
        ds.InstitutionName = INSTITUTION
        ds.InstitutionAddress = "Via Roma 1, Testville"
        ds.AccessionNumber = ACCESSION
        ds.ReferringPhysicianName = "Bianchi^Luca"
        ds.OperatorsName = "Verdi^Anna"
        ds.StudyDate = "20240315"
        ds.SeriesDate = "20240315"
        ds.StudyTime = "101500"
        ds.StudyID = "S-4411"
        ds.StudyDescription = f"CT addome {NAME.replace('^', ' ')} {ACCESSION}"
        ds.SeriesDescription = "Portal venous phase"
        ds.ImageComments = f"patient {PATIENT_ID}, born {BIRTH_DATE}"
        ds.add_new(0x00090010, "LO", "TESTVENDOR")
        ds.add_new(0x00091010, "LO", f"private copy of {PATIENT_ID}")
        ds.save_as(path, enforce_file_format=True)
    return paths
