"""De-identification of DICOM datasets on arrival: the DICOM PS3.15 Annex E Basic Application Level
Confidentiality Profile, with the Retain Longitudinal Temporal Information with Modified Dates option and the
Clean Descriptors option. Pure pydicom; the key comes from the caller (settings), never from a file.

What it does to a dataset, in place (docs/security.md, *De-identification*, says the same for people):

- Patient Name and Patient ID become the patient's pseudonym: a keyed hash (HMAC-SHA-256) of what identifies the
  patient (the original Patient ID; a study without one is its own patient), so the same patient gets the same
  pseudonym on every import and nobody without the key can tell who it is or test a guess.
- Every instance UID (study, series, SOP instance, frame of reference, referenced instances...) is replaced by a
  UID derived from the original through the same keyed hash: a second import of a series gets the same new
  SeriesInstanceUID (so it is still skipped as a duplicate) and the original UIDs are never stored. SOP class,
  transfer syntax and other registered UIDs stay.
- The attributes the profile removes or empties (names of people and institutions, addresses, birth date, other
  patient IDs, accession number, study ID, device serial numbers, comments, request and procedure attributes...)
  are removed or emptied; every other person name (PN) is removed too, as are all private attributes, overlays
  and curves.
- Modified Dates: every date (DA, and the date part of DT) is moved by a whole number of days derived from the
  patient's keyed hash (between 1 and 3650 days back), the same for all of a patient's studies, so intervals
  between a patient's studies are kept while the dates are not real. Times of day are kept.
- Clean Descriptors: study, series and protocol descriptions, image comments and derivation descriptions are kept
  once every identifying value of the same dataset (the patient's name and its parts, IDs, birth date,
  accession number, institution, people's names) has been cut out of them, as have runs of 6 or more digits.
- The dataset is marked: PatientIdentityRemoved YES, LongitudinalTemporalInformationModified MODIFIED, and the
  method in DeidentificationMethod and its code sequence (DCM 113100, 113107, 113105).

A dataset flagged BurnedInAnnotation YES (identifying text in the pixels) is refused by the reader before it gets
here: pixels are never cleaned.
"""

import datetime
import hashlib
import hmac
import re
from dataclasses import dataclass

from pydicom import DataElement, Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, UID_dictionary

from imaging.dicom.uids import derived_uid

DEIDENTIFIED = "blindread-deidentified"  # the namespace of every UID minted by de-identification
# DeidentificationMethod (LO, each value at most 64 characters).
METHOD = (
    "Blindread: DICOM PS3.15 E.1 Basic Application Level Profile",
    "Retain Longitudinal Temporal Information Modified Dates",
    "Clean Descriptors",
)
# (code value, meaning) of the profile and its options, coding scheme DCM (PS3.16 CID 7050).
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113105", "Clean Descriptors Option"),
)
MAX_DATE_SHIFT_DAYS = 3650

