"""Every URL pattern of the site x every role x an object of the member's own project and of another project.

Two projects hold the same kinds of objects: a survey with its items, readers, answers, invitations and blinding
audit, datasets, volumes and slices, a checkpoint and its generation job, an import, metrics, a report, a study
export. The people are members of the first project only ("own"): a reader who joined its survey, a researcher, a
study admin and an owner; beside them an anonymous visitor and a site superuser.

For every URL the resolver knows (the admin's model pages and custom pages, the API, the reader pages, reports and
downloads, job progress JSON, sign-in pages) the matrix asks, as each role:
- for the other project's object: not found (404), or a sign-in page / 401 for who is not signed in as staff;
- for the own project's object: found (anything but 404) by each role that may see it;
- for every response to a non-superuser: the other project's names appear nowhere in it.
The exact answers per role inside one project (403 for a researcher's write, 409 for a closed survey, ...) are in
tests/studies/test_access_control.py and tests/api/test_access_control.py; a last test proves that this matrix
reaches every URL pattern (it walks the URL resolver)."""

import re
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from rest_framework.test import APIClient

from api.services import issue_token
from archives.services import request_export
from generation.services import share_checkpoint, start_generation
from imaging.selectors import dataset_named
from imaging.services import create_import_job, share_dataset
from metrics.models import MachineObserverResult, MetricResult
from metrics.services import create_metrics_job
from projects.models import Role
from projects.services import add_member, create_project
from reports.services import record_download, request_report
from studies.models import Survey
from studies.policy import DisplayPolicy
from studies.selectors import item_at
from studies.services import (
    create_survey,
    do_accept_invitation,
    do_create_invitations,
    do_submit_answer,
    parse_answer_input,
    request_blinding_audit,
)
from studies.survey_input import SurveyInput
from tests.generation.factories import make_mri_dataset, register_small
from tests.projects.factories import make_member
from tests.studies.conftest import SMALL, answer_body, store_ct_dataset

ANONYMOUS, READER, RESEARCHER, STUDY_ADMIN, OWNER, SUPERUSER = (
    "anonymous",
    "reader",
    "researcher",
    "study admin",
    "owner",
    "superuser",
)
ROLES = [ANONYMOUS, READER, RESEARCHER, STUDY_ADMIN, OWNER, SUPERUSER]
STAFF = {RESEARCHER, STUDY_ADMIN, OWNER}
SECRET = "Zeta"  # every name of the other project holds it; no non-superuser response may
LOGIN = "login"
NOT_FOUND = 404


@dataclass
class Side:
    """One project's objects, by model label (lower case) and by what a URL converter names."""

    project: object
    objects: dict = field(default_factory=dict)
    reader_key: str = ""
    item_id: str = ""
    invitation_token: str = ""


