"""Django settings for SegOps, every value read from the environment (see docs/configuration.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from segops_server.conf.env import (
    env_bool,
    env_choice,
    env_durations,
    env_int,
    env_list,
    env_rate,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent

SEGOPS_ENV = env_choice("SEGOPS_ENV", "local", ("local", "production", "test"))
PRODUCTION = SEGOPS_ENV == "production"
TESTING = SEGOPS_ENV == "test"

DATA_DIR = Path(env_str("SEGOPS_DATA_DIR", str(Path.cwd() / "data"))).resolve()

SECRET_KEY = env_secret("SEGOPS_SECRET_KEY", data_dir=DATA_DIR, production=PRODUCTION)
DEBUG = env_bool("SEGOPS_DEBUG", False)
ALLOWED_HOSTS = env_list("SEGOPS_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("SEGOPS_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "segops_server.core",
    "segops_server.accounts",
    "segops_server.audit",
    "segops_server.keys",
    "segops_server.ingestion",
    "segops_server.segments",
    "segops_server.activations",
    "segops_server.webhooks",
    "segops_server.schemas",
    "segops_server.analytics",
    "segops_server.identity",
    "segops_server.console",
    "segops_server.observability",
]

MIDDLEWARE = [
    # First: it sees every answer (errors included) to count it and give it an X-Request-Id.
    "segops_server.observability.middleware.RequestObservabilityMiddleware",
    "segops_server.core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "segops_server.console.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "segops_server.console.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "segops_server.urls"
WSGI_APPLICATION = "segops_server.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite under the data directory unless DATABASE_URL names another one.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'segops.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, plus the write gate in server processes (core/writelock.py).
    DATABASES["default"]["ENGINE"] = "segops_server.core.sqlite"
    # WAL lets readers run beside one writer; IMMEDIATE takes the write lock when a transaction
    # starts, so two processes wait on the busy timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SEGOPS_SQLITE_BUSY_TIMEOUT_SECONDS", 20, minimum=1),
        # synchronous=FULL: a committed event (answered 202) survives a power cut, not only a crash.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
    }
# In a server process, how long one request waits for SQLite's write lock before answering 503
# with Retry-After (the worker and commands wait SEGOPS_SQLITE_BUSY_TIMEOUT_SECONDS).
SEGOPS_SQLITE_WRITE_WAIT_SECONDS = env_int("SEGOPS_SQLITE_WRITE_WAIT_SECONDS", 5, minimum=1)

AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_VALIDATORS = ("UserAttributeSimilarity", "MinimumLength", "CommonPassword", "NumericPassword")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{v}Validator"} for v in _VALIDATORS
]
if TESTING:
    # A fast hasher keeps the suite quick; production uses Django's default (PBKDF2).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A cache shared by every worker process: counters for login throttling live here.
_CACHE_URL = env_str("SEGOPS_CACHE_URL", "")
if TESTING and not _CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif _CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": _CACHE_URL.removeprefix("file://") or str(DATA_DIR / "cache"),
        }
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Segment exports: files written by the task worker and downloaded through the API (never served
# by URL). With workers on several machines this directory must be shared by all of them, or
# STORAGES["exports"] pointed at another Django storage backend.
SEGOPS_EXPORTS_DIR = Path(env_str("SEGOPS_EXPORTS_DIR", str(DATA_DIR / "exports"))).resolve()
# An export's file is deleted this long after it was requested (the export then answers 410).
SEGOPS_EXPORT_RETENTION_HOURS = env_int("SEGOPS_EXPORT_RETENTION_HOURS", 24, minimum=1)
# Segment membership changes (who entered, who exited) are kept this long (the scheduler's round).
SEGOPS_CHANGE_RETENTION_DAYS = env_int("SEGOPS_CHANGE_RETENTION_DAYS", 30, minimum=1)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": SEGOPS_EXPORTS_DIR,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Background work (segment computes): a queue in the database, worked by `segops worker`, so
# the embedded default needs no other service. The test profile runs tasks at once.
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}
# How often the worker queues computes for segments with a refresh interval.
SEGOPS_SCHEDULER_INTERVAL_SECONDS = env_int("SEGOPS_SCHEDULER_INTERVAL_SECONDS", 60, minimum=1)
# PostgreSQL's pending profile deltas: a read folds at most this many of its own tenant's rows,
# the worker folds every tenant's in transactions of this many (ingestion/services.py).
SEGOPS_PROFILE_FOLD_BATCH = env_int("SEGOPS_PROFILE_FOLD_BATCH", 10_000, minimum=1)
# Task workers check in this often (a heartbeat row), and renew the lease of the compute or
# export they run; a lease not renewed for SEGOPS_TASK_LEASE_SECONDS has lost its worker and its
# work is queued again. /readyz answers 503 when no worker has checked in within
# SEGOPS_WORKER_STALE_SECONDS (unless SEGOPS_READYZ_REQUIRE_WORKER is off).
SEGOPS_WORKER_HEARTBEAT_SECONDS = env_int("SEGOPS_WORKER_HEARTBEAT_SECONDS", 5, minimum=1)
SEGOPS_TASK_LEASE_SECONDS = env_int("SEGOPS_TASK_LEASE_SECONDS", 30, minimum=2)
SEGOPS_WORKER_STALE_SECONDS = env_int("SEGOPS_WORKER_STALE_SECONDS", 30, minimum=2)
SEGOPS_READYZ_REQUIRE_WORKER = env_bool("SEGOPS_READYZ_REQUIRE_WORKER", not TESTING)

# Upper bounds (PostgreSQL statement_timeout) on evaluating a segment rule.
SEGOPS_PREVIEW_TIMEOUT_SECONDS = env_int("SEGOPS_PREVIEW_TIMEOUT_SECONDS", 30, minimum=1)
SEGOPS_COMPUTE_TIMEOUT_SECONDS = env_int("SEGOPS_COMPUTE_TIMEOUT_SECONDS", 1800, minimum=1)

# Where segment rules read events: `database` (the transactional database, the default) or
# `clickhouse` (a columnar copy of the events, see docs/architecture.md). With `clickhouse`,
# SEGOPS_CLICKHOUSE_URL names a server (http(s)://user:password@host:8123/database, through
# clickhouse-connect) or the same engine in-process (chdb://<directory>, through chdb).
SEGOPS_EVENTS_ENGINE = env_choice("SEGOPS_EVENTS_ENGINE", "database", ("database", "clickhouse"))
SEGOPS_CLICKHOUSE_URL = env_str("SEGOPS_CLICKHOUSE_URL", "")
# Events are copied to ClickHouse once received this long ago (an ingest's transaction is far
# shorter), so an ingest that commits late is never passed over (events_engine/shipping.py).
SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS = env_int("SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS", 2, minimum=0)
if SEGOPS_EVENTS_ENGINE == "clickhouse" and not SEGOPS_CLICKHOUSE_URL.startswith(
    ("http://", "https://", "chdb://")
):
    raise ImproperlyConfigured(
        "SEGOPS_EVENTS_ENGINE=clickhouse needs SEGOPS_CLICKHOUSE_URL as http(s)://... or chdb://<directory>"
    )

# Request bodies above this size are refused with 413 before any view reads them.
SEGOPS_MAX_BODY_BYTES = env_int("SEGOPS_MAX_BODY_BYTES", 512_000, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = SEGOPS_MAX_BODY_BYTES

# Optional HMAC key for API-key digests, kept apart from SECRET_KEY and from the database.
SEGOPS_API_KEY_PEPPER = env_str("SEGOPS_API_KEY_PEPPER", "")

# The plan a new tenant starts on (free, starter, business, enterprise = unlimited).
SEGOPS_DEFAULT_PLAN = env_choice(
    "SEGOPS_DEFAULT_PLAN", "enterprise", ("free", "starter", "business", "enterprise")
)

# Per-process cache of verified API keys, dropped everywhere on any key change through a shared
# epoch: in the Redis of SEGOPS_CACHE_URL, else in a memory-mapped file (see keys/cache.py).
# Off in the test suite, whose transactions never commit (the tests that need it turn it on).
SEGOPS_KEY_CACHE = env_bool("SEGOPS_KEY_CACHE", not TESTING)

# Per-process cache of each tenant's compiled event schemas (ingestion checks events against
# them), dropped everywhere on any schema change through the same kind of shared epoch (see
# schemas/enforcement.py). Off in the test suite for the same reason as the key cache.
SEGOPS_SCHEMA_CACHE = env_bool("SEGOPS_SCHEMA_CACHE", not TESTING)

# Per-process memory of live token families (logins), dropped everywhere when any family is
# revoked (logout, refresh-token reuse, password change), through the same kind of shared epoch
# (see accounts/families.py). Off in the test suite for the same reason as the key cache.
SEGOPS_TOKEN_FAMILY_CACHE = env_bool("SEGOPS_TOKEN_FAMILY_CACHE", not TESTING)

# The delivery API answers from per-process snapshots of each tenant's membership, dropped
# everywhere when a compute swaps a generation or a segment changes (see segments/delivery/snapshots.py).
# A tenant with more member rows than the maximum is always read from the database.
SEGOPS_MEMBERSHIP_SNAPSHOTS = env_bool("SEGOPS_MEMBERSHIP_SNAPSHOTS", not TESTING)
SEGOPS_MEMBERSHIP_SNAPSHOT_MAX_ROWS = env_int("SEGOPS_MEMBERSHIP_SNAPSHOT_MAX_ROWS", 1_000_000, minimum=0)

# Single-event track and the delivery API answer valid secret-key requests without DRF (see
# core/fastpath.py); off, every request takes the DRF view. Answers are the same either way.
SEGOPS_FAST_PATH = env_bool("SEGOPS_FAST_PATH", True)

# Single events a server process stores at the same moment share one commit (see
# ingestion/groupcommit.py): the first waits at most this many milliseconds for the others the
# process is serving (not at all when it serves no other), a group holds at most
# SEGOPS_GROUP_COMMIT_MAX requests. 0 turns it off. The suite's in-process tests default to off
# and turn it on where they test it; live servers run with the default.
SEGOPS_GROUP_COMMIT_MS = env_int("SEGOPS_GROUP_COMMIT_MS", 0 if TESTING else 2, minimum=0)
SEGOPS_GROUP_COMMIT_MAX = env_int("SEGOPS_GROUP_COMMIT_MAX", 32, minimum=1)

SEGOPS_ALLOW_REGISTRATION = env_bool("SEGOPS_ALLOW_REGISTRATION", True)

# Webhook URLs may be http and resolve to loopback, private or link-local addresses (never to a
# cloud metadata address): for local development and tests only (see webhooks/ssrf.py).
SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS", False)
# The waits between a failed webhook delivery's attempts: one retry per entry, then the delivery
# fails for good. The first retry comes within 10 s; the whole must cover at least 24 hours.
SEGOPS_WEBHOOK_RETRY_SCHEDULE = env_durations(
    "SEGOPS_WEBHOOK_RETRY_SCHEDULE",
    "5s,30s,2m,10m,30m,1h,2h,4h,8h,8h,8h",
    first_at_most=10,
    total_at_least=24 * 3600,
)
# How many receivers the worker's sender sends to at once (each on its own database connection).
SEGOPS_WEBHOOK_SENDER_THREADS = env_int("SEGOPS_WEBHOOK_SENDER_THREADS", 4, minimum=1)
# Real-time evaluator threads in each task worker (each claims its own users, on its own
# connection), and how many users one of them claims per round.
SEGOPS_LIVE_THREADS = env_int("SEGOPS_LIVE_THREADS", 2, minimum=1)
SEGOPS_LIVE_BATCH = env_int("SEGOPS_LIVE_BATCH", 2000, minimum=1)
SEGOPS_REFRESH_REUSE_GRACE_SECONDS = env_int("SEGOPS_REFRESH_REUSE_GRACE_SECONDS", 10, minimum=0)
SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5, minimum=1)
SEGOPS_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("SEGOPS_LOGIN_MAX_FAILURES_PER_ADDRESS", 20, minimum=1)
SEGOPS_LOGIN_FAILURE_WINDOW_SECONDS = env_int("SEGOPS_LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)
# Per client address: sign-ups, new tenants and invitations (each attempt counts, refused or not).
SEGOPS_REGISTRATION_RATE = env_rate("SEGOPS_REGISTRATION_RATE", "20/hour")
SEGOPS_TENANT_CREATION_RATE = env_rate("SEGOPS_TENANT_CREATION_RATE", "20/hour")
SEGOPS_INVITATION_RATE = env_rate("SEGOPS_INVITATION_RATE", "50/hour")
# How long an invitation's link can be used.
SEGOPS_INVITATION_DAYS = env_int("SEGOPS_INVITATION_DAYS", 7, minimum=1)

# Outgoing mail (invitations), through Django's mail framework. The console backend (the
# default) writes each message to the server's stdout; set an SMTP host for real delivery.
EMAIL_BACKEND = env_str("SEGOPS_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("SEGOPS_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("SEGOPS_EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("SEGOPS_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("SEGOPS_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SEGOPS_EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("SEGOPS_EMAIL_TIMEOUT_SECONDS", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("SEGOPS_DEFAULT_FROM_EMAIL", "SegOps <segops@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "segops_server.accounts.authentication.PersonJWTAuthentication",
        "segops_server.keys.authentication.ApiKeyAuthentication",
    ],
    # Every view declares an access policy (access/policy.py); these two classes apply it.
    "DEFAULT_PERMISSION_CLASSES": ["segops_server.accounts.permissions.PolicyPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["segops_server.accounts.permissions.PlanQuotaThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "segops_server.core.negotiation.RememberingContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["segops_server.core.parsers.DepthLimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "segops_server.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "segops_server.core.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("SEGOPS_ACCESS_TOKEN_MINUTES", 60, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("SEGOPS_REFRESH_TOKEN_DAYS", 14, minimum=1)),
    # Pinned: the decoder accepts exactly this algorithm, so "alg": "none" or an RS/HS swap fails.
    "ALGORITHM": "HS256",
    # Separate from SECRET_KEY so rotating one does not silently rotate the other.
    "SIGNING_KEY": env_secret("SEGOPS_JWT_SIGNING_KEY", data_dir=DATA_DIR, production=PRODUCTION),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
    "ROTATE_REFRESH_TOKENS": True,
    "LEEWAY": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SegOps API",
    "DESCRIPTION": "Behavioral segmentation: tenants, keys, events and segments.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Named choice sets where two serializers share a field name (`status`) with other choices.
    "ENUM_NAME_OVERRIDES": {"ActivationStatusEnum": "segops_server.activations.models.ActivationStatus"},
    # The Swagger UI at /api/docs/ from our own static files (drf-spectacular-sidecar), never a CDN:
    # the page runs under the console's Content-Security-Policy (console/middleware.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "segops_server.core.schema.error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: it would load an image from swagger.io, which the policy refuses.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Which proxies are believed about the client's address (X-Forwarded-For) is one setting,
# SEGOPS_FORWARDED_ALLOW_IPS (core/proxy.py). SEGOPS_NUM_PROXIES, a count of proxies trusted
# from anywhere, is no longer read: a non-zero value stops the server rather than quietly
# trusting someone else than before.
if env_int("SEGOPS_NUM_PROXIES", 0, minimum=0):
    raise ImproperlyConfigured(
        "SEGOPS_NUM_PROXIES is no longer read: list your proxies' addresses in SEGOPS_FORWARDED_ALLOW_IPS"
    )

# Prometheus metrics at /metrics (observability/): readable from these addresses or networks
# (the client address as core/proxy.py trusts it), or by anyone with the bearer token.
SEGOPS_METRICS_ALLOW_IPS = env_list("SEGOPS_METRICS_ALLOW_IPS", ["127.0.0.1", "::1"])
SEGOPS_METRICS_TOKEN = env_str("SEGOPS_METRICS_TOKEN", "")
if SEGOPS_METRICS_TOKEN and len(SEGOPS_METRICS_TOKEN) < 24:
    raise ImproperlyConfigured("SEGOPS_METRICS_TOKEN must be at least 24 characters (or unset)")
# Where every process of `segops run` writes its counts (prometheus-client's multiprocess mode);
# emptied when `segops run` starts.
SEGOPS_METRICS_DIR = Path(env_str("SEGOPS_METRICS_DIR", str(DATA_DIR / "metrics"))).resolve()

# plain: one line of text per record; json: one JSON object per line (observability/logs.py).
SEGOPS_LOG_FORMAT = env_choice("SEGOPS_LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "class": "segops_server.observability.logs.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"class": "segops_server.observability.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": SEGOPS_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("SEGOPS_LOG_LEVEL", "INFO").upper()},
}