# Removed (X) by the basic profile.
REMOVE = frozenset(
    [
        "AcquisitionComments",
        "AcquisitionContextSequence",
        "AcquisitionDeviceProcessingDescription",
        "ActualHumanPerformersSequence",
        "AdditionalPatientHistory",
        "AdmissionID",
        "AdmittingDiagnosesCodeSequence",
        "AdmittingDiagnosesDescription",
        "AdmittingTime",
        "Allergies",
        "Arbitrary",
        "AuthorObserverSequence",
        "BranchOfService",
        "CassetteID",
        "CommentsOnThePerformedProcedureStep",
        "ConfidentialityConstraintOnPatientDataDescription",
        "ContentCreatorIdentificationCodeSequence",
        "ContributionDescription",
        "CountryOfResidence",
        "CurrentPatientLocation",
        "CustodialOrganizationSequence",
        "DataSetTrailingPadding",
        "DerivationDescription",
        "DeviceSerialNumber",
        "DigitalSignaturesSequence",
        "DischargeDiagnosisDescription",
        "DistributionAddress",
        "DistributionName",
        "EthnicGroup",
        "FrameComments",
        "GantryID",
        "GeneratorID",
        "HumanPerformerName",
        "HumanPerformerOrganization",
        "IconImageSequence",
        "IdentifyingComments",
        "ImageComments",
        "ImagePresentationComments",
        "ImagingServiceRequestComments",
        "Impressions",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "InstitutionalDepartmentTypeCodeSequence",
        "InstitutionCodeSequence",
        "InstitutionName",
        "InsurancePlanIdentification",
        "IntendedRecipientsOfResultsIdentificationSequence",
        "InterpretationApproverSequence",
        "InterpretationAuthor",
        "InterpretationDiagnosisDescription",
        "InterpretationIDIssuer",
        "InterpretationRecorder",
        "InterpretationText",
        "InterpretationTranscriber",
        "IssuerOfAdmissionID",
        "IssuerOfPatientID",
        "IssuerOfServiceEpisodeID",
        "LastMenstrualDate",
        "MedicalAlerts",
        "MedicalRecordLocator",
        "MilitaryRank",
        "ModifiedAttributesSequence",
        "ModifyingDeviceID",
        "ModifyingDeviceManufacturer",
        "NameOfPhysiciansReadingStudy",
        "NamesOfIntendedRecipientsOfResults",
        "Occupation",
        "OperatorIdentificationSequence",
        "OperatorsName",
        "OriginalAttributesSequence",
        "OrderCallbackPhoneNumber",
        "OrderEnteredBy",
        "OrderEntererLocation",
        "OtherPatientIDs",
        "OtherPatientIDsSequence",
        "OtherPatientNames",
        "ParticipantSequence",
        "PatientAddress",
        "PatientAge",
        "PatientBirthName",
        "PatientBirthTime",
        "PatientComments",
        "PatientInstitutionResidence",
        "PatientInsurancePlanCodeSequence",
        "PatientMotherBirthName",
        "PatientPrimaryLanguageCodeSequence",
        "PatientPrimaryLanguageModifierCodeSequence",
        "PatientReligiousPreference",
        "PatientSexNeutered",
        "PatientSize",
        "PatientState",
        "PatientTelephoneNumbers",
        "PatientTransportArrangements",
        "PatientWeight",
        "PerformedLocation",
        "PerformedProcedureStepDescription",
        "PerformedProcedureStepID",
        "PerformedStationAETitle",
        "PerformedStationGeographicLocationCodeSequence",
        "PerformedStationName",
        "PerformedStationNameCodeSequence",
        "PerformingPhysicianIdentificationSequence",
        "PerformingPhysicianName",
        "PersonAddress",
        "PersonIdentificationCodeSequence",
        "PersonName",
        "PersonTelephoneNumbers",
        "PhysicianApprovingInterpretation",
        "PhysiciansOfRecord",
        "PhysiciansOfRecordIdentificationSequence",
        "PhysiciansReadingStudyIdentificationSequence",
        "PlateID",
        "PreMedication",
        "PregnancyStatus",
        "ReasonForTheImagingServiceRequest",
        "ReasonForStudy",
        "ReferencedDigitalSignatureSequence",
        "ReferencedPatientAliasSequence",
        "ReferencedPatientPhotoSequence",
        "ReferencedPatientSequence",
        "ReferencedPerformedProcedureStepSequence",
        "ReferencedSOPInstanceMACSequence",
        "ReferencedStudySequence",
        "ReferringPhysicianAddress",
        "ReferringPhysicianIdentificationSequence",
        "ReferringPhysicianTelephoneNumbers",
        "RegionOfResidence",
        "RequestAttributesSequence",
        "RequestedContrastAgent",
        "RequestedProcedureComments",
        "RequestedProcedureID",
        "RequestedProcedureLocation",
        "RequestingPhysician",
        "RequestingService",
        "ResponsibleOrganization",
        "ResponsiblePerson",
        "ResponsiblePersonRole",
        "ResultsComments",
        "ResultsDistributionListSequence",
        "ResultsIDIssuer",
        "ScheduledHumanPerformersSequence",
        "ScheduledPatientInstitutionResidence",
        "ScheduledPerformingPhysicianIdentificationSequence",
        "ScheduledPerformingPhysicianName",
        "ScheduledProcedureStepDescription",
        "ScheduledProcedureStepID",
        "ScheduledProcedureStepLocation",
        "ScheduledStationAETitle",
        "ScheduledStationGeographicLocationCodeSequence",
        "ScheduledStationName",
        "ScheduledStationNameCodeSequence",
        "ServiceEpisodeDescription",
        "ServiceEpisodeID",
        "SmokingStatus",
        "SpecialNeeds",
        "StationName",
        "StudyComments",
        "TextComments",
        "TextString",
        "TopicAuthor",
        "TopicKeywords",
        "TopicSubject",
        "TopicTitle",
        "VerifyingObserverIdentificationCodeSequence",
        "VerifyingObserverName",
        "VerifyingObserverSequence",
        "VerifyingOrganization",
        "VisitComments",
    ]
)
# Emptied (Z) by the basic profile: kept present (type 2 attributes), with no value.
EMPTY = frozenset(
    [
        "AccessionNumber",
        "ContentCreatorName",
        "FillerOrderNumberImagingServiceRequest",
        "PatientBirthDate",
        "PatientSex",
        "PlacerOrderNumberImagingServiceRequest",
        "ReferringPhysicianName",
        "StudyID",
        "VerifyingObserverIdentificationCodeSequence",
    ]
)
# Kept after cleaning (the Clean Descriptors option; the basic profile alone removes them).
CLEAN = frozenset(
    [
        "StudyDescription",
        "SeriesDescription",
        "ProtocolName",
        "BodyPartExamined",
        "PerformedProcedureStepDescription",
        "ImageComments",
        "DerivationDescription",
        "AcquisitionDeviceProcessingDescription",
        "ContrastBolusAgent",
    ]
)
# UIDs that name a kind of thing rather than an instance of it: never replaced.
KEEP_UIDS = frozenset(
    [
        "SOPClassUID",
        "MediaStorageSOPClassUID",
        "ReferencedSOPClassUID",
        "ReferencedSOPClassUIDInFile",
        "TransferSyntaxUID",
        "ImplementationClassUID",
        "CodingSchemeUID",
        "AffectedSOPClassUID",
        "RequestedSOPClassUID",
        "SOPClassesInStudy",
        "ContextGroupExtensionCreatorUID",
        "MappingResourceUID",
        "PrivateInformationCreatorUID",
    ]
)
# The identifying values whose text is cut out of descriptors.
IDENTIFYING = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "AccessionNumber",
    "InstitutionName",
    "InstitutionAddress",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthName",
    "StudyID",
    "PatientAddress",
    "StationName",
]
LONG_DIGITS = re.compile(r"\d{6,}")