def make_side(project, *, real, model, tag, reader):
    survey = create_survey(
        options=SurveyInput(
            name=f"{tag} survey",
            model=model.name,
            real_dataset=real.name,
            real=4,
            synthetic=4,
            seed=3,
            display_policy=DisplayPolicy(**SMALL),
        ),
        project=project,
    ).survey
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN, opened_at=timezone.now())
    survey.refresh_from_db()
    assignment = do_accept_invitation(
        token=do_create_invitations(survey=survey, actor=None, count=1)[0].token, reader=reader
    )
    item = item_at(assignment, 1)
    answer = do_submit_answer(
        assignment=assignment, item=item, data=parse_answer_input(answer_body(), survey.design)
    ).answer
    invitation = do_create_invitations(survey=survey, actor=None, count=1, label=f"{tag} invitation")[0]
    checkpoint = register_small(f"{tag.lower()}-checkpoint")
    share_checkpoint(checkpoint=checkpoint, project=project)
    make_mri_dataset(f"{tag} MRI", {(f"{tag.lower()}1", "t1_in"): [0.0, 6.0]})
    mri = dataset_named(f"{tag} MRI")
    share_dataset(dataset=mri, project=project)
    generation = start_generation(checkpoint=checkpoint, mri_dataset=mri, enqueue=False)
    metrics = create_metrics_job(model_name=model.name, real_dataset_name=real.name, queue=False)
    now = timezone.now()
    metric = MetricResult.objects.create(
        model=model, real_dataset=real, layer=0, metric="fid", value=1.0, computed_at=now
    )
    observer = MachineObserverResult.objects.create(
        model=model, real_dataset=real, classifier="interpretable", auc=0.5, computed_at=now
    )
    report = request_report(surveys=[survey], actor=None, enqueue=False)
    export = request_export(surveys=[survey], actor=None, enqueue=False)
    audit = request_blinding_audit(survey=survey, actor=None, enqueue=False)
    upload = create_import_job(
        files=[SimpleUploadedFile("a.dcm", b"not really DICOM")],
        dataset_name=f"{tag} upload",
        kind="ct",
        modality=None,
        contrast=True,
        actor=None,
        project=project,
    )
    download = record_download(user=None, what="answers_csv", content=b"x", surveys=(survey.name,), models=())
    volume = real.volumes.first()
    objects = {
        "studies.survey": survey,
        "studies.item": item,
        "studies.answer": answer,
        "studies.assignment": assignment,
        "studies.invitation": invitation,
        "studies.readerprofile": reader.reader_profile,
        "studies.blindingaudit": audit,
        "imaging.dataset": real,
        "imaging.volume": volume,
        "imaging.slice": volume.slices.first(),
        "imaging.importjob": upload,
        "generation.checkpoint": checkpoint,
        "generation.generationjob": generation,
        "metrics.metricsjob": metrics,
        "metrics.metricresult": metric,
        "metrics.machineobserverresult": observer,
        "reports.reportjob": report,
        "reports.downloadlog": download,
        "archives.studyexport": export,
        "projects.project": project,
    }
    return Side(
        project=project,
        objects=objects,
        reader_key=assignment.key,
        item_id=item.public_id,
        invitation_token=invitation.token,
    )


@dataclass
class World:
    own: Side
    other: Side
    users: dict
    tokens: dict


@pytest.fixture
def world(db, django_user_model, settings):
    settings.STUDIES_RATE_LIMITS = {**settings.STUDIES_RATE_LIMITS}
    own_project = create_project(name="Own project")
    other_project = create_project(name=f"{SECRET} project")
    own_real = store_ct_dataset("Own real CT", contrast=True, seed=1)
    own_model = store_ct_dataset(
        "Own model output", kind="sct", contrast=True, seed=2, shape=(40, 40), spacing=1.0
    )
    other_real = store_ct_dataset(f"{SECRET} real CT", contrast=True, seed=3)
    other_model = store_ct_dataset(
        f"{SECRET} model output", kind="sct", contrast=True, seed=4, shape=(40, 40), spacing=1.0
    )
    for dataset in (own_real, own_model):
        share_dataset(dataset=dataset, project=own_project)
    for dataset in (other_real, other_model):
        share_dataset(dataset=dataset, project=other_project)
    reader = django_user_model.objects.create_user("own-reader", password="pw-reader-123")
    other_reader = django_user_model.objects.create_user(f"{SECRET}-reader", password="pw-reader-123")
    own = make_side(own_project, real=own_real, model=own_model, tag="Own", reader=reader)
    other = make_side(other_project, real=other_real, model=other_model, tag=SECRET, reader=other_reader)
    users = {READER: reader}
    for role, group, project_role in (
        (RESEARCHER, "researcher", None),
        (STUDY_ADMIN, "admin", None),
        (OWNER, "admin", Role.OWNER),
    ):
        user = django_user_model.objects.create_user(
            role.replace(" ", "-"), password="pw-staff-123", is_staff=True
        )
        make_member(user, group, project=own_project)
        if project_role is not None:
            add_member(project=own_project, user=user, role=project_role)
        users[role] = user
    users[SUPERUSER] = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123")
    tokens = {role: issue_token(user=user).key for role, user in users.items()}
    return World(own=own, other=other, users=users, tokens=tokens)


# --- The URLs ---------------------------------------------------------------------------------------------------

