"""Every write about accounts: links to the hospital's directory or identity provider, the roles they grant,
second-factor enrolment and recovery codes. Each runs in one transaction with its audit row."""

import base64
import secrets

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ExternalIdentity, RecoveryCode, RecoveryCodeDevice, hash_recovery_code
from accounts.role_mapping import STAFF_ROLES, RoleGrant, managed_projects
from audit.services import record_event
from projects.models import Membership, Project, Role
from projects.services import add_member, create_project, remove_member
from studies import roles

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator app"


class SignInRefused(Exception):
    """An outside identity may not sign in to this account (its one line says why)."""


def link_external_identity(*, user, provider: str, subject: str) -> ExternalIdentity:
    """The account's link to its outside identity, made on its first sign-in from outside.

    Refused when the account already exists without that link (a local account, or one linked to someone else):
    an outside name equal to a local name never takes the local account over."""
    with transaction.atomic():
        identity = (
            ExternalIdentity.objects.select_for_update().filter(provider=provider, subject=subject).first()
        )
        if identity is None:
            if user.pk is not None and user.external_identities.filter(provider=provider).exists():
                raise SignInRefused(
                    f"account {user.get_username()!r} is linked to another {provider} identity"
                )
            if user.pk is not None and user.has_usable_password():
                raise SignInRefused(f"a local account named {user.get_username()!r} exists; it is not linked")
            if user.pk is None:
                user.set_unusable_password()
                user.save()
            identity = ExternalIdentity.objects.create(user=user, provider=provider, subject=subject)
            record_event(actor=None, verb="account.linked", target=user, details={"provider": provider})
        elif identity.user_id != user.pk:
            raise SignInRefused(f"the {provider} identity is linked to another account")
        identity.last_sign_in_at = timezone.now()
        identity.save(update_fields=["last_sign_in_at"])
    return identity


def sync_external_roles(*, user, provider: str, grants: frozenset[RoleGrant]) -> bool:
    """Make the account's roles exactly those its outside groups grant (the directory is their source for an
    account that signs in from outside); staff status follows, and so do its memberships of the projects the role
    map names (each through the projects' audited services; an owner's membership is never touched). True when
    something changed (with an audit row)."""
    wanted = {grant.role for grant in grants}
    with transaction.atomic():
        projects_changed = _sync_project_roles(user=user, grants=grants)
        current = set(user.groups.filter(name__in=roles.GROUPS).values_list("name", flat=True))
        is_staff = bool(wanted & STAFF_ROLES) or user.is_superuser
        if current == wanted and user.is_staff == is_staff:
            return projects_changed
        user.groups.remove(*Group.objects.filter(name__in=current - wanted))
        user.groups.add(*Group.objects.filter(name__in=wanted - current))
        if user.is_staff != is_staff:
            user.is_staff = is_staff
            user.save(update_fields=["is_staff"])
        record_event(
            actor=None,
            verb="account.roles_synced",
            target=user,
            details={"provider": provider, "before": sorted(current), "after": sorted(wanted)},
        )
    return True


def _sync_project_roles(*, user, grants: frozenset[RoleGrant]) -> bool:
    """The account's memberships of the projects the role map names, as its grants say (the most trusted role
    where several grants name one project)."""
    trust = list(Role.values)  # from the most to the least trusted
    wanted: dict[str, str] = {}
    for grant in grants:
        if grant.project:
            role = grant.project_role
            held = wanted.get(grant.project)
            wanted[grant.project] = role if held is None or trust.index(role) < trust.index(held) else held
    managed = managed_projects() | set(wanted)
    current = {
        membership.project.name: membership
        for membership in Membership.objects.filter(user=user, project__name__in=managed).select_related(
            "project"
        )
    }
    changed = False
    for name, role in sorted(wanted.items()):
        membership = current.get(name)
        if membership is not None and (membership.role == role or membership.role == Role.OWNER):
            continue
        project = Project.objects.filter(name=name).first() or create_project(name=name)
        add_member(project=project, user=user, role=role)
        changed = True
    for name, membership in sorted(current.items()):
        if name not in wanted and membership.role != Role.OWNER:
            remove_member(project=membership.project, user=user)
            changed = True
    return changed


def sign_in_from_outside(*, user, provider: str, subject: str, grants: frozenset[RoleGrant]):
    """Link (on the first sign-in) and bring the roles up to date; returns the account."""
    with transaction.atomic():
        link_external_identity(user=user, provider=provider, subject=subject)
        sync_external_roles(user=user, provider=provider, grants=grants)
    return user


# --- Second factor ------------------------------------------------------------------------------------------------


def confirmed_totp_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def start_totp_enrolment(*, user) -> TOTPDevice:
    """The account's unconfirmed authenticator-app device (the same one until it is confirmed, so the QR code
    does not change when the page is reloaded)."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def confirm_totp_enrolment(*, user, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the device with a code from the app; returns fresh recovery codes (shown once), or None when the
    code is wrong."""
    if device.user_id != user.pk or device.confirmed or not device.verify_token(token):
        return None
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        record_event(actor=user, verb="second_factor.enrolled", target=user, details={"device": "totp"})
        return issue_recovery_codes(user=user, actor=user)


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")  # 80 bits, 16 characters
    return "-".join(raw[index : index + 4] for index in range(0, 16, 4))


def issue_recovery_codes(*, user, actor) -> list[str]:
    """Replace the account's recovery codes with new ones; only their hashes are stored, so the list returned
    here is the only time anyone sees them."""
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        device, _ = RecoveryCodeDevice.objects.get_or_create(
            user=user, defaults={"name": "recovery codes", "confirmed": True}
        )
        device.codes.all().delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(device=device, code_hash=hash_recovery_code(c)) for c in codes
        )
        record_event(actor=actor, verb="second_factor.recovery_codes_issued", target=user, details={})
    return codes


def record_recovery_code_use(*, user) -> None:
    with transaction.atomic():
        record_event(actor=user, verb="second_factor.recovery_code_used", target=user, details={})


def reset_second_factor(*, user, actor) -> bool:
    """Remove the account's authenticator app and recovery codes (it enrols again at its next sign-in)."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += RecoveryCodeDevice.objects.filter(user=user).delete()[0]
        if removed:
            record_event(actor=actor, verb="second_factor.reset", target=user, details={})
    return bool(removed)