def keyed_hash(key: bytes, *parts: str) -> str:
    """HMAC-SHA-256 of the parts (joined with a separator no part of a DICOM value can hold) under the key, as hex."""
    return hmac.new(key, "\x1f".join(parts).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Deidentifier:
    """The profile with one key: the pseudonyms, UIDs and date shifts of every dataset it sees."""

    key: bytes

    def pseudonym(self, identity: str) -> str:
        """The patient's pseudonym for what identifies them (their Patient ID, or a name given at import)."""
        return "pt-" + keyed_hash(self.key, "patient", identity.strip())[:16]

    def uid(self, original: str) -> str:
        return derived_uid(DEIDENTIFIED, keyed_hash(self.key, "uid", original.strip()))

    def date_shift_days(self, identity: str) -> int:
        return int(keyed_hash(self.key, "date-shift", identity.strip())[:8], 16) % MAX_DATE_SHIFT_DAYS + 1

    def patient_identity(self, ds: Dataset) -> str:
        """What identifies the dataset's patient: the Patient ID, else its study (each study its own patient)."""
        patient_id = str(ds.get("PatientID", "") or "").strip()
        return patient_id or "study:" + str(ds.get("StudyInstanceUID", "") or "")

    def apply(self, ds: Dataset, *, identity: str | None = None) -> Dataset:
        """De-identify `ds` in place and return it. `identity` overrides what identifies the patient (a folder
        name of a layout that names patients)."""
        identity = identity or self.patient_identity(ds)
        identifying = _identifying_values(ds)
        shift = datetime.timedelta(days=-self.date_shift_days(identity))
        pseudonym = self.pseudonym(identity)
        if hasattr(ds, "file_meta") and "MediaStorageSOPInstanceUID" in ds.file_meta:
            ds.file_meta.MediaStorageSOPInstanceUID = self.uid(str(ds.file_meta.MediaStorageSOPInstanceUID))
        self._walk(ds, identifying, shift)
        ds.PatientName = pseudonym
        ds.PatientID = pseudonym
        ds.PatientIdentityRemoved = "YES"
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
        ds.DeidentificationMethod = list(METHOD)
        codes = []
        for value, meaning in METHOD_CODES:
            code = Dataset()
            code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, "DCM", meaning
            codes.append(code)
        ds.DeidentificationMethodCodeSequence = Sequence(codes)
        return ds

    def _walk(self, ds: Dataset, identifying: list[str], shift: datetime.timedelta) -> None:
        for element in list(ds):
            tag = element.tag
            if tag.is_private or tag.group in range(0x5000, 0x5100) or tag.group in range(0x6000, 0x6100):
                # Private attributes, curves and overlays (which may hold burned-in text).
                del ds[tag]
                continue
            keyword = element.keyword
            if keyword in REMOVE and keyword not in CLEAN:
                del ds[tag]
            elif keyword in EMPTY:
                element.value = Sequence() if element.VR == "SQ" else ""
            elif keyword in CLEAN:
                _clean(element, identifying)
            elif element.VR == "PN" and keyword not in ("PatientName",):
                del ds[tag]
            elif element.VR == "UI":
                self._replace_uid(element)
            elif element.VR in ("DA", "DT"):
                _shift_dates(element, shift)
            elif element.VR == "SQ":
                for item in element.value:
                    self._walk(item, identifying, shift)

    def _replace_uid(self, element: DataElement) -> None:
        if element.keyword in KEEP_UIDS or element.value in (None, ""):
            return
        values = element.value if element.VM > 1 else [element.value]
        replaced = [v if str(v) in UID_dictionary else self.uid(str(v)) for v in values]
        element.value = [UID(v) for v in replaced] if element.VM > 1 else UID(replaced[0])


def _identifying_values(ds: Dataset) -> list[str]:
    found: set[str] = set()
    for keyword in IDENTIFYING:
        value = ds.get(keyword)
        if value in (None, ""):
            continue
        for item in value if isinstance(value, list | tuple) or getattr(value, "VM", 1) > 1 else [value]:
            text = str(item).strip()
            if text:
                found.add(text)
                # A person's name also by its parts (family, given...) and with the caret as a space.
                found.update(part for part in re.split(r"[\^=\s,]+", text) if len(part) >= 3)
                found.add(text.replace("^", " ").strip())
    return sorted(found, key=len, reverse=True)


def _clean(element: DataElement, identifying: list[str]) -> None:
    if element.VR not in ("LO", "SH", "LT", "ST", "UT", "CS"):
        return
    text = str(element.value or "")
    for value in identifying:
        text = re.sub(re.escape(value), "", text, flags=re.IGNORECASE)
    text = LONG_DIGITS.sub("", text)
    element.value = " ".join(text.split())


def _shift_dates(element: DataElement, shift: datetime.timedelta) -> None:
    values = element.value if element.VM > 1 else [element.value]
    shifted = []
    for value in values:
        text = str(value or "").strip()
        if len(text) < 8 or not text[:8].isdigit():
            shifted.append("")  # not a date that can be moved: no date at all rather than a real one
            continue
        try:
            day = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8])) + shift
        except ValueError:
            shifted.append("")
            continue
        shifted.append(day.strftime("%Y%m%d") + text[8:])
    element.value = shifted if element.VM > 1 else shifted[0]