API_MODELS = {
    "datasets": "imaging.dataset",
    "volumes": "imaging.volume",
    "import-jobs": "imaging.importjob",
    "checkpoints": "generation.checkpoint",
    "generation-jobs": "generation.generationjob",
    "metrics-jobs": "metrics.metricsjob",
    "report-jobs": "reports.reportjob",
    "surveys": "studies.survey",
    "audits": "studies.blindingaudit",
    "invitations": "studies.invitation",
}
JOB_MODELS = [
    "studies.blindingaudit",
    "imaging.importjob",
    "generation.generationjob",
    "metrics.metricsjob",
    "reports.reportjob",
    "archives.studyexport",
]
# Views that take only POST (a GET is 405 before anything is looked up).
POST_ONLY = {
    "reports:compute_report",
    "studies:set_language",
    "studies:logout",
    "studies:answer",
    "studies:pair_answer",
    "api:survey-audit",
    "api:survey-open",
    "api:survey-close",
    "api:invitation-revoke",
}
MISSING = 999999  # the id of an object of a kind the world does not hold


def join_route(first: str, second: str) -> str:
    """How Django's resolver joins routes into ResolverMatch.route."""
    if not first:
        return second
    return first + (second[1:] if second.startswith("^") else second)


def all_routes() -> set[str]:
    """Every URL pattern of the site, as the resolver's full route."""

    def walk(patterns, prefix):
        for pattern in patterns:
            route = join_route(prefix, str(pattern.pattern))
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            else:
                assert isinstance(pattern, URLPattern)
                yield route

    return set(walk(get_resolver().url_patterns, ""))


@dataclass(frozen=True)
class Request:
    name: str
    model: str | None  # the model of the object it names (for the view permission), if any
    own: str
    other: str | None  # None: names no project's object

    @property
    def scoped(self) -> bool:
        return self.other is not None and self.other != self.own


def fill(route: str, side: Side, model: str | None) -> str:
    """A concrete path for a route: its parameters taken from one project's objects."""
    obj = side.objects.get(model) if model else None
    values = {
        "object_id": obj.pk if obj is not None else MISSING,
        "pk": obj.pk if obj is not None else MISSING,
        "survey_pk": side.objects["studies.survey"].pk,
        "assignment_pk": side.objects["studies.assignment"].pk,
        "key": side.reader_key,
        "position": 1,
        "item_id": side.item_id,
        "token": side.invitation_token,
        "format": "json",
        "app_label": "studies",
        "content_type_id": 1,
        "url": "nowhere/",
    }
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values.get(m.group(1), MISSING)), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), MISSING)), path)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    return "/" + path


def admin_requests(world) -> list[Request]:
    requests = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for pattern in model_admin.get_urls():
            route = prefix + str(pattern.pattern)
            own, other = fill(route, world.own, label), fill(route, world.other, label)
            scoped = label in world.own.objects
            requests.append(Request(route, label, own, other if scoped else None))
    return requests


def site_requests(world) -> list[Request]:
    """Every other pattern: the admin site's own pages, the API, reports, jobs, the reader and account pages."""
    requests, model_routes = [], {r.name for r in admin_requests(world)}
    for route in sorted(all_routes() - model_routes):
        if route.startswith("jobs/"):
            for label in JOB_MODELS:
                for_side = {
                    side_name: f"/jobs/{label}/{side.objects[label].pk}/progress.json"
                    for side_name, side in (("own", world.own), ("other", world.other))
                }
                requests.append(Request(route, label, for_side["own"], for_side["other"]))
            continue
        model = None
        if route.startswith("api/v1/"):
            resource = route.removeprefix("api/v1/").split("/")[0].split("\\.")[0]
            model = API_MODELS.get(resource)
        own, other = fill(route, world.own, model), fill(route, world.other, model)
        query = queries(route, world)
        if query is not None:
            own, other = own + query[0], own + query[1]
        scoped = own != other and not route.startswith("join/")  # an invitation link is a capability
        requests.append(Request(route, model, own, other if scoped else None))
    return requests


def queries(route: str, world):
    """The query string naming one project's survey (or model) for the pages and downloads that take one."""
    own, other = world.own.objects["studies.survey"].name, world.other.objects["studies.survey"].name
    own_model = world.own.objects["metrics.metricresult"].model.name
    other_model = world.other.objects["metrics.metricresult"].model.name
    if route in ("reports/models/", "reports/download/metrics.csv") or route.startswith(
        "api/v1/results/metrics"
    ):
        return f"?model={own_model}", f"?model={other_model}"
    if route == "reports/planning.json":
        return f"?readers=5&items_per_side=10&pilot={own}", f"?readers=5&items_per_side=10&pilot={other}"
    if route.startswith(("reports/", "api/v1/results/")) and route not in (
        "reports/",
        "reports/glossary/",
        "reports/download/data-dictionary.csv",
        "api/v1/results/data-dictionary.csv",
    ):
        return f"?survey={own}", f"?survey={other}"
    return None


