"""Writes to reader studies. Each `do_*` function is one transaction that also writes its audit row; e-mails
go out only once that transaction has committed."""

import hashlib
import math
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.services import record_event
from imaging.models import Dataset, Modality, Slice
from imaging.selectors import fields_of_view_mm
from studies import roles
from studies.models import (
    CHOICE_VALUES,
    Answer,
    AnswerRevision,
    Assignment,
    Invitation,
    Item,
    ReaderProfile,
    Survey,
    Truth,
)
from studies.policy import DisplayPolicy, round_field_of_view
from studies.rendering import encode_payload
from studies.sampling import Candidate, SelectionError, make_item_order, select_balanced
from studies.selectors import next_position, rendered_pixels

MAX_ITEMS_PER_SIDE = 500
MAX_REASON_CHARS = 2000
MAX_SECONDS_ON_SLICE = 7 * 24 * 3600.0


class StudyError(ValueError):
    """A request the studies app refuses; the message is one line a person can act on."""


class AnswerRejected(StudyError):
    """An answer that was not stored; `status` is the HTTP status the reader's page gets."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------------------------
# Surveys


@dataclass
class SurveyCreated:
    survey: Survey
    notes: list[str] = field(default_factory=list)  # where a pool was too small
    policy_notes: list[str] = field(default_factory=list)  # what the display policy chose


def check_survey_datasets(*, model_dataset: Dataset, real_dataset: Dataset) -> None:
    """Raise StudyError unless the model is synthetic CT and the real side is real CT of the same contrast kind."""
    if model_dataset.kind != Dataset.Kind.SYNTHETIC_CT:
        raise StudyError(
            f"dataset {model_dataset.name!r} is {model_dataset.get_kind_display()}, not synthetic CT "
            "(the model under test must be a synthetic CT dataset)"
        )
    if real_dataset.kind != Dataset.Kind.REAL_CT:
        raise StudyError(f"dataset {real_dataset.name!r} is {real_dataset.get_kind_display()}, not real CT")
    if model_dataset.contrast_enhanced is None:
        raise StudyError(f"model {model_dataset.name!r} does not say whether its CT is contrast-enhanced")
    if real_dataset.contrast_enhanced != model_dataset.contrast_enhanced:
        model_kind = "contrast-enhanced" if model_dataset.contrast_enhanced else "non-contrast"
        real_kind = {True: "contrast-enhanced", False: "non-contrast", None: "unspecified"}[
            real_dataset.contrast_enhanced
        ]
        raise StudyError(
            f"real dataset {real_dataset.name!r} is {real_kind} CT but model {model_dataset.name!r} makes "
            f"{model_kind} CT; choose real CT of the same contrast kind"
        )


def _candidates(dataset: Dataset) -> list[Candidate]:
    rows = Slice.objects.filter(
        volume__dataset=dataset, volume__modality=Modality.CT, axial_layer__isnull=False
    ).values_list("id", "volume__series_key", "volume__modality", "index", "axial_layer")
    return [
        Candidate(slice_id=pk, volume_key=f"{key}/{modality}", index=index, layer=layer)
        for pk, key, modality, index, layer in rows
    ]


def choose_field_of_view(policy: DisplayPolicy, real_dataset: Dataset) -> tuple[DisplayPolicy, list[str]]:
    """The policy with its field of view chosen: when the survey shows one field of view and none was given,
    the real pool's median field of view, rounded up. Returns the policy and a note saying what was chosen."""
    if policy.is_resolved:
        return policy, []
    fields = fields_of_view_mm(real_dataset)
    if not fields:
        raise StudyError(
            f"real dataset {real_dataset.name!r} has no CT volume to choose a field of view from"
        )
    median = float(np.median(fields))
    chosen = policy.replace(field_of_view_mm=round_field_of_view(median))
    return chosen, [
        f"field of view {chosen.field_of_view_mm:g} mm for every item ({chosen.mm_per_pixel:.3f} mm per "
        f"displayed pixel), from the median field of view of {real_dataset.name!r} ({median:.0f} mm)"
    ]


