"""Signed study archives: an Ed25519 signature of the manifest's exact bytes, made with the exporting site's key.

The manifest holds the SHA-256 of every other file, so its signature covers the whole archive. The signature file
(`manifest.sig`) holds the algorithm, the key id and the signature, never a key. Ed25519 rather than an HMAC: the
importing site verifies with the exporting site's public key only, so it cannot sign in that site's name, and no
secret has to be shared between sites. Keys come from the settings (ARCHIVE_SIGNING_KEY, ARCHIVE_SIGNING_KEY_ID,
ARCHIVE_TRUSTED_KEYS); they are never stored in the database or an archive. Pure Python (the `cryptography`
package); every refusal is an ArchiveRejected of one line.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from archives.format import SIGNATURE, ArchiveRejected

ALGORITHM = "ed25519"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

VERIFIED = "verified"
UNVERIFIED = "unverified"
UNSIGNED = "unsigned"


class SigningKeyInvalid(ValueError):
    """A signing or trusted key in the settings that cannot be used; one line."""


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key: Ed25519PrivateKey

    def public_text(self) -> str:
        return public_key_text(self.private_key.public_key())

    def sign(self, manifest_bytes: bytes) -> bytes:
        """The content of `manifest.sig` for these manifest bytes."""
        signature = self.private_key.sign(manifest_bytes)
        return (
            json.dumps(
                {
                    "algorithm": ALGORITHM,
                    "key_id": self.key_id,
                    "signature": base64.b64encode(signature).decode(),
                },
                indent=2,
                sort_keys=True,
            )
            + "\n"
        ).encode()


@dataclass(frozen=True)
class Origin:
    """Where an imported archive comes from, as far as its signature tells."""

    state: str  # VERIFIED, UNVERIFIED (signed with a key this site does not trust) or UNSIGNED
    key_id: str = ""

    def describe(self) -> str:
        if self.state == VERIFIED:
            return f"signed by key {self.key_id!r}, verified"
        if self.state == UNVERIFIED:
            return f"signed by key {self.key_id!r}, not verified (no trusted key of that id here)"
        return "unsigned"


def _raw_key(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyInvalid(f"{what} is not base64") from None
    if len(raw) != 32:
        raise SigningKeyInvalid(f"{what} is {len(raw)} bytes, not the 32 of an Ed25519 key")
    return raw


def _key_id(key_id: str) -> str:
    if not KEY_ID_PATTERN.match(key_id or ""):
        raise SigningKeyInvalid(f"key id {key_id!r}: 1 to 64 letters, digits, '.', '_' or '-'")
    return key_id


def signing_key(key_id: str, private_text: str) -> SigningKey:
    """The site's signing key from its id and the base64 of its 32-byte Ed25519 private key."""
    raw = _raw_key(private_text, "ARCHIVE_SIGNING_KEY")
    return SigningKey(_key_id(key_id), Ed25519PrivateKey.from_private_bytes(raw))


def new_signing_key(key_id: str) -> tuple[SigningKey, str]:
    """A fresh key pair: the key and the base64 of its private key (for the settings)."""
    private_key = Ed25519PrivateKey.generate()
    raw = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return SigningKey(_key_id(key_id), private_key), base64.b64encode(raw).decode()


def public_key_text(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def trusted_keys(texts: Mapping[str, str]) -> dict[str, Ed25519PublicKey]:
    """Public keys by key id, from the base64 of each 32-byte Ed25519 public key."""
    return {
        _key_id(key_id): Ed25519PublicKey.from_public_bytes(_raw_key(text, f"trusted key {key_id!r}"))
        for key_id, text in texts.items()
    }


def check_signature(
    manifest_bytes: bytes,
    signature: dict | None,
    *,
    trusted: Mapping[str, Ed25519PublicKey],
    required: bool,
) -> Origin:
    """The archive's origin, or ArchiveRejected: a signature that does not verify with the trusted key of its id
    is always refused (the archive was changed after signing); an unsigned archive, or one signed with a key not
    trusted here, is refused when a verified signature is `required`."""
    if signature is None:
        if required:
            raise ArchiveRejected(
                "the archive is unsigned; this site imports only archives signed with a trusted key"
            )
        return Origin(UNSIGNED)
    key_id = signature.get("key_id")
    if (
        signature.get("algorithm") != ALGORITHM
        or not isinstance(key_id, str)
        or not KEY_ID_PATTERN.match(key_id)
    ):
        raise ArchiveRejected(f"{SIGNATURE} is not an {ALGORITHM} signature with a key id")
    try:
        raw = base64.b64decode(str(signature.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ArchiveRejected(f"{SIGNATURE}: the signature is not base64") from None
    public_key = trusted.get(key_id)
    if public_key is None:
        if required:
            raise ArchiveRejected(
                f"the archive is signed by key {key_id!r}, which this site does not trust; nothing imported"
            )
        return Origin(UNVERIFIED, key_id)
    try:
        public_key.verify(raw, manifest_bytes)
    except InvalidSignature:
        raise ArchiveRejected(
            f"the archive's signature by key {key_id!r} does not verify: it was changed after signing"
        ) from None
    return Origin(VERIFIED, key_id)
