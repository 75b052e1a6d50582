"""Import from PACS over DICOMweb, against a real Orthanc started on loopback with the patient's series stored in
it: QIDO-RS search by study, accession number and date range; WADO-RS retrieval as an import job with progress,
de-identified on arrival (nothing of the patient's identity anywhere afterwards); a second import skipped; an
unreachable PACS and a wrong password each one line."""

import datetime
import io

import pydicom
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from pydicom.uid import generate_uid

from imaging.models import ImportJob, Volume
from imaging.pacs.client import PacsConnection, PacsError, SearchQuery, search
from imaging.services import deidentifier
from jobs.models import JobStatus
from tests.imaging.dicom_factory import write_series
from tests.imaging.orthanc import PASSWORD, USER, free_port, orthanc  # noqa: F401  (fixture)
from tests.imaging.phi_series import ACCESSION, PATIENT_ID, write_phi_series
from tests.imaging.test_phi_everywhere import found_in, pg_dump, phi_scan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def stored(orthanc, tmp_path_factory):  # noqa: F811
    """The patient's CT series (6 images) and an MR series of another study, stored in the PACS."""
    root = tmp_path_factory.mktemp("pacs-source")
    ct = write_phi_series(root / "ct", n=6, seed=4)
    orthanc.store(ct)
    mr, _ = write_series(root / "mr", n=3, modality="MR", patient="OTHER-77")
    study = generate_uid()
    for path in mr:
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.StudyDate = study, "20230110"
        ds.save_as(path)
    orthanc.store(mr)
    return pydicom.dcmread(ct[0])


@pytest.fixture
def pacs(settings, orthanc):  # noqa: F811
    settings.PACS_DICOMWEB_URL = orthanc.dicomweb
    settings.PACS_USERNAME, settings.PACS_PASSWORD = USER, PASSWORD
    settings.PACS_TIMEOUT_S = 10
    return PacsConnection(orthanc.dicomweb, USER, PASSWORD, 10)


def test_qido_finds_the_series_by_study_accession_and_date_range(pacs, stored):
    by_study = search(pacs, SearchQuery(study_uid=stored.StudyInstanceUID))
    assert [(s.series_uid, s.modality, s.instances) for s in by_study] == [
        (stored.SeriesInstanceUID, "CT", 6)
    ]
    by_accession = search(pacs, SearchQuery(accessions=(ACCESSION, "NO-SUCH-ACCESSION")))
    assert [s.series_uid for s in by_accession] == [stored.SeriesInstanceUID]
    march = SearchQuery(date_from=datetime.date(2024, 3, 1), date_to=datetime.date(2024, 3, 31))
    assert [s.series_uid for s in search(pacs, march)] == [stored.SeriesInstanceUID]
    everything = search(pacs, SearchQuery(date_from=datetime.date(1900, 1, 1)))
    assert {s.modality for s in everything} >= {"CT", "MR"}
    only_mr = search(pacs, SearchQuery(date_from=datetime.date(1900, 1, 1), modality="MR"))
    assert {s.modality for s in only_mr} == {"MR"}


def test_the_command_imports_the_series_de_identified_and_skips_it_the_second_time(
    pacs, stored, jobs_inline, client, admin_user, tmp_path
):
    out = io.StringIO()
    call_command("import_pacs", "--accession", ACCESSION, "--list", stdout=out)
    assert "1 series found" in out.getvalue() and "6 images" in out.getvalue()
    assert PATIENT_ID not in out.getvalue()
    with jobs_inline():
        call_command(
            "import_pacs", "--study-uid", stored.StudyInstanceUID, "--dataset", "From PACS", "--kind", "ct",
            "--no-contrast", stdout=io.StringIO(),
        )  # fmt: skip
    job = ImportJob.objects.get()
    assert job.status == JobStatus.DONE and job.volumes_imported == 1 and job.errors == []
    assert job.pacs_series == [] and job.done == job.total  # the UIDs leave the job; progress complete
    volume = Volume.objects.get()
    assert volume.patient == deidentifier().pseudonym(PATIENT_ID) and volume.slice_count == 6
    assert volume.series_key == deidentifier().uid(stored.SeriesInstanceUID)
    assert volume.source_path == f"PACS import job {job.pk}, series 1"
    with jobs_inline():
        call_command(
            "import_pacs", "--study-uid", stored.StudyInstanceUID, "--dataset", "From PACS", "--kind", "ct",
            stdout=io.StringIO(),
        )  # fmt: skip
    again = ImportJob.objects.latest("id")
    assert again.volumes_skipped == 1 and Volume.objects.count() == 1
    # Nothing of the patient's identity anywhere: the scan, the database's dump, the admin's pages.
    code, text = phi_scan()
    assert code == 0, text
    assert found_in(pg_dump()) == []
    client.force_login(admin_user)
    for page in (
        reverse("admin:imaging_volume_changelist"),
        reverse("admin:imaging_importjob_change", args=[job.pk]),
    ):
        assert found_in(client.get(page).content) == [], page


def test_the_admin_page_searches_then_imports_the_chosen_series(
    pacs, stored, jobs_inline, client, admin_user
):
    client.force_login(admin_user)
    page = reverse("admin:imaging_importjob_pacs")
    assert client.get(page).status_code == 200
    searched = client.post(page, {"accessions": f"{ACCESSION}\nACC-NONE", "search": "1"})
    html = searched.content.decode()
    assert searched.status_code == 200 and "1 series found" in html and "6 images" in html
    assert PATIENT_ID not in html
    value = f"{stored.StudyInstanceUID}|{stored.SeriesInstanceUID}"
    with jobs_inline():
        response = client.post(
            page,
            {
                "accessions": ACCESSION,
                "series": [value],
                "dataset": "Admin PACS",
                "kind": "ct",
                "contrast": "yes",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get()
    assert response.url == reverse("admin:imaging_importjob_change", args=[job.pk])
    assert job.status == JobStatus.DONE and job.volumes_imported == 1
    nothing_chosen = client.post(page, {"accessions": ACCESSION, "dataset": "Admin PACS", "kind": "ct"})
    assert "choose at least one series" in nothing_chosen.content.decode()


def test_an_unreachable_pacs_and_a_wrong_password_are_one_line_each(pacs, stored, settings, orthanc):  # noqa: F811
    settings.PACS_PASSWORD = "wrong"
    with pytest.raises(CommandError) as refused:
        call_command("import_pacs", "--study-uid", stored.StudyInstanceUID, "--list", stdout=io.StringIO())
    assert "refused the credentials (HTTP 401)" in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(PacsError) as wrong:
        search(PacsConnection(orthanc.dicomweb, USER, "wrong", 5), SearchQuery(study_uid="1.2.3"))
    assert "\n" not in str(wrong.value)
    settings.PACS_PASSWORD = PASSWORD
    settings.PACS_DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    with pytest.raises(CommandError) as unreachable:
        call_command("import_pacs", "--study-uid", stored.StudyInstanceUID, "--list", stdout=io.StringIO())
    assert str(unreachable.value) == f"the PACS at {settings.PACS_DICOMWEB_URL} is unreachable"
    settings.PACS_DICOMWEB_URL = ""
    with pytest.raises(CommandError) as unset:
        call_command("import_pacs", "--study-uid", "1.2.3", "--list", stdout=io.StringIO())
    assert "no PACS is configured" in str(unset.value)
