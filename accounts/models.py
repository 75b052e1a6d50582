"""Who an account is at the hospital (its directory or identity-provider identity) and its recovery codes."""

import hashlib

from django.conf import settings
from django.db import models
from django_otp.models import Device, ThrottlingMixin


class ExternalIdentity(models.Model):
    """The link between a local account and its identity in the hospital's directory or identity provider.

    An account signs in from outside only through its link: a directory or provider user whose name happens to
    equal a local account's name never takes that account over."""

    class Provider(models.TextChoices):
        LDAP = "ldap", "LDAP / Active Directory"
        OIDC = "oidc", "OpenID Connect"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    provider = models.CharField(max_length=8, choices=Provider.choices)
    # The directory username (lower case) or the provider's `sub` claim.
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "external identities"
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="accounts_identity_unique_subject"),
            models.UniqueConstraint(fields=["user", "provider"], name="accounts_identity_one_per_provider"),
            models.CheckConstraint(
                condition=models.Q(provider__in=["ldap", "oidc"]), name="accounts_identity_provider"
            ),
        ]

    def __str__(self):
        return f"{self.get_provider_display()}: {self.subject}"


def hash_recovery_code(code: str) -> str:
    """SHA-256 of the code without spaces or dashes, upper case. Codes carry 80 random bits, so a fast hash is
    enough to keep a stolen table useless."""
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalised.encode("ascii", "replace")).hexdigest()


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """A second factor made of single-use recovery codes, kept hashed; each code works once."""

    class Meta(Device.Meta):
        verbose_name = "recovery code set"

    def get_throttle_factor(self):
        return getattr(settings, "OTP_RECOVERY_THROTTLE_FACTOR", 1)

    def verify_token(self, token):
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = hash_recovery_code(str(token))
        used = self.codes.filter(code_hash=digest, used_at__isnull=True).update(
            used_at=models.functions.Now()
        )
        if used:
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False

    def unused_count(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "code_hash"], name="accounts_recovery_code_unique"),
        ]

    def __str__(self):
        return "used recovery code" if self.used_at else "unused recovery code"