def create_survey(
    *,
    name: str,
    model_dataset: Dataset,
    real_dataset: Dataset,
    real_count: int,
    synthetic_count: int,
    seed: int,
    actor=None,
    model_alias: str = "",
    reader_title: str = "",
    instructions: str = "",
    allow_going_back: bool = False,
    policy: DisplayPolicy | None = None,
) -> SurveyCreated:
    """A draft survey with its items selected (balanced, stratified by axial layer) and pre-rendered."""
    name = (name or "").strip()
    if not name:
        raise StudyError("a survey needs a name")
    if Survey.objects.filter(name=name).exists():
        raise StudyError(f"a survey named {name!r} already exists")
    check_survey_datasets(model_dataset=model_dataset, real_dataset=real_dataset)
    if real_count != synthetic_count:
        raise StudyError(
            f"a survey is balanced: --real ({real_count}) and --synthetic ({synthetic_count}) must be equal"
        )
    if not 1 <= real_count <= MAX_ITEMS_PER_SIDE:
        raise StudyError(f"the number of items per side must be 1..{MAX_ITEMS_PER_SIDE}, not {real_count}")
    if not 0 <= seed < 2**63:
        raise StudyError("the seed must be a non-negative integer below 2**63")
    policy, policy_notes = choose_field_of_view(policy or DisplayPolicy(), real_dataset)
    try:
        selection = select_balanced(
            real=_candidates(real_dataset),
            synthetic=_candidates(model_dataset),
            per_side=real_count,
            seed=seed,
        )
    except SelectionError as exc:
        raise StudyError(
            f"cannot select items from {real_dataset.name!r} and {model_dataset.name!r}: {exc}"
        ) from None
    chosen = [(c.slice_id, Truth.REAL, c.layer) for c in selection.real]
    chosen += [(c.slice_id, Truth.SYNTHETIC, c.layer) for c in selection.synthetic]
    # Rows are created in a random order, so nothing about the truth follows from creation order.
    random.SystemRandom().shuffle(chosen)
    written: list[str] = []
    try:
        with transaction.atomic():
            survey = Survey.objects.create(
                name=name,
                model_dataset=model_dataset,
                model_alias=(model_alias or model_dataset.name)[:64],
                real_dataset=real_dataset,
                real_count=real_count,
                synthetic_count=synthetic_count,
                seed=seed,
                reader_title=reader_title or "Reader study",
                instructions=instructions,
                allow_going_back=allow_going_back,
                display_policy=policy,
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
            Item.objects.bulk_create(
                [
                    Item(survey=survey, slice_id=pk, truth=truth, axial_layer=layer)
                    for pk, truth, layer in chosen
                ]
            )
            written = _render_items(survey)
            record_event(
                actor=actor,
                verb="survey.created",
                target=survey,
                details={
                    "model_dataset": model_dataset.name,
                    "real_dataset": real_dataset.name,
                    "per_side": real_count,
                    "seed": seed,
                    "per_layer": {str(k): v for k, v in selection.per_layer.items()},
                    "display_policy": policy.to_dict(),
                    "notes": selection.notes + policy_notes,
                },
            )
    except BaseException:
        _delete_files(written)
        raise
    return SurveyCreated(survey=survey, notes=selection.notes, policy_notes=policy_notes)


def _render_items(survey: Survey) -> list[str]:
    """Render every item of the survey through its display policy into new payload files; returns their names."""
    policy = survey.display_policy
    written = []
    items = list(survey.items.select_related("slice__volume"))
    for item in items:
        pixels, _ = rendered_pixels(item.slice, policy)
        payload = encode_payload(pixels)
        if len(payload) != policy.payload_bytes:
            raise StudyError(f"rendering gave {len(payload)} bytes instead of {policy.payload_bytes}")
        name = default_storage.save(
            f"survey-items/{survey.pk}/{secrets.token_hex(16)}.i16", ContentFile(payload)
        )
        written.append(name)
        item.payload = name
        item.payload_sha256 = hashlib.sha256(payload).hexdigest()
    Item.objects.bulk_update(items, ["payload", "payload_sha256"])
    Survey.objects.filter(pk=survey.pk).update(rendered_at=timezone.now())
    survey.rendered_at = timezone.now()
    return written


def _delete_files(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


READER_SETTINGS = ("reader_title", "instructions", "allow_going_back")


def do_change_survey_settings(
    *, survey: Survey, actor, policy: DisplayPolicy | None = None, **reader_settings
) -> Survey:
    """Change a draft survey's display policy or reader-facing settings; a policy change renders every item
    again under the new policy."""
    unknown = set(reader_settings) - set(READER_SETTINGS)
    if unknown:
        raise StudyError(f"these cannot be changed: {', '.join(sorted(unknown))}")
    written: list[str] = []
    try:
        with transaction.atomic():
            survey = Survey.objects.select_for_update().select_related("real_dataset").get(pk=survey.pk)
            if not survey.is_draft:
                raise StudyError(f"survey {survey.name!r} is {survey.status}; its settings are frozen")
            changed = {
                name: value for name, value in reader_settings.items() if getattr(survey, name) != value
            }
            if policy is not None:
                policy, _ = choose_field_of_view(policy, survey.real_dataset)
                if policy != survey.display_policy:
                    changed["display_policy"] = policy
            if not changed:
                return survey
            for name, value in changed.items():
                setattr(survey, name, value)
            if not (survey.reader_title or "").strip():
                raise StudyError("readers need a title for the survey")
            survey.last_audit_passed = None
            survey.save()
            if "display_policy" in changed:
                old = list(survey.items.values_list("payload", flat=True))
                written = _render_items(survey)
                transaction.on_commit(lambda: _delete_files(old))
            record_event(
                actor=actor,
                verb="survey.settings_changed",
                target=survey,
                details={
                    name: value.to_dict() if isinstance(value, DisplayPolicy) else value
                    for name, value in sorted(changed.items())
                },
            )
    except BaseException:
        _delete_files(written)
        raise
    return survey


def do_audit_survey(*, survey: Survey, actor):
    """Run the blinding audit and keep its result on the survey (with an audit row); returns the report."""
    from studies.blinding import audit_survey_blinding

    report = audit_survey_blinding(survey)
    with transaction.atomic():
        _store_audit(survey, report, actor)
    return report


def _store_audit(survey: Survey, report, actor) -> None:
    now = timezone.now()
    Survey.objects.filter(pk=survey.pk).update(
        last_audit_at=now, last_audit_passed=report.passed, last_audit_report=report.text()
    )
    survey.last_audit_at, survey.last_audit_passed, survey.last_audit_report = (
        now,
        report.passed,
        report.text(),
    )
    record_event(
        actor=actor,
        verb="survey.audit_passed" if report.passed else "survey.audit_failed",
        target=survey,
        details={"leaks": [str(f) for f in report.findings]},
    )


def do_open_survey(*, survey: Survey, actor):
    """Open a draft survey to its readers, only if the blinding audit passes; returns the audit report."""
    from studies.blinding import audit_survey_blinding

    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if not survey.is_draft:
            raise StudyError(f"survey {survey.name!r} is {survey.status}, not a draft; it cannot be opened")
        report = audit_survey_blinding(survey)
        _store_audit(survey, report, actor)
        if report.passed:
            survey.status = Survey.Status.OPEN
            survey.opened_at = timezone.now()
            survey.save(update_fields=["status", "opened_at"])
            record_event(actor=actor, verb="survey.opened", target=survey, details={})
    if not report.passed:
        raise StudyError(
            f"survey {survey.name!r} stays a draft: the blinding audit found {len(report.findings)} leak(s); "
            f"first: {report.findings[0]}"
        )
    return report


def do_close_survey(*, survey: Survey, actor) -> Survey:
    """Close an open survey: readers can no longer answer; what they answered stays as it is."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if not survey.is_open:
            raise StudyError(f"survey {survey.name!r} is {survey.status}; only an open survey can be closed")
        survey.status = Survey.Status.CLOSED
        survey.closed_at = timezone.now()
        survey.save(update_fields=["status", "closed_at"])
        record_event(actor=actor, verb="survey.closed", target=survey, details={})
    return survey


def do_rename_survey(*, survey: Survey, actor, name: str) -> Survey:
    """Give a survey a new name (readers never see it); everything it holds stays as it is."""
    name = (name or "").strip()[:128]
    if not name:
        raise StudyError("a survey needs a name")
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if Survey.objects.filter(name=name).exclude(pk=survey.pk).exists():
            raise StudyError(f"a survey named {name!r} already exists")
        old, survey.name = survey.name, name
        survey.save(update_fields=["name"])
        record_event(actor=actor, verb="survey.renamed", target=survey, details={"from": old, "to": name})
    return survey


# ---------------------------------------------------------------------------------------------------------
# People


def ensure_study_groups() -> None:
    """The admin, researcher and reader groups with their permissions (safe to run again)."""
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in roles.GROUPS}
    managed_apps = ["studies", "imaging", "generation", "metrics"]
    admin_permissions = Permission.objects.filter(content_type__app_label__in=managed_apps)
    view_permissions = Permission.objects.filter(
        content_type__app_label__in=[*managed_apps, "audit"], codename__startswith="view_"
    )
    groups[roles.ADMIN].permissions.add(*admin_permissions, *view_permissions)
    groups[roles.RESEARCHER].permissions.add(*view_permissions)


def invitation_url(invitation: Invitation) -> str:
    return settings.STUDIES_SITE_URL.rstrip("/") + reverse("studies:join", args=[invitation.token])


def assignment_url(assignment: Assignment) -> str:
    return settings.STUDIES_SITE_URL.rstrip("/") + reverse("studies:start", args=[assignment.key])


def do_create_invitations(
    *,
    survey: Survey,
    actor,
    count: int = 0,
    emails: list[str] | tuple[str, ...] = (),
    label: str = "",
    expires_in_days: int | None = None,
) -> list[Invitation]:
    """`count` invitations without e-mail plus one per address in `emails` (sent once committed)."""
    days = settings.STUDIES_INVITATION_DAYS if expires_in_days is None else expires_in_days
    if not 1 <= days <= 365:
        raise StudyError(f"an invitation is valid for 1..365 days, not {days}")
    if count < 0 or count + len(emails) > 500:
        raise StudyError("create between 1 and 500 invitations at a time")
    if count + len(emails) == 0:
        raise StudyError("say how many invitations to create, or give e-mail addresses")
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            raise StudyError(f"{email!r} is not an e-mail address") from None
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.is_closed:
            raise StudyError(f"survey {survey.name!r} is closed; nobody can join it")
        expires_at = timezone.now() + timedelta(days=days)
        creator = actor if actor is not None and actor.is_authenticated else None
        invitations = [
            Invitation.objects.create(
                survey=survey, email=email, label=label, expires_at=expires_at, created_by=creator
            )
            for email in [*[""] * count, *emails]
        ]
        for invitation in invitations:
            record_event(
                actor=actor,
                verb="invitation.created",
                target=invitation,
                details={
                    "survey": survey.pk,
                    "email": invitation.email,
                    "expires_at": expires_at.isoformat(),
                },
            )
        for invitation in invitations:
            if invitation.email:
                transaction.on_commit(lambda invitation=invitation: _send_invitation_email(invitation))
    return invitations


def _send_invitation_email(invitation: Invitation) -> None:
    send_mail(
        subject="Invitation to a reader study",
        message=(
            "You are invited to take part in a blinded reader study of CT images.\n\n"
            f"Open this link to join (it works once, until {invitation.expires_at:%Y-%m-%d}):\n"
            f"{invitation_url(invitation)}\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


def do_revoke_invitation(*, invitation: Invitation, actor) -> Invitation:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.used_at:
            raise StudyError("this invitation was already used; remove the reader's assignment instead")
        if invitation.revoked_at:
            return invitation
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        record_event(actor=actor, verb="invitation.revoked", target=invitation, details={})
    return invitation


# Readers see these; the views translate them.
INVITATION_PROBLEMS = {
    "revoked": gettext_noop("This invitation was withdrawn."),
    "used": gettext_noop("This invitation was already used. Sign in to continue your survey."),
    "expired": gettext_noop("This invitation has expired. Ask the study team for a new one."),
}


def do_accept_invitation(*, token: str, reader) -> Assignment:
    """Use an invitation: the reader joins its survey with a fresh seed and a frozen random order of items."""
    if roles.is_staff_member(reader):
        raise StudyError("staff accounts can see the truth of items and cannot join a survey as readers")
    try:
        return _accept_invitation(token=token, reader=reader)
    except IntegrityError:
        # Two requests used the same link at once (possible only where rows cannot be locked, as in SQLite).
        raise StudyError(INVITATION_PROBLEMS["used"]) from None


def _accept_invitation(*, token: str, reader) -> Assignment:
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().select_related("survey").filter(token=token).first()
        )
        if invitation is None:
            raise StudyError(gettext_noop("This invitation link is not valid."))
        if invitation.state != "pending":
            raise StudyError(INVITATION_PROBLEMS[invitation.state])
        survey = invitation.survey
        if survey.is_closed:
            raise StudyError(gettext_noop("This survey is closed."))
        if Assignment.objects.filter(survey=survey, reader=reader).exists():
            raise StudyError(gettext_noop("You have already joined this survey."))
        seed = secrets.randbits(62)
        assignment = Assignment.objects.create(
            survey=survey,
            reader=reader,
            invitation=invitation,
            seed=seed,
            item_order=make_item_order(list(survey.items.values_list("id", flat=True)), seed),
        )
        invitation.used_at = timezone.now()
        invitation.used_by = reader
        invitation.save(update_fields=["used_at", "used_by"])
        reader.groups.add(Group.objects.get_or_create(name=roles.READER)[0])
        ReaderProfile.objects.get_or_create(user=reader)
        record_event(
            actor=reader, verb="invitation.used", target=invitation, details={"assignment": assignment.pk}
        )
        record_event(
            actor=reader,
            verb="assignment.created",
            target=assignment,
            details={"survey": survey.pk, "seed": seed},
        )
    return assignment


def do_join_with_new_account(*, token: str, username: str, email: str, password: str) -> Assignment:
    """Create a reader account and use the invitation with it, both or neither."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email, password=password)
        record_event(actor=user, verb="reader.registered", target=user, details={})
        return do_accept_invitation(token=token, reader=user)


def do_update_reader_profile(*, user, specialty: str, years_of_experience: int | None) -> ReaderProfile:
    if specialty and specialty not in ReaderProfile.Specialty.values:
        raise StudyError(f"unknown specialty {specialty!r}")
    if years_of_experience is not None and not 0 <= years_of_experience <= 70:
        raise StudyError("years of experience must be between 0 and 70")
    with transaction.atomic():
        profile, _ = ReaderProfile.objects.select_for_update().get_or_create(user=user)
        profile.specialty = specialty
        profile.years_of_experience = years_of_experience
        profile.save()
        record_event(
            actor=user,
            verb="reader.profile_updated",
            target=profile,
            details={"specialty": specialty, "years_of_experience": years_of_experience},
        )
    return profile


def do_send_reminder(*, assignment: Assignment, actor) -> Assignment:
    """E-mail the reader a link back to their survey (sent once the reminder is recorded)."""
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update().select_related("survey", "reader").get(pk=assignment.pk)
        )
        if assignment.completed_at:
            raise StudyError(f"{assignment.reader} has already finished this survey")
        if not assignment.survey.is_open:
            raise StudyError(f"survey {assignment.survey.name!r} is not open")
        if not assignment.reader.email:
            raise StudyError(f"{assignment.reader} has no e-mail address")
        assignment.last_reminded_at = timezone.now()
        assignment.reminder_count += 1
        assignment.save(update_fields=["last_reminded_at", "reminder_count"])
        answered = assignment.answers.count()
        record_event(
            actor=actor, verb="assignment.reminded", target=assignment, details={"answered": answered}
        )
        address, link, total = assignment.reader.email, assignment_url(assignment), assignment.total
        transaction.on_commit(
            lambda: send_mail(
                subject="Reminder: your reader study",
                message=(
                    f"You have answered {answered} of {total} images so far. Your answers are saved; "
                    f"continue where you left off:\n{link}\n"
                ),
                from_email=None,
                recipient_list=[address],
            )
        )
    return assignment


# ---------------------------------------------------------------------------------------------------------
# Answers


@dataclass(frozen=True)
class AnswerInput:
    """One submission from a reader's page, already parsed into Python types."""

    choice: str
    reason: str
    seconds_on_slice: float
    window_width: float
    window_level: float
    zoom: float
    window_changed: bool
    client_key: uuid.UUID
    base_revision: int = 0


@dataclass(frozen=True)
class SubmitResult:
    answer: Answer
    revision: AnswerRevision
    duplicate: bool  # the same client key was seen before: nothing new was stored


def parse_answer_input(data) -> AnswerInput:
    """Validate a decoded JSON body; raises AnswerRejected (400) with one line naming the first bad field."""
    if not isinstance(data, dict):
        raise AnswerRejected("the answer must be a JSON object")

    def number(name, low, high):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AnswerRejected(f"{name} must be a number")
        if not low <= value <= high:
            raise AnswerRejected(f"{name} must be between {low} and {high}")
        return float(value)

    choice = data.get("choice")
    if choice not in CHOICE_VALUES:
        raise AnswerRejected(f"choice must be one of {', '.join(CHOICE_VALUES)}")
    reason = data.get("reason", "")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise AnswerRejected("reason must be text")
    reason = reason.replace("\x00", "").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise AnswerRejected(f"reason must be at most {MAX_REASON_CHARS} characters")
    window_changed = data.get("window_changed")
    if not isinstance(window_changed, bool):
        raise AnswerRejected("window_changed must be true or false")
    try:
        client_key = uuid.UUID(str(data.get("client_key")))
    except ValueError:
        raise AnswerRejected("client_key must be a UUID") from None
    base_revision = data.get("base_revision", 0)
    if isinstance(base_revision, bool) or not isinstance(base_revision, int) or base_revision < 0:
        raise AnswerRejected("base_revision must be a non-negative integer")
    return AnswerInput(
        choice=choice,
        reason=reason,
        seconds_on_slice=number("seconds_on_slice", 0, MAX_SECONDS_ON_SLICE),
        window_width=number("window_width", 1, 10000),
        window_level=number("window_level", -5000, 5000),
        zoom=number("zoom", 0.05, 64),
        window_changed=window_changed,
        client_key=client_key,
        base_revision=base_revision,
    )


def do_submit_answer(*, assignment: Assignment, item: Item, data: AnswerInput) -> SubmitResult:
    """Store a reader's answer exactly once.

    The same client key again (a double click, a retry after a timeout) returns what was stored the first time.
    A new key for an answered item is a change: allowed only when the survey lets readers go back and the page
    saw the latest revision (`base_revision`), so a stale second tab cannot overwrite a newer answer. Every stored
    submission is a new AnswerRevision; the Answer row carries the latest one.
    """
    try:
        with transaction.atomic():
            # One reader's submissions are serialised on their assignment row.
            assignment = Assignment.objects.select_for_update().select_related("survey").get(pk=assignment.pk)
            survey = assignment.survey
            if item.survey_id != survey.pk or item.pk not in assignment.item_order:
                raise AnswerRejected("this item is not part of your survey", status=404)
            previous = (
                AnswerRevision.objects.select_related("answer")
                .filter(assignment=assignment, client_key=data.client_key)
                .first()
            )
            if previous is not None:
                if previous.answer.item_id != item.pk:
                    raise AnswerRejected("this client_key was already used for another item", status=409)
                return SubmitResult(answer=previous.answer, revision=previous, duplicate=True)
            if not survey.is_open:
                raise AnswerRejected(gettext_noop("This survey is not open for answers."), status=409)
            if assignment.completed_at:
                raise AnswerRejected(gettext_noop("You have already finished this survey."), status=409)
            answered = set(assignment.answers.values_list("item_id", flat=True))
            position = assignment.item_order.index(item.pk) + 1
            upcoming = next_position(assignment, answered)
            if item.pk not in answered and upcoming is not None and position > upcoming:
                raise AnswerRejected(gettext_noop("Answer the earlier slices first."), status=409)
            answer = Answer.objects.select_for_update().filter(assignment=assignment, item=item).first()
            now = timezone.now()
            fields = {
                "choice": data.choice,
                "reason": data.reason,
                "seconds_on_slice": data.seconds_on_slice,
                "window_width": data.window_width,
                "window_level": data.window_level,
                "zoom": data.zoom,
                "window_changed": data.window_changed,
                "client_key": data.client_key,
            }
            if answer is None:
                if data.base_revision != 0:
                    raise AnswerRejected(gettext_noop("This slice has no answer to change."), status=409)
                answer = Answer.objects.create(assignment=assignment, item=item, revision_count=1, **fields)
                verb = "answer.submitted"
            else:
                if not survey.allow_going_back:
                    raise AnswerRejected(gettext_noop("This slice was already answered."), status=409)
                if data.base_revision != answer.revision_count:
                    raise AnswerRejected(
                        gettext_noop("This answer was changed in another window; the page will reload."),
                        status=409,
                    )
                for name, value in fields.items():
                    setattr(answer, name, value)
                answer.revision_count += 1
                answer.save()
                verb = "answer.revised"
            revision = AnswerRevision.objects.create(
                answer=answer, assignment=assignment, revision=answer.revision_count, **fields
            )
            Assignment.objects.filter(pk=assignment.pk).update(last_activity_at=now)
            record_event(
                actor=assignment.reader,
                verb=verb,
                target=answer,
                details={"item": item.public_id, "revision": revision.revision, "choice": data.choice},
            )
    except IntegrityError:
        # Two requests with the same key raced past the lookup; the first one's row is the answer.
        previous = (
            AnswerRevision.objects.select_related("answer")
            .filter(assignment=assignment, client_key=data.client_key)
            .first()
        )
        if previous is None:
            raise AnswerRejected(gettext_noop("This slice was already answered."), status=409) from None
        if previous.answer.item_id != item.pk:
            raise AnswerRejected("this client_key was already used for another item", status=409) from None
        return SubmitResult(answer=previous.answer, revision=previous, duplicate=True)
    return SubmitResult(answer=answer, revision=revision, duplicate=False)


def do_complete_assignment(*, assignment: Assignment) -> Assignment:
    """The reader confirms the end: from now on their answers are final."""
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().select_related("survey").get(pk=assignment.pk)
        if assignment.completed_at:
            return assignment
        if not assignment.survey.is_open:
            raise StudyError(gettext_noop("This survey is not open."))
        answered = assignment.answers.count()
        if answered < assignment.total:
            raise StudyError(f"Only {answered} of {assignment.total} slices are answered.")
        assignment.completed_at = timezone.now()
        assignment.save(update_fields=["completed_at"])
        record_event(actor=assignment.reader, verb="assignment.completed", target=assignment, details={})
    return assignment
