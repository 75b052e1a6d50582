"""The data migration that gives volumes imported before de-identification what an import gives today: the
patient's pseudonym, the new UIDs (so a second import of the series is still skipped), a source naming no file;
import jobs' rejected files lose their names."""

import io

import pydicom
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from imaging.models import Volume
from imaging.services import deidentifier
from tests.imaging.phi_series import PATIENT_ID, write_phi_series

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("imaging", "0004_deidentified_imports")]
AFTER = [("imaging", "0005_pseudonymise_existing_volumes")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_volumes_are_pseudonymised_and_their_series_still_count_as_imported(tmp_path):
    paths = write_phi_series(tmp_path / "Rossi_Mario", n=3)
    original = pydicom.dcmread(paths[0])
    old = migrate(BEFORE)
    Dataset, Volume_, Slice = (old.get_model("imaging", name) for name in ("Dataset", "Volume", "Slice"))
    ImportJob = old.get_model("imaging", "ImportJob")
    dataset = Dataset.objects.create(name="CT", kind="real_ct", contrast_enhanced=False)
    volume = Volume_.objects.create(
        dataset=dataset, patient=PATIENT_ID, modality="ct", series_key=str(original.SeriesInstanceUID),
        source_format="dicom", source_path=str(tmp_path / "Rossi_Mario"), rows=32, columns=32,
        row_spacing_mm=0.75, column_spacing_mm=0.75, slice_spacing_mm=3.0, orientation=[1, 0, 0, 0, 1, 0],
        slice_count=1,
    )  # fmt: skip
    Slice.objects.create(volume=volume, index=0, z_mm=0.0, pixels="slices/x/0000.npy",
                         sop_instance_uid=str(original.SOPInstanceUID))  # fmt: skip
    ImportJob.objects.create(
        dataset_name="CT", kind="ct", upload_dir="uploads/x",
        errors=[{"path": "Rossi_Mario_RSSMRA80A01F205X.zip/a.dcm", "reason": "not a DICOM file"}],
    )  # fmt: skip
    new = migrate(AFTER)
    volume = new.get_model("imaging", "Volume").objects.get()
    assert volume.patient == deidentifier().pseudonym(PATIENT_ID)
    assert volume.series_key == deidentifier().uid(original.SeriesInstanceUID)
    assert volume.source_path == f"imported before de-identification, volume {volume.pk}"
    slice_ = new.get_model("imaging", "Slice").objects.get()
    assert slice_.sop_instance_uid == deidentifier().uid(original.SOPInstanceUID)
    job = new.get_model("imaging", "ImportJob").objects.get()
    assert job.errors == [{"path": "file 1", "reason": "not a DICOM file"}]
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    # The series, imported again today, is recognised as the one already there.
    out = io.StringIO()
    call_command(
        "import_images", str(tmp_path / "Rossi_Mario"), "--dataset", "CT", "--kind", "ct", stdout=out
    )
    assert "already imported" in out.getvalue() and Volume.objects.count() == 1
