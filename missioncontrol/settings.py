"""Mission Control settings: read from the environment only, validated at start-up.

Every variable goes through ``ops.config.EnvReader``; problems are collected in
``CONFIG_PROBLEMS`` and reported by the ``ops`` system checks, so a bad value stops
``manage.py``, gunicorn and the worker with a sentence that names the variable.
docs/configuration.md is the reference for every variable read here.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.csp import CSP

from ops import config as cfg

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = cfg.EnvReader()

ENVIRONMENT = env.choice("ENVIRONMENT", "dev", ("dev", "production"))
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env.flag("DEBUG", False)
env.require(not (PRODUCTION and DEBUG), cfg.E_PROD_DEBUG, "DEBUG",
            "DEBUG=true is not allowed with ENVIRONMENT=production: it shows tracebacks to visitors.")

# --- secrets and hosts -----------------------------------------------------------------

_secret_key = env.text("SECRET_KEY", "")
if PRODUCTION:
    env.require(len(_secret_key) >= 50 and not cfg.looks_like_placeholder(_secret_key),
                cfg.E_PROD_SECRET_KEY, "SECRET_KEY",
                "SECRET_KEY must be set to a random value of at least 50 characters in production.",
                "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'")
    SECRET_KEY = _secret_key or "unset-" + secrets.token_urlsafe(50)
else:
    SECRET_KEY = _secret_key or cfg.read_or_create_secret(
        VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))[0]

ALLOWED_HOSTS = env.items("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION:
    env.require(bool(ALLOWED_HOSTS) and "*" not in ALLOWED_HOSTS, cfg.E_PROD_ALLOWED_HOSTS, "ALLOWED_HOSTS",
                "ALLOWED_HOSTS must list the host names this server answers to in production (not '*').")

BASE_URL = env.url("BASE_URL", "http://localhost:8000", ("http", "https")).rstrip("/")
if PRODUCTION:
    env.require(env.is_set("BASE_URL"), cfg.E_PROD_BASE_URL, "BASE_URL",
                "BASE_URL must be set to the public address of Mission Control in production "
                "(it is used in webhook endpoint URLs).")

# --- authentication ----------------------------------------------------------------------

AUTH_MODE = env.choice("AUTH_MODE", "local", ("local", "clerk"))
LOCAL_AUTH_TOKEN = env.text("LOCAL_AUTH_TOKEN", "")
LOCAL_AUTH_TOKEN_FILE = VAR_DIR / "local_auth_token"
if AUTH_MODE == "local":
    if not LOCAL_AUTH_TOKEN and not PRODUCTION:
        # A newcomer gets a token without configuring anything; the run command shows it.
        LOCAL_AUTH_TOKEN = cfg.read_or_create_secret(LOCAL_AUTH_TOKEN_FILE, lambda: secrets.token_urlsafe(48))[0]
    env.require(len(LOCAL_AUTH_TOKEN) >= 50 and not cfg.looks_like_placeholder(LOCAL_AUTH_TOKEN),
                cfg.E_LOCAL_TOKEN, "LOCAL_AUTH_TOKEN",
                "LOCAL_AUTH_TOKEN must be a random value of at least 50 characters that is not a placeholder "
                "when AUTH_MODE=local.",
                "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")

# Key of the digests agent tokens are stored as. Empty: derived from SECRET_KEY, so rotating
# SECRET_KEY would also revoke every agent token; a separate pepper keeps them independent.
AGENT_TOKEN_PEPPER = env.text("AGENT_TOKEN_PEPPER", "")

CLERK_SECRET_KEY = env.text("CLERK_SECRET_KEY", "")
CLERK_JWKS_URL = env.url("CLERK_JWKS_URL", "", ("http", "https"))
CLERK_ISSUER = env.text("CLERK_ISSUER", "")
CLERK_LEEWAY = env.whole("CLERK_LEEWAY", 10, minimum=0)
CLERK_JWKS_CACHE_SECONDS = env.whole("CLERK_JWKS_CACHE_SECONDS", 3600, minimum=1)
if AUTH_MODE == "clerk":
    for _name, _value in (("CLERK_SECRET_KEY", CLERK_SECRET_KEY), ("CLERK_JWKS_URL", CLERK_JWKS_URL),
                          ("CLERK_ISSUER", CLERK_ISSUER)):
        env.require(bool(_value), cfg.E_CLERK, _name, f"{_name} must be set when AUTH_MODE=clerk.")

# --- applications and request path -------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    # Before django_tasks_db: ops's db_worker command (a loop that survives database restarts) replaces its own.
    "ops",
    "django_tasks_db",
    "agents",
    "webhooks",
]

MIDDLEWARE = [
    # Open console pages ask /live/changes every couple of seconds; answered here, before the
    # rest (agents.live): one signature check and one SELECT.
    "agents.live.LiveChangesMiddleware",
    "ops.middleware.RequestIdMiddleware",
    "ops.middleware.RequestTimingMiddleware",
    "ops.middleware.JsonErrorMiddleware",
    "ops.request_head.RequestHeadLimitMiddleware",
    "ops.middleware.NulCharacterMiddleware",
    "ops.body_limit.BodySizeLimitMiddleware",
    "ops.middleware.ClientIpMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Console-only middleware steps aside on probes, agent routes and ingest (ops.lean_paths).
    "ops.lean_paths.ContentSecurityPolicyMiddleware",
    "ops.lean_paths.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "ops.lean_paths.AuthenticationMiddleware",
    "ops.lean_paths.MessageMiddleware",
    # request.htmx: whether a console request came from htmx (the task drawer), read lazily.
    "django_htmx.middleware.HtmxMiddleware",
    # After authentication: it reads the signed-in person's time zone.
    "agents.console.time_zone.PersonTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "missioncontrol.urls"
WSGI_APPLICATION = "missioncontrol.wsgi.application"
APPEND_SLASH = False

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
                "django.template.context_processors.csp",
                "agents.console.context.navigation",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------

DATABASE_URL = env.url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'missioncontrol.sqlite3'}",
                       ("sqlite", "postgres", "postgresql", "pgsql", "postgis"))
_database = environ.Env.db_url_config(DATABASE_URL)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    if _database["NAME"] != ":memory:":
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _database.setdefault("OPTIONS", {}).update({
        # WAL lets the web server read while the worker writes; IMMEDIATE takes the write
        # lock at BEGIN so concurrent writers wait (busy_timeout) instead of failing.
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    })
else:
    _database["CONN_MAX_AGE"] = env.whole("DB_CONN_MAX_AGE", 60, minimum=0)
    _database["CONN_HEALTH_CHECKS"] = True
    # How a kept connection is checked before a request reuses it: "socket" looks at the
    # socket without a round trip (missioncontrol/postgres), "query" is Django's SELECT 1.
    if env.choice("DB_HEALTH_CHECK", "socket", ("socket", "query")) == "socket":
        _database["ENGINE"] = "missioncontrol.postgres"
    _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "agents.User"
DB_AUTO_MIGRATE = env.flag("DB_AUTO_MIGRATE", not PRODUCTION)
# Where `manage.py backup` writes (relative paths are under the project folder).
BACKUP_DIR = BASE_DIR / env.text("BACKUP_DIR", "var/backups")

# --- caches and rate limits -------------------------------------------------------------

REDIS_URL = env.url("REDIS_URL", "", ("redis", "rediss", "unix"))
RATE_LIMIT_BACKEND = env.choice("RATE_LIMIT_BACKEND", "memory", ("memory", "redis"))
RATE_LIMIT_REDIS_URL = env.url("RATE_LIMIT_REDIS_URL", "", ("redis", "rediss", "unix")) or REDIS_URL
RATE_LIMITS = {
    # Failed agent authentications per client IP (a wrong, unknown or malformed token).
    "agent_auth": env.rate("RATE_LIMIT_AGENT_AUTH", (20, 60)),
    # Requests per agent, counted by its token's key id (docs/configuration.md explains the default).
    "agent_requests": env.rate("RATE_LIMIT_AGENT_REQUESTS", (120, 60)),
    "webhook_ingest": env.rate("RATE_LIMIT_WEBHOOK_INGEST", (60, 60)),
    "console_login": env.rate("RATE_LIMIT_CONSOLE_LOGIN", (10, 60)),
}
# Password sign-in per account (ops.signin_backoff): this many attempts at once, then a
# wait that doubles from 1 s after each further failure, up to the maximum.
SIGN_IN_BACKOFF_FREE_ATTEMPTS = env.whole("SIGN_IN_BACKOFF_FREE_ATTEMPTS", 3, minimum=1)
SIGN_IN_BACKOFF_MAX_SECONDS = env.whole("SIGN_IN_BACKOFF_MAX_SECONDS", 30, minimum=1)
if RATE_LIMIT_BACKEND == "redis":
    env.require(bool(RATE_LIMIT_REDIS_URL), cfg.E_RATE_LIMIT_REDIS_URL, "RATE_LIMIT_REDIS_URL",
                "RATE_LIMIT_BACKEND=redis needs RATE_LIMIT_REDIS_URL or REDIS_URL.")

_REDIS_OPTIONS = {
    "CLIENT_CLASS": "django_redis.client.DefaultClient",
    # Short timeouts: a dead Redis must cost a request milliseconds, not the gunicorn timeout.
    "SOCKET_CONNECT_TIMEOUT": 0.5,
    "SOCKET_TIMEOUT": 0.5,
}
CACHES = {
    "default": (
        {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL,
         "OPTIONS": {**_REDIS_OPTIONS, "IGNORE_EXCEPTIONS": True}, "KEY_PREFIX": "mc"}
        if REDIS_URL else
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"}
    ),
    "ratelimit": (
        {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": RATE_LIMIT_REDIS_URL,
         "OPTIONS": _REDIS_OPTIONS, "KEY_PREFIX": "mc-rl"}
        if RATE_LIMIT_BACKEND == "redis" and RATE_LIMIT_REDIS_URL else
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"}
    ),
}
# django-redis would log every failed call; the throttle logs one warning per outage itself.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False

# --- background jobs ---------------------------------------------------------------------

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WORKER_HEARTBEAT_STALE_SECONDS = env.whole("WORKER_HEARTBEAT_STALE_SECONDS", 120, minimum=5)
# A db_worker without a heartbeat for this long is gone; its RUNNING jobs go back to the queue.
WORKER_GONE_AFTER_SECONDS = env.whole("WORKER_GONE_AFTER_SECONDS", 30, minimum=2)

# --- proxies, CORS, body limits ------------------------------------------------------------

TRUSTED_PROXIES = env.networks("TRUSTED_PROXIES")
CORS_ALLOWED_ORIGINS = env.items("CORS_ORIGINS")
for _origin in CORS_ALLOWED_ORIGINS:
    _parts = urlsplit(_origin)
    env.require(_parts.scheme in ("http", "https") and bool(_parts.netloc) and _parts.path in ("", "/"),
                cfg.E_URL, "CORS_ORIGINS",
                f"CORS_ORIGINS contains {_origin!r}, which is not an origin like https://app.example.com.")
CORS_ALLOWED_ORIGINS = [origin.rstrip("/") for origin in CORS_ALLOWED_ORIGINS]
CORS_URLS_REGEX = r"^/(api/|openapi\.json$)"
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "x-agent-token", "x-request-id", "x-csrftoken")
CORS_EXPOSE_HEADERS = ("x-request-id", "retry-after")

WEBHOOK_MAX_PAYLOAD_BYTES = env.whole("WEBHOOK_MAX_PAYLOAD_BYTES", 1_048_576, minimum=1)
# Delivery attempts per replay cycle before a delivery is dead; retries wait BACKOFF * 2^(n-1) seconds, jittered.
WEBHOOK_DELIVERY_MAX_ATTEMPTS = env.whole("WEBHOOK_DELIVERY_MAX_ATTEMPTS", 5, minimum=1)
WEBHOOK_DELIVERY_BACKOFF_SECONDS = env.number("WEBHOOK_DELIVERY_BACKOFF_SECONDS", 10.0, minimum=0.0)
# Where ingest keeps the requests it accepted while the database was away (webhooks.spool).
WEBHOOK_SPOOL_DIR = BASE_DIR / env.text("WEBHOOK_SPOOL_DIR", "var/webhook-spool")
API_MAX_BODY_BYTES = env.whole("API_MAX_BODY_BYTES", 1_048_576, minimum=1)

# --- gateways ------------------------------------------------------------------------------

# The oldest OpenClaw a gateway may run (CalVer); the gateway's method list is checked too.
GATEWAY_MIN_VERSION = env.text("GATEWAY_MIN_VERSION", "2026.4.29")
env.require(bool(re.fullmatch(r"\d{4}\.\d{1,2}\.\d{1,2}(-[0-9A-Za-z.]+)?", GATEWAY_MIN_VERSION)), cfg.E_VERSION,
            "GATEWAY_MIN_VERSION",
            f"GATEWAY_MIN_VERSION={GATEWAY_MIN_VERSION!r} is not an OpenClaw version like 2026.4.29.")
# Django's own lazy limit stays above ours so the middleware answers first.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(WEBHOOK_MAX_PAYLOAD_BYTES, API_MAX_BODY_BYTES) + 1024

# --- logging ------------------------------------------------------------------------------

LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), lower=False)
LOG_FORMAT = env.choice("LOG_FORMAT", "text", ("text", "json"))
REQUEST_LOG_SLOW_MS = env.whole("REQUEST_LOG_SLOW_MS", 1000, minimum=0)
REQUEST_LOG_INCLUDE_HEALTH = env.flag("REQUEST_LOG_INCLUDE_HEALTH", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ops.logging.RequestIdFilter"}},
    "formatters": {
        "text": {"()": "ops.logging.TextFormatter"},
        "json": {"()": "ops.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": LOG_LEVEL, "propagate": True},
        # Our access log replaces Django's per-request lines.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

# --- security headers ---------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
_BASE_IS_HTTPS = BASE_URL.startswith("https://")
CSRF_TRUSTED_ORIGINS = [f"{urlsplit(BASE_URL).scheme}://{urlsplit(BASE_URL).netloc}"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
if PRODUCTION:
    # TLS ends at nginx, which tells us the original scheme in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.flag("SECURE_SSL_REDIRECT", _BASE_IS_HTTPS)
    # Load balancers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.whole("SECURE_HSTS_SECONDS", 31_536_000 if _BASE_IS_HTTPS else 0, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SESSION_COOKIE_SECURE = _BASE_IS_HTTPS
    CSRF_COOKIE_SECURE = _BASE_IS_HTTPS
    # HSTS preload lists are an opt-in commitment for the whole domain; we do not make it for the operator.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- static files, auth, i18n -------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects the folder, even before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- REST framework and OpenAPI ---------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["missioncontrol.api.parsers.JSONParser"],
    # User routes: the token class of AUTH_MODE first (its "Bearer" challenge makes failures
    # 401), then the console's session. Agent routes set their own class.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agents.authentication.LocalTokenAuthentication" if AUTH_MODE == "local"
        else "agents.authentication.ClerkJWTAuthentication",
        "agents.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # A view opts in with `throttle_scope = "<scope in RATE_LIMITS>"`; views without one pass.
    "DEFAULT_THROTTLE_CLASSES": ["ops.throttle.ScopedIpThrottle"],
    "DEFAULT_PAGINATION_CLASS": "missioncontrol.api.pagination.LimitOffsetEnvelopePagination",
    "PAGE_SIZE": 200,
    "EXCEPTION_HANDLER": "missioncontrol.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mission Control API",
    "DESCRIPTION": "Boards, agents, tasks, approvals and webhooks for teams of AI agents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The agent routes read request bodies leniently (unknown keys ignored, null as absent);
    # the hook gives their operations bodies that say so, after the enum hook.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "agents.agent_api.openapi.lenient_agent_bodies"],
    # Several objects have a ``status``; each choice set gets its own stable component name.
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "agents.models.Task.Status",
        "AgentStatusEnum": "agents.serializers.AGENT_STATUSES",
        "MembershipRoleEnum": "agents.models.Membership.Role",
        "InvitationStatusEnum": "agents.models.Invitation.Status",
    },
}

APP_VERSION = "0.1.0"

CONFIG_PROBLEMS = env.problems
