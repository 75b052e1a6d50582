"""Test settings: real PostgreSQL and Redis on localhost unless BLINDREAD_TEST_EMBEDDED=1 selects the laptop
defaults (SQLite and the file-based queue) for the smoke run."""

import os
import tempfile

EMBEDDED = os.environ.get("BLINDREAD_TEST_EMBEDDED") == "1"
if not EMBEDDED:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
else:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
os.environ.setdefault("BLINDREAD_VAR_DIR", tempfile.mkdtemp(prefix="blindread-test-"))

from config.settings import *  # noqa: E402,F403
from config.settings import DATABASES, STATIC_ROOT, VAR_DIR  # noqa: E402

STATIC_ROOT.mkdir(parents=True, exist_ok=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the Celery worker thread must see what the test wrote.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Request rates high enough for the access matrix's hundreds of requests from one address; the tests of the
# throttling set their own (tests/api/test_tokens.py).
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "100000/min", "anon": "100000/min"}}  # noqa: F405
