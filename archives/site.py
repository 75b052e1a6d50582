"""This site's archive settings as the pure modules take them: the limits on what an archive may hold, the key
that signs exports, the keys trusted on import and whether a verified signature is required."""

from django.conf import settings

from archives.format import Limits
from archives.signing import SigningKey, signing_key, trusted_keys


def archive_limits() -> Limits:
    return Limits(
        max_files=settings.ARCHIVE_MAX_FILES,
        max_member_bytes=settings.ARCHIVE_MAX_MEMBER_BYTES,
        max_total_bytes=settings.ARCHIVE_MAX_TOTAL_BYTES,
        max_compression_ratio=settings.ARCHIVE_MAX_COMPRESSION_RATIO,
        max_json_bytes=settings.ARCHIVE_MAX_JSON_BYTES,
        max_json_total_bytes=settings.ARCHIVE_MAX_JSON_TOTAL_BYTES,
        max_json_depth=settings.ARCHIVE_MAX_JSON_DEPTH,
        max_json_containers=settings.ARCHIVE_MAX_JSON_CONTAINERS,
    )


def site_signing_key() -> SigningKey | None:
    """This site's signing key, or None when none is configured (SigningKeyInvalid when it cannot be used)."""
    if not settings.ARCHIVE_SIGNING_KEY:
        return None
    return signing_key(settings.ARCHIVE_SIGNING_KEY_ID, settings.ARCHIVE_SIGNING_KEY)


def can_sign() -> bool:
    """Whether this site has a signing key configured (the admin's exports are then signed)."""
    return bool(settings.ARCHIVE_SIGNING_KEY)


def site_trusted_keys() -> dict:
    """The public keys an import verifies against, by key id: ARCHIVE_TRUSTED_KEYS and this site's own."""
    texts = dict(settings.ARCHIVE_TRUSTED_KEYS)
    own = site_signing_key()
    if own is not None:
        texts.setdefault(own.key_id, own.public_text())
    return trusted_keys(texts)


def signature_required() -> bool:
    return bool(settings.ARCHIVE_REQUIRE_SIGNATURE)