# --- Asking ------------------------------------------------------------------------------------------------------


def client_for(world, role):
    if role == ANONYMOUS:
        return Client(), APIClient()
    client = Client()
    client.force_login(world.users[role])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client, api


def ask(clients, url: str):
    path = url.split("?")[0]
    name = resolve(path).view_name
    client = clients[1] if path.startswith("/api/") else clients[0]
    if name == "studies:logout":
        client = Client()  # signing out would end the session the rest of the matrix runs in
    if name in POST_ONLY:
        return client.post(url, data="{}", content_type="application/json")
    return client.get(url)


def outcome(response):
    if response.status_code == 302 and "/login/" in response.get("Location", ""):
        return LOGIN
    return response.status_code


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def echoless(text: str, url: str) -> str:
    """The body without what the request itself named (a refusal may say "unknown survey 'X'")."""
    for name in re.findall(r"=([^&]+)", url.partition("?")[2]):
        text = text.replace(name, "")
    return text


# Own-project URLs that are not found for a reason other than the project: no report computed yet, downloads
# logged for someone else (each person sees their own downloads), an object the world does not hold.
NOT_COMPUTED = ("/reports/download/report.pdf", "/reports/download/stats.json")


def finds_own(request: Request) -> bool:
    """Whether a staff member of the own project must find the own variant of this URL."""
    return not (
        request.own.startswith(("/survey/", *NOT_COMPUTED))
        or request.model == "reports.downloadlog"
        or str(MISSING) in request.own
    )


def may_view(user, model: str | None) -> bool:
    if model is None:
        return False
    app, name = model.split(".")
    return user.has_perm(f"{app}.view_{name}")


def test_every_url_as_every_role_for_the_own_and_the_other_project(world):
    requests = admin_requests(world) + site_requests(world)
    failures = []
    for role in ROLES:
        clients = client_for(world, role)
        user = world.users.get(role)
        for request in requests:
            own = ask(clients, request.own)
            if role != SUPERUSER and SECRET in body(own):
                failures.append(f"{request.own} as {role}: shows the other project's names")
            if not request.scoped:
                continue
            other = ask(clients, request.other)
            got = outcome(other)
            if role == SUPERUSER:
                if got == NOT_FOUND and outcome(own) != NOT_FOUND:
                    failures.append(f"{request.other} as superuser: not found")
                continue
            if SECRET in echoless(body(other), request.other):
                failures.append(f"{request.other} as {role}: shows the other project's names")
            refused = {NOT_FOUND}
            if request.name == "reports/planning.json":
                refused.add(400)  # "pilot must be a closed survey with answers": the other's is none of those
            if request.name.endswith("<path:object_id>/"):
                refused.add(302)  # the admin's old-style address only redirects to the change page
            if role in (ANONYMOUS, READER):
                refused |= {LOGIN, 401, 403}  # not staff: refused before anything is looked up
            if got not in refused:
                failures.append(f"{request.other} as {role}: expected not found, got {got}")
            sees_it = role in STAFF and (request.model is None or may_view(user, request.model))
            if sees_it and finds_own(request) and outcome(own) == NOT_FOUND:
                failures.append(f"{request.own} as {role}: its own project's object not found")
            if role == READER and request.own.startswith("/survey/") and outcome(own) == NOT_FOUND:
                failures.append(f"{request.own} as {role}: their own assignment not found")
    assert not failures, "\n".join(failures)


def test_the_matrix_reaches_every_url_pattern(world):
    requests = admin_requests(world) + site_requests(world)
    reached = set()
    for request in requests:
        for url in (request.own, request.other):
            if url is not None:
                reached.add(resolve(url.split("?")[0]).route)
    assert all_routes() - reached == set()
    assert len(all_routes()) > 150  # every model admin's pages, the API, the reader and report pages
