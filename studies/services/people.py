"""People in reader studies: the study groups, invitations (created, sent, revoked, used), reader accounts
and profiles, reminders. E-mails go out only once the transaction that records them has committed."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.services import record_event
from projects.models import Role
from projects.selectors import role_of
from projects.services import add_member
from studies import roles
from studies.models import (
    Assignment,
    Invitation,
    ReaderProfile,
    Survey,
)
from studies.sampling import make_item_order
from studies.services.errors import StudyError
from studies.services.pairs import pair_plan_for


def ensure_study_groups() -> None:
    """The admin, researcher and reader groups with their permissions (safe to run again)."""
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in roles.GROUPS}
    managed_apps = ["studies", "imaging", "generation", "metrics", "reports"]
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
            Invitation.objects.select_for_update(of=("self",))
            .select_related("survey")
            .filter(token=token)
            .first()
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
            practice_order=make_item_order(list(survey.practice_items.values_list("id", flat=True)), seed),
            pair_plan=pair_plan_for(survey, seed),
        )
        invitation.used_at = timezone.now()
        invitation.used_by = reader
        invitation.save(update_fields=["used_at", "used_by"])
        reader.groups.add(Group.objects.get_or_create(name=roles.READER)[0])
        if role_of(reader, survey.project) is None:
            # The reader belongs to the survey's project from now on, as a reader (sees none of its results).
            add_member(project=survey.project, user=reader, role=Role.READER, actor=reader)
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


def do_register_reader(*, username: str, email: str = "", password: str | None = None, actor=None):
    """A new reader account, with its audit row: a reader signing up (they are the actor), or an account made for a
    simulated reader (the actor is whoever simulates; without a password it cannot sign in)."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email, password=password)
        record_event(actor=actor or user, verb="reader.registered", target=user, details={})
    return user


def do_join_with_new_account(*, token: str, username: str, email: str, password: str) -> Assignment:
    """Create a reader account and use the invitation with it, both or neither."""
    with transaction.atomic():
        user = do_register_reader(username=username, email=email, password=password)
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
            Assignment.objects.select_for_update(of=("self",))
            .select_related("survey", "reader")
            .get(pk=assignment.pk)
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
