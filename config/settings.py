"""Settings, read from the environment with safe local defaults.

Without DATABASE_URL and REDIS_URL the platform runs on the embedded laptop defaults: SQLite in var/ and a
Celery queue kept in files under var/queue that needs no server. Production sets both URLs (see README).
"""

import os
from pathlib import Path

import dj_database_url
from kombu import Queue

from accounts import sso_settings
from jobs.workers import QUEUES
from storage.backends import storage_from_environment

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BLINDREAD_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# A fixed key is only acceptable for the local laptop path; production must set SECRET_KEY (check --deploy says so).
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-local-development-key-change-me-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "audit",
    "jobs",
    "rules",
    "projects",
    "imaging",
    "studies",
    "generation",
    "metrics",
    "reports",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the API docs page's assets, served locally
    "api",
    "archives",
    "config",  # the project's own commands (demo), above every app
]

MIDDLEWARE = [
    "config.limits.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks which sessions gave their second factor; the next one sends staff who have not to give it.
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.security.csp_nonce",
                "accounts.context_processors.sign_in",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'blindread.sqlite3'}")
DATABASES = {
    # Health checks: a persistent connection that PostgreSQL dropped (a restart) is replaced at the start of the
    # next request instead of failing it.
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # The web server and the worker share the file; wait for each other's writes instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# This node's own cache of payloads read from an object store (storage.cache); safe to empty at any time.
STORAGE_CACHE_DIR = Path(os.environ.get("BLINDREAD_CACHE_DIR", VAR_DIR / "cache" / "files"))
# Uploads larger than this go to a temporary file rather than memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# The largest request body accepted (uploads included), in bytes: larger ones get a one-line 413
# (config.limits.RequestBodyLimitMiddleware). The web server in front has the same limit (docs/operations.md).
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(2 * 1024**3)))
DATA_UPLOAD_MAX_NUMBER_FILES = int(os.environ.get("DATA_UPLOAD_MAX_NUMBER_FILES", "5000"))
# Stored files (pixels, payloads, checkpoints, reports, archives, uploads): the local folder MEDIA_ROOT, or an
# S3-compatible object store when BLINDREAD_S3_BUCKET is set (storage.backends; docs/operations.md).
STORAGES = {
    "default": storage_from_environment(os.environ),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Celery. REDIS_URL (or CELERY_BROKER_URL) selects a real broker; without it the queue lives in files
# under var/queue, so a laptop needs no server and still runs a real worker process.
REDIS_URL = os.environ.get("REDIS_URL", "")
# (The file transport ignores the host; naming one keeps kombu from warning that none was given.)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/")
CELERY_RESULT_BACKEND = os.environ.get(
    "CELERY_RESULT_BACKEND", REDIS_URL or f"file://{VAR_DIR / 'queue' / 'results'}"
)
QUEUE_DIR = VAR_DIR / "queue" / "messages"
if CELERY_BROKER_URL.startswith("redis"):
    # Tasks are acknowledged when they finish (acks_late); a generation or training run may take hours, and Redis
    # would hand an unacknowledged task to another worker once this timeout passes.
    # A broker that does not answer fails a publish (and so the web request that queues a job) within seconds,
    # instead of the operating system's TCP timeout: the job stays queued and is sent again (jobs.services).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "43200")),
        "socket_connect_timeout": float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "2")),
        "socket_timeout": float(os.environ.get("CELERY_BROKER_SOCKET_TIMEOUT", "10")),
    }
