"""Time-based one-time codes computed here from RFC 6238 (HMAC-SHA1, 30-second steps, 6 digits), independently of
django-otp, as the reader's authenticator app would."""

import base64
import hashlib
import hmac
import struct
import time


def totp(secret_base32: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    key = base64.b32decode(secret_base32.replace(" ", "").upper())
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{number:0{digits}d}"
