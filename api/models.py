"""API tokens, kept as SHA-256 fingerprints: the token itself is shown once, when it is made, and never stored."""

import hashlib

from django.conf import settings
from django.db import models


def fingerprint(key: str) -> str:
    """SHA-256 of a token. Tokens carry 256 random bits (or 160 for ones made before fingerprints), so a fast hash
    keeps a copied table useless and lets a request find its token by an index."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", "read-only"
        READ_WRITE = "read_write", "read-write"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(
        max_length=100, blank=True, help_text="What the token is for (a script, a machine)"
    )
    # The token's first characters, shown in lists so that its owner can tell tokens apart.
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.READ_WRITE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["user_id", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=["read", "read_write"]), name="api_token_scope"
            ),
        ]

    def __str__(self):
        return f"{self.prefix}… ({self.get_scope_display()})"

    @property
    def read_only(self) -> bool:
        return self.scope == self.Scope.READ
