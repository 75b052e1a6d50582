"""Who reaches what through the API: every endpoint for anonymous callers, a reader who joined a survey, a reader
of another survey, a researcher and a study admin (admin group, not a superuser). Mirrors
tests/studies/test_access_control.py for the web pages.

Writes are sent with an empty body: a study admin passes the permission check and meets validation (400), so the
matrix shows who may write without storing anything; the write endpoints' effects are tested in test_writes.py."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generation.services import start_generation
from imaging.selectors import dataset_named
from imaging.services import create_import_job
from metrics.services import create_metrics_job
from reports.services import request_report
from studies.services import do_create_invitations, request_blinding_audit
from tests.api.conftest import ADMIN, ANONYMOUS, OTHER_READER, READER, RESEARCHER, ROLES
from tests.generation.factories import make_mri_dataset, register_small

OK, CREATED, ACCEPTED, BAD, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT = (
    200,
    201,
    202,
    400,
    401,
    403,
    404,
    409,
)
LIST = [UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, OK, OK]
DETAIL = [UNAUTHENTICATED, NOT_FOUND, NOT_FOUND, OK, OK]
CREATE = [UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD]


@pytest.fixture
def world(people, pools):
    admin = people.users[ADMIN]
    survey = pools.real.surveys_as_real.get(name="Reading now")
    draft = survey.__class__.objects.get(name="Elsewhere")
    invitation = do_create_invitations(survey=survey, actor=admin, count=1)[0]
    import_job = create_import_job(
        files=[SimpleUploadedFile("a.dcm", b"not really DICOM")],
        dataset_name="Uploaded CT",
        kind="ct",
        modality=None,
        contrast=True,
        actor=admin,
    )
    checkpoint = register_small("matrix")
    make_mri_dataset("Matrix MRI", {("p1", "t1_in"): [0.0, 6.0]})
    generation = start_generation(
        checkpoint=checkpoint, mri_dataset=dataset_named("Matrix MRI"), enqueue=False
    )
    metrics = create_metrics_job(
        model_name=pools.synthetic.name, real_dataset_name=pools.real.name, queue=False, actor=admin
    )
    report = request_report(surveys=[survey], actor=admin, enqueue=False)
    audit = request_blinding_audit(survey=draft, actor=admin, enqueue=False)
    volume = pools.real.volumes.first()
    return {
        "survey": survey,
        "invitation": invitation,
        "import_job": import_job,
        "checkpoint": checkpoint,
        "generation": generation,
        "metrics": metrics,
        "report": report,
        "audit": audit,
        "dataset": pools.real,
        "volume": volume,
    }


def endpoints(world) -> dict:
    survey, invitation = world["survey"], world["invitation"]
    results = f"?survey={survey.name}"
    table = {
        "me": ("get", "/api/v1/me/", [UNAUTHENTICATED, OK, OK, OK, OK]),
        "schema": ("get", "/api/v1/schema/", [OK] * 5),
        "docs page": ("get", "/api/v1/docs/", [OK] * 5),
        "survey progress": ("get", f"/api/v1/surveys/{survey.pk}/progress/", DETAIL),
        "survey audit": (
            "post",
            f"/api/v1/surveys/{survey.pk}/audit/",
            [UNAUTHENTICATED, NOT_FOUND, NOT_FOUND, FORBIDDEN, ACCEPTED],  # an audit job is queued
        ),
        "survey open": (
            "post",
            f"/api/v1/surveys/{survey.pk}/open/",
            [UNAUTHENTICATED, NOT_FOUND, NOT_FOUND, FORBIDDEN, CONFLICT],  # already open
        ),
        "invitation revoke": (
            "post",
            f"/api/v1/invitations/{invitation.pk}/revoke/",
            [UNAUTHENTICATED, NOT_FOUND, NOT_FOUND, FORBIDDEN, OK],
        ),
        "survey close": (
            "post",
            f"/api/v1/surveys/{survey.pk}/close/",
            [UNAUTHENTICATED, NOT_FOUND, NOT_FOUND, FORBIDDEN, OK],
        ),
        "answers JSON": ("get", f"/api/v1/results/answers/{results}", LIST),
        "answers CSV": ("get", f"/api/v1/results/answers.csv{results}", LIST),
        # No report has been computed for the survey yet: a state conflict for those who may read it.
        "stats JSON": (
            "get",
            f"/api/v1/results/stats/{results}",
            [UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, CONFLICT, CONFLICT],
        ),
        "report PDF": (
            "get",
            f"/api/v1/results/report.pdf{results}",
            [UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, CONFLICT, CONFLICT],
        ),
        "metrics JSON": ("get", "/api/v1/results/metrics/", LIST),
        "metrics CSV": ("get", "/api/v1/results/metrics.csv", LIST),
        "data dictionary": ("get", "/api/v1/results/data-dictionary.csv", LIST),
    }
    resources = {
        "datasets": ("dataset", False),
        "volumes": ("volume", False),
        "import-jobs": ("import_job", True),
        "checkpoints": ("checkpoint", True),
        "generation-jobs": ("generation", True),
        "metrics-jobs": ("metrics", True),
        "report-jobs": ("report", True),
        "surveys": ("survey", True),
        "audits": ("audit", False),
        "invitations": ("invitation", True),
    }
    for prefix, (key, writable) in resources.items():
        table[f"{prefix} list"] = ("get", f"/api/v1/{prefix}/", LIST)
        table[f"{prefix} detail"] = ("get", f"/api/v1/{prefix}/{world[key].pk}/", DETAIL)
        table[f"{prefix} missing"] = (
            "get",
            f"/api/v1/{prefix}/999999/",
            [UNAUTHENTICATED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        )
        if writable:
            table[f"{prefix} create"] = ("post", f"/api/v1/{prefix}/", CREATE)
        else:
            table[f"{prefix} create"] = (
                "post",
                f"/api/v1/{prefix}/",
                [UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, FORBIDDEN, 405],
            )
    return table


def test_access_matrix(people, world):
    failures = []
    for name, (method, url, expected) in endpoints(world).items():
        for role, wanted in zip(ROLES, expected, strict=True):
            response = getattr(people.client(role), method)(url, format="json" if method == "post" else None)
            if response.status_code != wanted:
                failures.append(f"{name} as {role}: expected {wanted}, got {response.status_code}")
            elif wanted >= 400:
                body = response.json()
                if set(body) != {"code", "detail"} or "\n" in body["detail"]:
                    failures.append(f"{name} as {role}: error body {body}")
    assert not failures, "\n".join(failures)


def test_the_matrix_covers_every_endpoint_of_the_schema(people, world):
    schema = people.client(ADMIN).get("/api/v1/schema/?format=json").json()
    covered = set()
    for _method, url, _ in endpoints(world).values():
        path = url.split("?")[0]
        for key in ("survey", "invitation"):
            path = path.replace(f"/{world[key].pk}/", "/{id}/")
        parts = [("{id}" if part.isdigit() else part) for part in path.split("/")]
        covered.add("/".join(parts))
    assert set(schema["paths"]) <= covered, sorted(set(schema["paths"]) - covered)


def test_session_authentication_follows_the_same_roles(client, people, world):
    client.force_login(people.users[RESEARCHER])
    assert client.get("/api/v1/surveys/").status_code == OK
    assert client.post("/api/v1/surveys/", {}, content_type="application/json").status_code == FORBIDDEN
    client.force_login(people.users[READER])
    assert client.get(f"/api/v1/surveys/{world['survey'].pk}/").status_code == NOT_FOUND
    client.force_login(people.users[OTHER_READER])
    assert client.get("/api/v1/results/answers/?survey=Reading+now").status_code == FORBIDDEN


def test_an_unknown_or_revoked_token_is_refused(people):
    from api.services import revoke_tokens

    client = people.client(ADMIN)
    me = client.get("/api/v1/me/").json()
    assert (me["username"], me["roles"]) == ("study-admin", ["admin"])
    revoke_tokens(user=people.users[ADMIN])
    response = client.get("/api/v1/me/")
    assert response.status_code == UNAUTHENTICATED
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"
    assert people.client(ANONYMOUS).get("/api/v1/me/").json()["code"] == "not_authenticated"