elif CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("messages", "processed", "results", "control"):
        (VAR_DIR / "queue" / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(QUEUE_DIR),
        "data_folder_out": str(QUEUE_DIR),
        "processed_folder": str(VAR_DIR / "queue" / "processed"),
        # Broadcast (worker control) messages; by default kombu writes them to ./control.
        "control_folder": str(VAR_DIR / "queue" / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = "default"
# Every job is sent to its kind's queue (jobs.services): blinding audits, reports and imports to "interactive"
# (someone waits for them; a worker of their own serves it), generation and training to "gpu", the rest to
# "default" (jobs.workers).
CELERY_TASK_QUEUES = tuple(Queue(name) for name in QUEUES)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A safety net under the decoders' caps: a worker process whose resident memory passed this (KiB) after a task is
# replaced by a fresh one (the task itself has finished; 0 turns it off).
CELERY_WORKER_MAX_MEMORY_PER_CHILD = int(
    os.environ.get("CELERY_WORKER_MAX_MEMORY_PER_CHILD_KB", str(4 * 1024**2))
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing a job's message: three tries over about a second, then the job stays queued and the sweep below
# sends it again (a web request is never held long by a broker that is down).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}

# Security. Production runs with DJANGO_SECURE=1 behind TLS (see docker/docker-compose.yml).
SECURE = env_bool("DJANGO_SECURE", False)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env_bool("DJANGO_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if SECURE else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Jobs. A running job whose worker has not reported for this long is stale: the admin shows it and offers a retry,
# and another run of it may take it over.
JOBS_STALE_AFTER_S = int(os.environ.get("JOBS_STALE_AFTER_S", "900"))
# A job sent to its queue that no run has taken after this long (its message was lost: Redis restarted without
# persistence) is sent again, as is one whose send failed (the broker was down) and a stale running one. Every
# worker sweeps at start and then every JOBS_RESEND_EVERY_S (0: only at start); `manage.py resend_jobs` sweeps once.
JOBS_RESEND_AFTER_S = int(os.environ.get("JOBS_RESEND_AFTER_S", "300"))
JOBS_RESEND_EVERY_S = int(os.environ.get("JOBS_RESEND_EVERY_S", "60"))

# Imaging.
# How far (mm) a slice may sit from the series' regular grid before the geometry counts as inconsistent.
IMPORT_SPACING_TOLERANCE = float(os.environ.get("IMPORT_SPACING_TOLERANCE", "0.2"))
# Caps every decoder checks against what a header claims before allocating anything (docs/operations.md).
IMPORT_MAX_MATRIX = int(os.environ.get("IMPORT_MAX_MATRIX", "4096"))  # rows and columns of a slice
IMPORT_MAX_SLICES_PER_SERIES = int(os.environ.get("IMPORT_MAX_SLICES_PER_SERIES", "2000"))
IMPORT_MAX_NIFTI_VOXELS = int(os.environ.get("IMPORT_MAX_NIFTI_VOXELS", str(512 * 512 * 1024)))
# A zip in an upload may unpack to this many times its own size, and never to more than the absolute cap.
IMPORT_UNPACK_RATIO = int(os.environ.get("IMPORT_UNPACK_RATIO", "20"))
IMPORT_UNPACK_MAX_BYTES = int(os.environ.get("IMPORT_UNPACK_MAX_BYTES", str(8 * 1024**3)))
# De-identification (docs/security.md): the key of every patient pseudonym and new UID. Keep it secret and never
# change it: the same patient gets the same pseudonym, and a series imported again is skipped, only under the same
# key. It is never stored in the database or an archive. Production must set it (`check --deploy` says so); the
# local default is derived from SECRET_KEY.
PSEUDONYM_KEY = os.environ.get("BLINDREAD_PSEUDONYM_KEY", "") or f"local:{SECRET_KEY}"
PSEUDONYM_KEY_FROM_ENVIRONMENT = bool(os.environ.get("BLINDREAD_PSEUDONYM_KEY", ""))
# PACS over DICOMweb (QIDO-RS search, WADO-RS retrieval): the service root, e.g. https://pacs.example/dicom-web,
# and HTTP basic credentials when it needs them.
PACS_DICOMWEB_URL = os.environ.get("PACS_DICOMWEB_URL", "")
PACS_USERNAME = os.environ.get("PACS_USERNAME", "")
PACS_PASSWORD = os.environ.get("PACS_PASSWORD", "")
PACS_TIMEOUT_S = float(os.environ.get("PACS_TIMEOUT_S", "30"))

# Metrics.
# The FID Inception-v3 weights (pytorch-fid's pt_inception-2015-12-05-6726825d.pth): a local file, never downloaded.
# Without it a metrics job still computes every other metric and records FID and KID as unavailable.
FID_INCEPTION_WEIGHTS = os.environ.get(
    "FID_INCEPTION_WEIGHTS", str(VAR_DIR / "models" / "pt_inception-2015-12-05-6726825d.pth")
)
# Default cap on the slices drawn per axial layer and set (empty: every slice of the model's layer).
METRICS_MAX_PER_LAYER = (
    int(os.environ["METRICS_MAX_PER_LAYER"]) if os.environ.get("METRICS_MAX_PER_LAYER") else None
)
# Threads for the histogram and spectrum sums (empty: every CPU the worker may use); Inception batch size.
METRICS_WORKERS = int(os.environ["METRICS_WORKERS"]) if os.environ.get("METRICS_WORKERS") else None
METRICS_INCEPTION_BATCH = int(os.environ.get("METRICS_INCEPTION_BATCH", "16"))
# The machine observer's CNN runs on this queue ("gpu" where a GPU worker serves it), the interpretable observer
# always on "default"; its training steps per fold (a few minutes at most on a 2-core CPU at the default).
MACHINE_OBSERVER_CNN_QUEUE = os.environ.get("MACHINE_OBSERVER_CNN_QUEUE", "default")
MACHINE_OBSERVER_CNN_STEPS = int(os.environ.get("MACHINE_OBSERVER_CNN_STEPS", "300"))

# Generation
# Device of generation and training runs: auto (the first CUDA device if any, else the CPU), cpu, cuda, cuda:N.
# Resolved inside the task, never at import, so a prefork worker's parent process never initialises CUDA.
GENERATION_DEVICE = os.environ.get("GENERATION_DEVICE", "auto")
GENERATION_BATCH_SIZE = int(os.environ.get("GENERATION_BATCH_SIZE", "16"))
# fp32, or bf16 / fp16 autocast on a GPU (see docs/benchmarks.md for the HU error each introduces).
GENERATION_PRECISION = os.environ.get("GENERATION_PRECISION", "fp32")
GENERATION_CHECKPOINT_MAX_BYTES = int(os.environ.get("GENERATION_CHECKPOINT_MAX_BYTES", str(1 << 30)))
GENERATION_TRAINING_DIR = Path(os.environ.get("GENERATION_TRAINING_DIR", VAR_DIR / "training"))
# Threads that read and normalise MRI volumes ahead, and threads that write generated slices, per job.
GENERATION_IO_THREADS = int(os.environ.get("GENERATION_IO_THREADS", "2"))

# Study archives (archives.format, archives.signing; docs/operations.md). What an archive may hold at most: anything
# beyond is refused before it is read, so a hostile zip cannot exhaust a worker's memory or disk.
ARCHIVE_MAX_FILES = int(os.environ.get("ARCHIVE_MAX_FILES", "200000"))
ARCHIVE_MAX_MEMBER_BYTES = int(os.environ.get("ARCHIVE_MAX_MEMBER_BYTES", str(512 << 20)))
ARCHIVE_MAX_TOTAL_BYTES = int(os.environ.get("ARCHIVE_MAX_TOTAL_BYTES", str(4 << 30)))
ARCHIVE_MAX_COMPRESSION_RATIO = float(os.environ.get("ARCHIVE_MAX_COMPRESSION_RATIO", "200"))
# Each JSON table is read into memory: these bound its size, its depth and its objects and lists.
ARCHIVE_MAX_JSON_BYTES = int(os.environ.get("ARCHIVE_MAX_JSON_BYTES", str(32 << 20)))
ARCHIVE_MAX_JSON_TOTAL_BYTES = int(os.environ.get("ARCHIVE_MAX_JSON_TOTAL_BYTES", str(128 << 20)))
ARCHIVE_MAX_JSON_DEPTH = int(os.environ.get("ARCHIVE_MAX_JSON_DEPTH", "32"))
ARCHIVE_MAX_JSON_CONTAINERS = int(os.environ.get("ARCHIVE_MAX_JSON_CONTAINERS", "1000000"))
# Signing (Ed25519): this site's key (base64 of the 32-byte private key, from `manage.py archive_signing_key`) and
# its id; the public keys trusted on import ("id=base64,id2=base64"; this site's own is always trusted); whether an
# import must carry a verified signature. Keys live here only, never in the database or an archive.
ARCHIVE_SIGNING_KEY = os.environ.get("ARCHIVE_SIGNING_KEY", "")
ARCHIVE_SIGNING_KEY_ID = os.environ.get("ARCHIVE_SIGNING_KEY_ID", "")
ARCHIVE_TRUSTED_KEYS = dict(
    entry.split("=", 1) for entry in env_list("ARCHIVE_TRUSTED_KEYS", "") if "=" in entry
)
ARCHIVE_REQUIRE_SIGNATURE = env_bool("ARCHIVE_REQUIRE_SIGNATURE", False)

# Studies.
# The cache holds the sign-in and invitation rate-limit counters: Redis when REDIS_URL is set (shared by every
# web process), local memory otherwise (the laptop path; `check --deploy` warns about it).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "blindread",
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "blindread"}
    }
# Local accounts first (rate-limited: a limited client or username is refused before any other backend is
# asked), then the hospital's directory and identity provider when configured (accounts app, see below).
# Object permissions per project (projects.access) come from django-rules' backend.
AUTHENTICATION_BACKENDS = [
    "studies.auth.RateLimitedModelBackend",
    "rules.permissions.ObjectPermissionBackend",
]
LOGIN_URL = "studies:login"
LOGIN_REDIRECT_URL = "studies:home"
LOGOUT_REDIRECT_URL = "studies:login"
# Absolute links in invitations, reminders and command output.
STUDIES_SITE_URL = os.environ.get("STUDIES_SITE_URL", "http://127.0.0.1:8000")
STUDIES_INVITATION_DAYS = int(os.environ.get("STUDIES_INVITATION_DAYS", "30"))
# (failures allowed, window in seconds) per client address / per username / per address for invitation links. For
# sign-in: the failures allowed before each further one makes the next attempt wait, and how long failures are
# remembered after the last one.
STUDIES_RATE_LIMITS = {
    "login_address": (int(os.environ.get("STUDIES_LOGIN_FAILURES_PER_ADDRESS", "20")), 900),
    "login_username": (int(os.environ.get("STUDIES_LOGIN_FAILURES_PER_USERNAME", "10")), 900),
    "invitation_address": (int(os.environ.get("STUDIES_INVITATION_FAILURES_PER_ADDRESS", "20")), 900),
}
# Sign-in: after the free failures above (per address; per account at an address and from unknown addresses), the
# wait before the next attempt starts at this many seconds and doubles with each failure, up to the maximum.
STUDIES_LOGIN_DELAY_FIRST_S = float(os.environ.get("STUDIES_LOGIN_DELAY_FIRST_S", "2"))
STUDIES_LOGIN_DELAY_MAX_S = float(os.environ.get("STUDIES_LOGIN_DELAY_MAX_S", "300"))
# Failed API token attempts per client address (api.authentication), in the same counters.
STUDIES_RATE_LIMITS["api_token_address"] = (
    int(os.environ.get("API_TOKEN_FAILURES_PER_ADDRESS", "20")),
    900,
)
# Behind a proxy, the request header (META name, e.g. HTTP_X_FORWARDED_FOR) holding the client's address.
STUDIES_CLIENT_IP_HEADER = os.environ.get("STUDIES_CLIENT_IP_HEADER", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Blindread <noreply@localhost>")

# Accounts: the hospital's sign-in (LDAP / Active Directory, OpenID Connect) and a second factor for staff. Every
# variable is described in docs/operations.md; both sign-ins are off unless their server is named.
_ldap_settings = sso_settings.ldap_settings(os.environ)
_oidc_settings = sso_settings.oidc_settings(os.environ)
globals().update(_ldap_settings)  # AUTH_LDAP_* (django-auth-ldap)
globals().update(_oidc_settings)  # OIDC_* (mozilla-django-oidc)
LDAP_ENABLED = _ldap_settings["LDAP_ENABLED"]
OIDC_ENABLED = _oidc_settings["OIDC_ENABLED"]
if LDAP_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.directory.DirectoryBackend")
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.oidc.HospitalOIDCBackend")
# External group name (LDAP group CN or DN, OIDC groups claim value) -> role (admin, researcher, reader).
SSO_ROLE_MAP = sso_settings.role_map(os.environ)
OIDC_OP_ISSUER = os.environ.get("OIDC_OP_ISSUER", "")
OIDC_STORE_ID_TOKEN = True  # for the provider's end-session call when signing out
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.provider_logout_url"
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc_callback"
# Staff (study admins, researchers, staff, superusers) confirm each sign-in with an authenticator app (TOTP) or a
# recovery code: on by default in production (DJANGO_SECURE=1), off on the laptop and in the demo.
ACCOUNTS_SECOND_FACTOR_REQUIRED = env_bool("ACCOUNTS_SECOND_FACTOR_REQUIRED", SECURE)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Blindread")
# The admin's authenticator-app pages never show an account's key or its QR code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# The REST API (/api/v1/, the `api` app): tokens or the browser's session, JSON errors with stable codes.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.RateLimitedTokenAuthentication",
        "api.authentication.SecondFactorSessionAuthentication",
        "api.throttling.AnonymousRateLimit",  # last: counts requests that gave no credentials
    ],
    # Every endpoint: a rate per account and one per anonymous client address (429 with Retry-After past it).
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerUserThrottle", "api.throttling.PerAddressThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_THROTTLE_USER", "600/min"),
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.IsResearcher"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["api.filters.NameStatusFilter"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# API tokens are valid for API_TOKEN_DAYS unless their maker asks otherwise (at most API_TOKEN_MAX_DAYS).
API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "90"))
API_TOKEN_MAX_DAYS = int(os.environ.get("API_TOKEN_MAX_DAYS", "366"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Blindread API",
    "DESCRIPTION": "Run a blinded reader study from a script: images, checkpoints, generation, surveys, "
    "invitations, reports. Readers never use the API. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
