"""What an import, a generation job or a command creates for a project belongs to that project alone: another
project's members (the default project's among them) do not see it."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from generation.services import generate_now, start_generation
from imaging.models import Dataset
from imaging.phantoms import write_phantoms
from imaging.services import create_import_job
from projects.models import DEFAULT_PROJECT
from projects.services import create_project
from studies.models import Survey
from tests.generation.factories import make_mri_dataset, register_small
from tests.studies.conftest import pools  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def projects_of(name: str) -> list[str]:
    return sorted(Dataset.objects.get(name=name).projects.values_list("name", flat=True))


@pytest.fixture(scope="module")
def phantom_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("phantoms")
    write_phantoms(root, patients=1, seed=3, ct_matrix=64, mr_matrix=32, ct_slices=4, mr_slices=3)
    return root


def test_a_command_import_with_project_creates_the_dataset_in_that_project_only(phantom_root):
    create_project(name="Prostate sCT")
    common = ["--kind", "ct", "--contrast", "--project", "Prostate sCT", "--dataset"]
    call_command("import_images", str(phantom_root / "CT"), *common, "Prostate CT", stdout=io.StringIO())
    assert projects_of("Prostate CT") == ["Prostate sCT"]
    # Without --project: the default project, as before.
    call_command(
        "import_images", str(phantom_root / "CT_noncontrast"), "--kind", "ct", "--no-contrast", "--dataset",
        "Other CT", stdout=io.StringIO(),
    )  # fmt: skip
    assert projects_of("Other CT") == [DEFAULT_PROJECT]
    # Importing into a dataset that exists (here: series it holds already): the named project uses it too.
    create_project(name="Liver sCT")
    call_command(
        "import_images", str(phantom_root / "CT_noncontrast"), "--kind", "ct", "--no-contrast", "--dataset",
        "Other CT", "--project", "Liver sCT", stdout=io.StringIO(),
    )  # fmt: skip
    assert projects_of("Other CT") == [DEFAULT_PROJECT, "Liver sCT"]
    with pytest.raises(CommandError, match="^no project named 'Nowhere'$"):
        call_command(
            "import_images", str(phantom_root / "CT"), *common[:-3], "--project", "Nowhere", "--dataset", "X"
        )
    assert not Dataset.objects.filter(name="X").exists()


def test_an_upload_for_a_project_creates_its_dataset_in_that_project_only(phantom_root, jobs_inline):
    project = create_project(name="Prostate sCT")
    files = [
        SimpleUploadedFile(path.name, path.read_bytes())
        for path in sorted((phantom_root / "CT").rglob("*"))
        if path.is_file()
    ]
    with jobs_inline():
        job = create_import_job(
            files=files, dataset_name="Uploaded CT", kind="ct", modality=None, contrast=True, actor=None,
            project=project,
        )  # fmt: skip
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert projects_of("Uploaded CT") == ["Prostate sCT"]


def test_a_generation_jobs_output_belongs_to_the_projects_of_its_checkpoint():
    first, second = create_project(name="Prostate sCT"), create_project(name="Pelvis sCT")
    checkpoint = register_small("pelvis-net")
    checkpoint.projects.set([first, second])
    make_mri_dataset("Pelvis MRI", {("p1", "t1_in"): [0.0, 6.0]})
    job = generate_now(start_generation(checkpoint=checkpoint, mri_dataset=Dataset.objects.get(name="Pelvis MRI"),
                                        enqueue=False))  # fmt: skip
    assert job.status == "done", job.error
    assert projects_of(job.output_dataset_name) == ["Pelvis sCT", "Prostate sCT"]


def test_create_survey_with_project_puts_the_survey_and_its_datasets_there(pools):  # noqa: F811
    create_project(name="Prostate sCT")
    out = io.StringIO()
    call_command(
        "create_survey", "--name", "Prostate reading", "--model", pools.synthetic.name,
        "--real-dataset", pools.real.name, "--real", "2", "--synthetic", "2", "--seed", "1",
        "--project", "Prostate sCT", stdout=out,
    )  # fmt: skip
    survey = Survey.objects.get(name="Prostate reading")
    assert survey.project.name == "Prostate sCT"
    assert "created (draft) in 'Prostate sCT'" in out.getvalue()
    assert "Prostate sCT" in projects_of(pools.real.name) and "Prostate sCT" in projects_of(
        pools.synthetic.name
    )
    with pytest.raises(CommandError, match="^no project named 'Nowhere'$"):
        call_command(
            "create_survey", "--name", "Elsewhere", "--model", pools.synthetic.name,
            "--real-dataset", pools.real.name, "--real", "2", "--synthetic", "2", "--seed", "1",
            "--project", "Nowhere", stdout=io.StringIO(),
        )  # fmt: skip
    assert not Survey.objects.filter(name="Elsewhere").exists()
