"""Garbage into every writable endpoint: a 400 with a stable code and one line, and nothing stored (no row in any
app, no audit row, no file)."""

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import ADMIN
from tests.conftest import stored_files

APPS = ("audit", "jobs", "imaging", "studies", "generation", "metrics", "reports", "authtoken")


def snapshot(media_root):
    counts = {
        model._meta.label: model.objects.count()
        for name in APPS
        for model in apps.get_app_config(name).get_models()
        if not model._meta.proxy
    }
    return counts, stored_files(media_root)


def upload(name="a.zip", content=b"PK\x03\x04 not a zip"):
    return SimpleUploadedFile(name, content)


def garbage(survey, invitation, pools):
    real, synthetic = pools.real.name, pools.synthetic.name
    good_survey = {
        "name": "G",
        "model": synthetic,
        "real_dataset": real,
        "real": 2,
        "synthetic": 2,
        "seed": 1,
    }
    return {
        "/api/v1/import-jobs/": [
            ("multipart", {"dataset": "X", "kind": "ct", "contrast": "true"}),  # no files
            ("multipart", {"dataset": "X", "kind": "pet", "contrast": "true", "files": [upload()]}),
            ("multipart", {"dataset": "", "kind": "ct", "contrast": "true", "files": [upload()]}),
            ("multipart", {"dataset": "New CT", "kind": "ct", "files": [upload()]}),  # new CT: contrast?
            ("multipart", {"dataset": real, "kind": "mr", "files": [upload()]}),  # holds real CT
            ("multipart", {"dataset": "X", "kind": "mr", "modality": "flair", "files": [upload()]}),
            ("multipart", {"dataset": "X", "kind": "ct", "contrast": "maybe", "files": [upload()]}),
            ("json", {"dataset": "X", "kind": "ct", "files": "a.zip"}),
            ("multipart", {"dataset": "X", "kind": "ct", "contrast": "true", "files": [upload("e", b"")]}),
        ],
        "/api/v1/checkpoints/": [
            ("multipart", {"name": "c", "inputs": "t1_in", "contrast": "true"}),  # no file
            ("multipart", {"name": "c", "inputs": "t1_in", "contrast": "true", "file": upload("c.pth")}),
            ("multipart", {"name": "c", "inputs": "flair", "contrast": "true", "file": upload("c.pth")}),
            ("multipart", {"name": "c", "inputs": "t1_in", "file": upload("c.pth")}),  # contrast missing
            (
                "multipart",
                {"name": "c", "inputs": "t1_in", "contrast": "true", "ct_range": "9,1", "file": upload()},
            ),
            ("multipart", {"name": " ", "inputs": "t1_in", "contrast": "true", "file": upload("c.pth")}),
            (
                "multipart",
                {"name": "c", "inputs": "t1_in", "contrast": "true", "input_size": "x", "file": upload()},
            ),
        ],
        "/api/v1/generation-jobs/": [
            ("json", {}),
            ("json", {"checkpoint": "nope", "mri_dataset": real}),
            ("json", {"checkpoint": ["a"], "mri_dataset": {}}),
            ("json", {"checkpoint": "c", "mri_dataset": real, "z_tolerance_mm": "far"}),
        ],
        "/api/v1/metrics-jobs/": [
            ("json", {}),
            ("json", {"model": real, "real_dataset": synthetic}),
            ("json", {"model": synthetic, "real_dataset": "nope"}),
            ("json", {"model": synthetic, "real_dataset": real, "max_per_layer": 1}),
            ("json", {"model": synthetic, "real_dataset": real, "seed": -1}),
        ],
        "/api/v1/report-jobs/": [
            ("json", {}),
            ("json", {"surveys": []}),
            ("json", {"surveys": ["no such survey"]}),
            ("json", {"surveys": "Reading now"}),
        ],
        "/api/v1/surveys/": [
            ("json", {}),
            ("json", {**good_survey, "real": 0, "synthetic": 0}),
            ("json", {**good_survey, "real": 501, "synthetic": 501}),
            ("json", {**good_survey, "seed": -5}),
            ("json", {**good_survey, "seed": 2**63}),
            ("json", {**good_survey, "model": "nope"}),
            ("json", {**good_survey, "name": survey.name}),  # taken
            ("json", {**good_survey, "display_policy": {"matrix_size": 3}}),
            ("json", {**good_survey, "display_policy": {"mask": "none-such"}}),
            ("json", {**good_survey, "display_policy": {"colour": "red"}}),
            ("json", {**good_survey, "display_policy": "big"}),
            ("json", {**good_survey, "real": 200, "synthetic": 200}),  # pool too small
            ("json", {**good_survey, "allow_going_back": "perhaps"}),
            ("raw", b"{not json"),
        ],
        f"/api/v1/surveys/{survey.pk}/audit/": [
            ("json", {"open_when_passed": "banana"}),
            ("raw", b"\xff\xfe"),
        ],
        "/api/v1/invitations/": [
            ("json", {}),
            ("json", {"survey": survey.pk}),  # neither count nor e-mails
            ("json", {"survey": survey.pk, "count": 501}),
            ("json", {"survey": survey.pk, "count": -1}),
            ("json", {"survey": survey.pk, "emails": ["not an address"]}),
            ("json", {"survey": survey.pk, "count": 1, "expires_in_days": 0}),
            ("json", {"survey": 999999, "count": 1}),
            ("json", {"survey": "one", "count": 1}),
        ],
        f"/api/v1/invitations/{invitation.pk}/revoke/": [("raw", b"{oops")],
        f"/api/v1/surveys/{survey.pk}/close/": [("raw", b"[1,")],
        f"/api/v1/surveys/{survey.pk}/open/": [("raw", b"nul")],
    }


@pytest.fixture
def world(people, pools):
    from studies.models import Survey
    from studies.services import do_create_invitations

    survey = Survey.objects.get(name="Reading now")
    invitation = do_create_invitations(survey=survey, actor=None, count=1)[0]
    return survey, invitation


def test_garbage_into_every_writable_endpoint_is_a_400_that_stores_nothing(people, pools, world, media_root):
    survey, invitation = world
    client = people.client(ADMIN)
    before = snapshot(media_root)
    failures = []
    for url, bodies in garbage(survey, invitation, pools).items():
        for kind, body in bodies:
            if kind == "raw":
                response = client.post(url, body, content_type="application/json")
            else:
                response = client.post(url, body, format=kind)
            data = response.json()
            if response.status_code != 400 or set(data) != {"code", "detail"}:
                failures.append(f"{url} {body!r}: {response.status_code} {data}")
            elif data["code"] not in ("invalid", "refused", "malformed") or "\n" in data["detail"]:
                failures.append(f"{url} {body!r}: {data}")
            if snapshot(media_root) != before:
                failures.append(f"{url} {body!r}: something was stored")
                before = snapshot(media_root)
    assert not failures, "\n".join(failures)


def test_a_refusal_names_the_field_and_says_why_in_one_line(people):
    response = people.client(ADMIN).post("/api/v1/invitations/", {"survey": "one"}, format="json")
    assert response.json() == {"code": "invalid", "detail": "survey: A valid integer is required."}
    bad_page = people.client(ADMIN).get("/api/v1/surveys/?page=99")
    assert bad_page.status_code == 404 and bad_page.json()["code"] == "not_found"
    bad_status = people.client(ADMIN).get("/api/v1/surveys/?status=lost")
    assert bad_status.json() == {
        "code": "invalid",
        "detail": "status: must be one of draft, open, closed, not 'lost'",
    }
