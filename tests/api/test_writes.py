"""What each write does (through the same services as the admin and the commands), its refusals (400, nothing
stored), its state conflicts (409), and the result downloads with their log."""

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from generation.models import Checkpoint, GenerationJob
from generation.services import share_checkpoint
from imaging.models import Dataset, ImportJob
from imaging.phantoms import write_phantoms
from imaging.services import share_dataset
from jobs.models import JobStatus
from metrics.models import MetricsJob
from metrics.services import create_metrics_job
from projects.services import create_project, ensure_default_project
from reports.models import DownloadLog, ReportJob
from reports.services import report_now
from studies.models import Survey
from studies.simulation import simulate_readers
from tests.api.conftest import ADMIN, RESEARCHER
from tests.generation.factories import make_mri_dataset, pth_bytes, register_small, small_resnet
from tests.studies.conftest import store_ct_dataset


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.getvalue()


def test_a_zip_upload_becomes_an_import_job_that_imports_the_dicom(admin_client, tmp_path, jobs_inline):
    write_phantoms(tmp_path, patients=1, seed=3, ct_matrix=32, mr_matrix=32, ct_slices=4, mr_slices=4)
    upload = SimpleUploadedFile("ct.zip", zipped(tmp_path / "CT"), content_type="application/zip")
    with jobs_inline():
        response = admin_client.post(
            "/api/v1/import-jobs/",
            {"dataset": "Phantom CT", "kind": "ct", "contrast": "true", "files": [upload]},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.DONE and job.volumes_imported == 1
    assert Dataset.objects.get(name="Phantom CT").contrast_enhanced is True
    shown = admin_client.get(f"/api/v1/import-jobs/{job.pk}/").json()
    assert shown["status"] == "done" and shown["volumes_imported"] == 1 and shown["finished"] is True
    volumes = admin_client.get(f"/api/v1/volumes/?dataset={Dataset.objects.get(name='Phantom CT').pk}").json()
    assert volumes["count"] == 1 and volumes["results"][0]["slice_count"] == 4


def test_checkpoint_registration_refuses_with_the_commands_own_line(admin_client, tmp_path):
    data = pth_bytes(small_resnet().state_dict())
    body = {"name": "small", "inputs": "t1_in", "contrast": "true", "input_size": 32}
    upload = SimpleUploadedFile("latest_net_G_A.pth", data)
    response = admin_client.post("/api/v1/checkpoints/", {**body, "file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["parameter_count"] == Checkpoint.objects.get().parameter_count
    again = admin_client.post(
        "/api/v1/checkpoints/",
        {**body, "file": SimpleUploadedFile("latest_net_G_A.pth", data)},
        format="multipart",
    )
    path = tmp_path / "latest_net_G_A.pth"
    path.write_bytes(data)
    with pytest.raises(CommandError) as refused:
        call_command(
            "register_checkpoint", str(path), "--name", "small", "--inputs", "t1_in", "--contrast",
            "--input-size", "32",
        )  # fmt: skip
    assert again.status_code == 400
    assert again.json() == {"code": "refused", "detail": str(refused.value)}
    assert Checkpoint.objects.count() == 1


def test_generation_and_metrics_jobs_are_queued_through_their_services(admin_client, pools):
    admin_client.post(
        "/api/v1/checkpoints/",
        {
            "name": "small",
            "inputs": "t1_in",
            "contrast": "true",
            "input_size": 32,
            "file": SimpleUploadedFile("g.pth", pth_bytes(small_resnet().state_dict())),
        },
        format="multipart",
    )
    make_mri_dataset("MRI", {("p1", "t1_in"): [0.0, 6.0]})
    first = admin_client.post("/api/v1/generation-jobs/", {"checkpoint": "small", "mri_dataset": "MRI"})
    again = admin_client.post("/api/v1/generation-jobs/", {"checkpoint": "small", "mri_dataset": "MRI"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] == GenerationJob.objects.get().pk  # idempotent
    assert first.json()["output_dataset_name"] == "small synthetic CT"
    metrics = admin_client.post(
        "/api/v1/metrics-jobs/", {"model": pools.synthetic.name, "real_dataset": pools.real.name, "seed": 3}
    )
    assert metrics.status_code == 201 and metrics.json()["status"] == "queued"
    assert MetricsJob.objects.get().seed == 3
    listed = admin_client.get("/api/v1/metrics-jobs/?status=queued&name=model").json()
    assert listed["count"] == 1
    assert admin_client.get("/api/v1/metrics-jobs/?status=done").json()["count"] == 0


def test_a_survey_is_created_audited_opened_and_closed(admin_client, pools, jobs_inline):
    body = {
        "name": "By API",
        "model": pools.synthetic.name,
        "real_dataset": pools.real.name,
        "real": 4,
        "synthetic": 4,
        "seed": 5,
        "display_policy": {"matrix_size": 64},
    }
    created = admin_client.post("/api/v1/surveys/", body, format="json")
    assert created.status_code == 201, created.json()
    survey = Survey.objects.get(name="By API")
    assert survey.items.count() == 8 and survey.display_policy.matrix_size == 64
    assert any("field of view" in note for note in created.json()["notes"])
    opened = admin_client.post(f"/api/v1/surveys/{survey.pk}/open/")
    assert opened.status_code == 409 and opened.json()["code"] == "conflict"
    assert "run the blinding audit" in opened.json()["detail"]
    with jobs_inline():
        audit = admin_client.post(
            f"/api/v1/surveys/{survey.pk}/audit/", {"open_when_passed": True}, format="json"
        )
    assert audit.status_code == 202
    assert admin_client.get(f"/api/v1/audits/{audit.json()['id']}/").json()["passed"] is True
    assert admin_client.get(f"/api/v1/surveys/{survey.pk}/").json()["status"] == "open"
    assert admin_client.get("/api/v1/surveys/?status=open&name=by+api").json()["count"] == 1
    closed = admin_client.post(f"/api/v1/surveys/{survey.pk}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert admin_client.post(f"/api/v1/surveys/{survey.pk}/close/").status_code == 409
    invite = admin_client.post("/api/v1/invitations/", {"survey": survey.pk, "count": 1}, format="json")
    assert invite.status_code == 409 and "closed" in invite.json()["detail"]


def test_survey_creation_refuses_as_create_survey_does(admin_client, pools):
    before = Survey.objects.count()
    body = {
        "name": "Unbalanced",
        "model": pools.synthetic.name,
        "real_dataset": pools.real.name,
        "real": 3,
        "synthetic": 4,
        "seed": 1,
    }
    response = admin_client.post("/api/v1/surveys/", body, format="json")
    assert response.json() == {
        "code": "refused",
        "detail": "a survey is balanced: real (3) and synthetic (4) must be equal",
    }
    swapped = admin_client.post(
        "/api/v1/surveys/",
        {**body, "synthetic": 3, "model": pools.real.name, "real_dataset": pools.synthetic.name},
        format="json",
    )
    assert swapped.status_code == 400 and "not synthetic CT" in swapped.json()["detail"]
    policy = admin_client.post(
        "/api/v1/surveys/",
        {**body, "synthetic": 3, "display_policy": {"hu_min": 500, "hu_max": 100}},
        format="json",
    )
    assert policy.json() == {
        "code": "refused",
        "detail": "display policy: HU range 500..100 is empty",
    }
    assert Survey.objects.count() == before


def test_invitations_are_created_listed_and_revoked(admin_client, make_survey, join):
    survey = make_survey(open_it=True)
    response = admin_client.post(
        "/api/v1/invitations/", {"survey": survey.pk, "count": 2, "label": "ward 3"}, format="json"
    )
    assert response.status_code == 201
    links = response.json()
    assert len(links) == 2 and all(
        link["url"].startswith("http") and link["state"] == "pending" for link in links
    )
    revoked = admin_client.post(f"/api/v1/invitations/{links[0]['id']}/revoke/")
    assert revoked.json()["state"] == "revoked"
    listed = admin_client.get(f"/api/v1/invitations/?survey={survey.pk}&status=pending").json()
    assert [row["id"] for row in listed["results"]] == [links[1]["id"]]
    used = join(survey).invitation
    conflict = admin_client.post(f"/api/v1/invitations/{used.pk}/revoke/")
    assert conflict.status_code == 409 and "already used" in conflict.json()["detail"]


@pytest.fixture
def answered(make_survey):
    survey = make_survey(open_it=True, per_side=4, name="Answered")
    simulate_readers(survey, 3, seed=1, skill=0.5)
    return survey


def test_progress_is_counts_only(admin_client, answered, join):
    join(answered)
    progress = admin_client.get(f"/api/v1/surveys/{answered.pk}/progress/").json()
    assert {k: progress[k] for k in ("items", "readers", "not_started", "finished", "answers")} == {
        "items": 8,
        "readers": 4,
        "not_started": 1,
        "finished": 3,
        "answers": 24,
    }
    assert set(progress["per_reader"][0]) == {"reader", "answered", "total", "state"}
    assert "truth" not in json.dumps(progress) and "synthetic" not in json.dumps(progress)


def test_answers_as_json_are_the_csv_rows_and_every_download_is_logged(people, answered):
    client = people.client(RESEARCHER)
    as_json = client.get("/api/v1/results/answers/?survey=Answered")
    as_csv = client.get("/api/v1/results/answers.csv?survey=Answered")
    assert as_json.status_code == as_csv.status_code == 200
    rows = json.loads(as_json.content)
    table = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert len(rows) == len(table) == 24
    for row, line in zip(rows, table, strict=True):
        assert list(row) == list(line)
        assert {k: ("" if v is None else v) for k, v in row.items() if isinstance(v, str)} == {
            k: line[k] for k, v in row.items() if isinstance(v, str)
        }
        assert float(line["seconds_on_slice"]) == row["seconds_on_slice"]
    logs = list(DownloadLog.objects.order_by("id"))
    assert [(log.what, log.via, log.surveys) for log in logs] == [
        ("answers_json", "api", ["Answered"]),
        ("answers_csv", "api", ["Answered"]),
    ]
    assert logs[1].sha256 == hashlib.sha256(as_csv.content).hexdigest()
    assert logs[0].user == people.users[RESEARCHER]
    assert AuditEvent.objects.filter(verb="report.downloaded").count() == 2


def test_stats_and_pdf_are_the_stored_report(people, answered):
    client = people.client(RESEARCHER)
    missing = client.get("/api/v1/results/report.pdf?survey=Answered")
    assert missing.status_code == 409 and missing.json()["code"] == "report_not_computed"
    assert client.get("/api/v1/results/stats/?survey=Nope").json()["code"] == "not_found"
    queued = people.client(ADMIN).post("/api/v1/report-jobs/", {"surveys": ["Answered"]}, format="json")
    assert queued.status_code == 201 and ReportJob.objects.get().pk == queued.json()["id"]
    job = report_now(surveys=[answered])
    pdf = client.get("/api/v1/results/report.pdf?survey=Answered")
    stats = client.get("/api/v1/results/stats/?survey=Answered")
    assert pdf.content.startswith(b"%PDF") and hashlib.sha256(pdf.content).hexdigest() == job.pdf_sha256
    assert hashlib.sha256(stats.content).hexdigest() == job.stats_sha256
    assert json.loads(stats.content)["surveys"][0]["name"] == "Answered"
    assert list(DownloadLog.objects.values_list("what", flat=True).order_by("id")) == ["pdf", "stats_json"]


def test_a_report_job_takes_its_own_experience_bands_and_refuses_bad_ones(people, answered):
    client = people.client(ADMIN)
    refused = client.post(
        "/api/v1/report-jobs/", {"surveys": ["Answered"], "experience_bands": [10, 3]}, format="json"
    )
    assert refused.status_code == 400 and "increasing" in json.dumps(refused.json())
    assert not ReportJob.objects.exists()
    queued = client.post(
        "/api/v1/report-jobs/", {"surveys": ["Answered"], "experience_bands": [3, 10]}, format="json"
    )
    assert queued.status_code == 201 and ReportJob.objects.get().experience_bands == [3.0, 10.0]


def test_metrics_as_json_are_the_csv_rows_and_are_logged(people, pools):
    from metrics.measures.layerwise import MetricScore
    from metrics.services.metric_runs import store_metric_results

    job = create_metrics_job(model_name=pools.synthetic.name, real_dataset_name=pools.real.name, queue=False)
    scores = [
        MetricScore(layer=1, metric="kl_256", value=0.25, baseline=0.5, normalised=0.5, n_synthetic=8,
                    n_reference=8, n_held_out=8),
        MetricScore(layer=0, metric="fid", value=None, baseline=None, normalised=None, n_synthetic=0,
                    n_reference=0, n_held_out=0, note="unavailable: no weights"),
    ]  # fmt: skip
    store_metric_results(job=job, scores=scores)
    client = people.client(RESEARCHER)
    query = f"?model={pools.synthetic.name}"
    rows = json.loads(client.get("/api/v1/results/metrics/" + query).content)
    table = list(
        csv.DictReader(io.StringIO(client.get("/api/v1/results/metrics.csv" + query).content.decode()))
    )
    assert [(row["metric"], row["layer"], row["value"]) for row in rows] == [
        ("fid", 0, None),
        ("kl_256", 1, 0.25),
    ]
    assert [(line["metric"], line["layer"], line["value"]) for line in table] == [
        ("fid", "0", ""),
        ("kl_256", "1", "0.25"),
    ]
    assert list(rows[0]) == list(table[0])
    assert client.get("/api/v1/results/metrics/?model=nope").json()["code"] == "not_found"
    logged = DownloadLog.objects.order_by("id").values_list("what", "models_compared")
    assert list(logged) == [("metrics_json", [pools.synthetic.name]), ("metrics_csv", [pools.synthetic.name])]


def test_another_projects_checkpoint_and_datasets_are_unknown_to_generation_and_metrics(admin_client, pools):
    # The study admin works in the default project; the checkpoint, MRI and CT below belong to another project.
    elsewhere = create_project(name="Elsewhere", actor=None)
    checkpoint = register_small("theirs")
    checkpoint.projects.set([elsewhere])  # registered through the default project, then moved to theirs alone
    make_mri_dataset("Their MRI", {("q1", "t1_in"): [0.0, 6.0]})
    store_ct_dataset("Their sCT", kind="sct", contrast=True, volumes=1, seed=9)
    their_mri, their_ct = Dataset.objects.get(name="Their MRI"), Dataset.objects.get(name="Their sCT")
    for dataset in (their_mri, their_ct):
        dataset.projects.set([elsewhere])

    refused = admin_client.post(
        "/api/v1/generation-jobs/", {"checkpoint": "theirs", "mri_dataset": "Their MRI"}
    )
    assert refused.status_code == 400 and "no checkpoint named 'theirs'" in refused.json()["detail"]
    share_checkpoint(checkpoint=checkpoint, project=ensure_default_project())
    refused = admin_client.post(
        "/api/v1/generation-jobs/", {"checkpoint": "theirs", "mri_dataset": "Their MRI"}
    )
    assert refused.status_code == 400 and "no dataset named 'Their MRI'" in refused.json()["detail"]
    assert not GenerationJob.objects.exists()
    share_dataset(dataset=their_mri, project=ensure_default_project())
    started = admin_client.post(
        "/api/v1/generation-jobs/", {"checkpoint": "theirs", "mri_dataset": "Their MRI"}
    )
    assert started.status_code == 201 and started.json()["id"] == GenerationJob.objects.get().pk

    metrics = admin_client.post(
        "/api/v1/metrics-jobs/", {"model": their_ct.name, "real_dataset": pools.real.name}
    )
    assert metrics.status_code == 400
    assert f"no Synthetic CT dataset named {their_ct.name!r}" in metrics.json()["detail"]
    assert their_ct.name not in metrics.json()["detail"].split("known:")[1]
    assert not MetricsJob.objects.exists()
