"""One settings module, driven by the environment (see README "Configuration")."""

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# Commands that only read the code (no signing, no serving) run without a key, so a developer or a hook can
# check migrations on a bare checkout; anything else refuses to start without one.
KEYLESS_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate", "help", "version"}
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG-on"
    elif sys.argv[0].endswith("manage.py") and len(sys.argv) > 1 and sys.argv[1] in KEYLESS_COMMANDS:
        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_htmx",
    "certification",
    "marks",
    "licences",
    "inspections",
    "sampling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "certification.middleware.NulCharacterMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "certification.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "certification.middleware.SessionExpiryMiddleware",
    "certification.middleware.TenantScopeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by authenticate() into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "certification.urls"
WSGI_APPLICATION = "certification.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "certification.context_processors.tenancy",
            ],
        },
    },
]

# Database: SQLite for the embedded demo, PostgreSQL whenever DATABASE_URL is set.
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 600),
            "CONN_HEALTH_CHECKS": True,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "certification.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Only the test run swaps in a fast hasher (see Makefile); production keeps Django's default.
if env("DJANGO_PASSWORD_HASHERS"):
    PASSWORD_HASHERS = env_list("DJANGO_PASSWORD_HASHERS")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions: staff 30 min idle and 12 h absolute; other users get their own idle limit.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_ABSOLUTE_SECONDS = SESSION_COOKIE_AGE
SESSION_IDLE_SECONDS_STAFF = env_int("SESSION_IDLE_SECONDS_STAFF", 30 * 60)
SESSION_IDLE_SECONDS_OTHER = env_int("SESSION_IDLE_SECONDS_OTHER", 2 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Login throttling (django-axes). The client address is REMOTE_ADDR unless NUM_PROXIES trusted
# proxies sit in front, so a forged X-Forwarded-For cannot give an attacker fresh addresses.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = NUM_PROXIES or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if NUM_PROXIES else ["REMOTE_ADDR"]
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True

# django-guardian: object grants only through direct foreign-key permission models, and never a
# model-wide permission standing in for an object one.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("nl", "Nederlands")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Brussels"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names in production; gzip/brotli copies too unless STATIC_COMPRESS=0 (the test suite: brotli on
    # every collectstatic costs half a minute and the tests never read the compressed copies).
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_COMPRESS", True)
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Cache: Redis when configured (shared by web processes), else process-local memory.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a real broker when REDIS_URL is set; otherwise tasks run inline (embedded demo only).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL or None)
CELERY_TASK_ALWAYS_EAGER = not bool(REDIS_URL) and not env("CELERY_BROKER_URL")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "certification.tasks.clear_expired_sessions",
        "schedule": 24 * 3600,
    },
}

# Mail: console in development; SMTP settings from the environment in production.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "certification@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "certification.api.pagination.StablePageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "certification.api.errors.exception_handler",
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {"anon": env("API_THROTTLE_ANON", "60/min"), "user": env("API_THROTTLE_USER", "600/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Certification API",
    "DESCRIPTION": "Partner API of the certification body: marks, certified products, verification.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Production hardening: on whenever DEBUG is off (see `manage.py check --deploy`).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if NUM_PROXIES else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": env("AXES_LOG_LEVEL", "WARNING")},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- inspections ---
CELERY_BEAT_SCHEDULE.update({
    "inspections-nightly-planning": {"task": "inspections.tasks.nightly_planning", "schedule": 24 * 3600},
})
INSPECTION_PHOTO_MAX_BYTES = env_int("INSPECTION_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
# --- licences ---
# Certificate renders are recorded in the database (render_status); this job re-enqueues stuck ones.
CELERY_BEAT_SCHEDULE.update({
    "licences-requeue-stuck-certificate-renders": {
        "task": "licences.tasks.requeue_stuck_certificate_renders",
        "schedule": 300,
    },
})
# Time-driven licence changes (scheduled changes, sanction end dates, expiry, expiry notices): one task per
# body, idempotent, so running it often only makes the changes land sooner after midnight.
LICENCE_EXPIRY_NOTICE_DAYS = [int(days) for days in env_list("LICENCE_EXPIRY_NOTICE_DAYS", "90,30")]
CELERY_BEAT_SCHEDULE["licences-lifecycle"] = {
    "task": "licences.tasks.run_licence_lifecycle",
    "schedule": env_int("LICENCE_LIFECYCLE_EVERY_SECONDS", 3600),
}
# --- api ---
# API keys first (they carry their own tenant scope), sessions for the browsable docs and the portals.
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "certification.api.authentication.ApiKeyAuthentication",
    "rest_framework.authentication.SessionAuthentication",
]
# JSON that answers 400/413 (never 500) for malformed, deeply nested or oversized bodies.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "certification.api.parsers.SafeJSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]
# django-filter, except that an empty value of a typed filter (?render_status=) is a 400, as the schema says.
REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"] = ["certification.api.filters.StrictDjangoFilterBackend"]
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["certification.api.throttling.ApiKeyRateThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"] = env("API_THROTTLE_KEY", "1200/min")
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "certification.api.schema.AutoSchema"
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "certification.api.schema.add_error_responses",
]
# Stable enum names where two models' choice fields share a field name (kind, state).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "VisitKindEnum": "inspections.models.Visit.Kind",
    "VisitStateEnum": "inspections.models.Visit.State",
    "FindingStateEnum": "inspections.models.Finding.State",
    "FindingSeverityEnum": "inspections.models.Finding.Severity",
    "LicenceStateEnum": "licences.models.Licence.State",
}
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_REQUEUE_GRACE_SECONDS = env_int("WEBHOOK_REQUEUE_GRACE_SECONDS", 120)
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", DEBUG)
IDEMPOTENCY_RETENTION_DAYS = env_int("IDEMPOTENCY_RETENTION_DAYS", 7)
CELERY_BEAT_SCHEDULE.update({
    "requeue-webhook-deliveries": {"task": "certification.tasks.requeue_webhook_deliveries", "schedule": 60},
    "purge-idempotency-records": {"task": "certification.tasks.purge_idempotency_records", "schedule": 3600},
})

# --- sampling: conformity escalations ---
# An accepted "reinforced inspection" plans an extra unannounced visit this many days ahead; a finding raised
# from self-monitoring with no open visit of the licence goes on a follow-up visit planned this many days ahead.
SAMPLING_EXTRA_VISIT_WITHIN_DAYS = env_int("SAMPLING_EXTRA_VISIT_WITHIN_DAYS", 14)
SAMPLING_FOLLOW_UP_WITHIN_DAYS = env_int("SAMPLING_FOLLOW_UP_WITHIN_DAYS", 30)
# Last month's self-monitoring of every live licence's products is checked against the regulation's
# frequencies; the job runs daily and skips what is already reviewed.
CELERY_BEAT_SCHEDULE["sampling-self-monitoring-review"] = {
    "task": "sampling.tasks.review_self_monitoring",
    "schedule": env_int("SELF_MONITORING_REVIEW_EVERY_SECONDS", 86400),
}
