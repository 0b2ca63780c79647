"""ExPusher settings: one module, every value from the environment.

Nothing here branches on "production" or "development": behaviour depends only on the
environment variables documented in the README. With DEBUG off the service refuses to
start without its secrets, so a forgotten variable never ships a guessable key.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (written by scripts/serve on first run) fills in what the environment lacks;
# real environment variables always win.
environ.Env.read_env(env.str("EXPUSHER_ENV_FILE", default=str(BASE_DIR / ".env")))

DEBUG = env.bool("DEBUG", default=False)


def _secret(name: str, *, min_length: int = 32) -> str:
    """A required secret: a throwaway value under DEBUG, a hard error without it."""
    value = env.str(name, default="")
    if not value:
        if DEBUG:
            return f"insecure-dev-only-{name.lower()}-do-not-use-in-production"
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")
    if len(value) < min_length:
        raise ImproperlyConfigured(f"{name} must be at least {min_length} characters long")
    return value


SECRET_KEY = _secret("SECRET_KEY")
# Realtime JWTs are signed with a key of their own, so that rotating SECRET_KEY (sessions,
# password reset links) does not log every socket out, and a leak of one does not forge the other.
EXPUSHER_JWT_KEY = _secret("EXPUSHER_JWT_KEY")
# Application secrets (Pusher HMAC keys) are encrypted at rest with this key; older keys may
# follow after commas so a rotation keeps existing secrets readable.
EXPUSHER_ENCRYPTION_KEYS = [k.strip() for k in _secret("EXPUSHER_ENCRYPTION_KEY").split(",")]
# Secret tokens are stored as HMAC digests peppered with this value.
EXPUSHER_TOKEN_PEPPER = _secret("EXPUSHER_TOKEN_PEPPER")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# HTTPS hardening is on unless DEBUG, and can be turned off for plain-HTTP local runs.
EXPUSHER_HTTPS = env.bool("EXPUSHER_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = EXPUSHER_HTTPS
SESSION_COOKIE_SECURE = EXPUSHER_HTTPS
CSRF_COOKIE_SECURE = EXPUSHER_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if EXPUSHER_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = EXPUSHER_HTTPS
SECURE_HSTS_PRELOAD = EXPUSHER_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "organizations",
    "realtime",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "expusher.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "expusher.urls"
ASGI_APPLICATION = "expusher.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# With REDIS_URL the channel layer and the cache live in Redis, shared by every server
# process. Without it, everything stays in this process (the embedded single-process mode).
REDIS_URL = env.str("REDIS_URL", default="")
EXPUSHER_REDIS_PREFIX = env.str("EXPUSHER_REDIS_PREFIX", default="expusher")
# An unreachable Redis fails a call within this many seconds (then 503), never hangs it.
EXPUSHER_REDIS_TIMEOUT_SECONDS = env.float("EXPUSHER_REDIS_TIMEOUT_SECONDS", default=2.0)
# Each process rewrites its share of counts and presence in Redis this often (realtime.presence).
EXPUSHER_RECONCILE_SECONDS = env.float("EXPUSHER_RECONCILE_SECONDS", default=5.0)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # No socket_timeout: the pub/sub connection blocks on reads by design.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_connect_timeout": EXPUSHER_REDIS_TIMEOUT_SECONDS,
                    }
                ],
                "prefix": EXPUSHER_REDIS_PREFIX,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "expusher.cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": EXPUSHER_REDIS_PREFIX,
            "OPTIONS": {
                "socket_connect_timeout": EXPUSHER_REDIS_TIMEOUT_SECONDS,
                "socket_timeout": EXPUSHER_REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    # One hub channel per process receives every broadcast, so the default capacity
    # (100) would drop bursts; see realtime/hub.py.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 100_000},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Password reset mail: printed to the console unless an SMTP server is configured.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ExPusher <noreply@localhost>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the app and static/ folders so no collectstatic step is needed to run.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.SecretTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's AutoSchema, naming nested Input/OutputSerializers after their view.
    "DEFAULT_SCHEMA_CLASS": "api.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",  # DRF's, answering 400 to JSON nested too deep
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ExPusher API",
    "DESCRIPTION": "Sessions (secret token to JWT), organizations, applications, secret tokens "
    "and event triggers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page loads Swagger UI from the sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # In the order a customer meets them: POST /api/sessions is the first call they make.
    "SORT_OPERATIONS": False,
    "TAGS": [
        {"name": "sessions", "description": "Trade a secret token for a realtime JWT."},
        {"name": "events", "description": "Trigger events on topics."},
        {"name": "topics", "description": "Occupied topics, counts and presence members."},
        {"name": "users", "description": "Disconnect a user's sockets."},
        {"name": "organizations"},
        {"name": "applications"},
        {"name": "tokens", "description": "An organization's secret tokens."},
    ],
}
# CORS: the REST API is called from customers' pages; which origins an application accepts
# is decided per application (organizations.Application.allowed_origins) in api.cors, which
# matches this same pattern and reads the application from its `app` group.
CORS_URLS_REGEX = r"^/api/organizations/[^/]+/applications/(?P<app>[^/]+)/(event/[^/]+|events)$"
CORS_ALLOW_ALL_ORIGINS = False

# Product settings (see README "Configuration").
EXPUSHER_JWT_ISSUER = env.str("EXPUSHER_JWT_ISSUER", default="expusher")
EXPUSHER_JWT_AUDIENCE = env.str("EXPUSHER_JWT_AUDIENCE", default="expusher-realtime")
EXPUSHER_JWT_DEFAULT_TTL = env.int("EXPUSHER_JWT_DEFAULT_TTL", default=3600)
EXPUSHER_JWT_MAX_TTL = env.int("EXPUSHER_JWT_MAX_TTL", default=86400)
EXPUSHER_REVOCATION_CACHE_SECONDS = env.int("EXPUSHER_REVOCATION_CACHE_SECONDS", default=5)
EXPUSHER_APP_CACHE_SECONDS = env.int("EXPUSHER_APP_CACHE_SECONDS", default=5)
# Guessing: failed dashboard logins per account, and failed logins or secret tokens
# (POST /api/sessions) per client address, within a window; past them, 429.
EXPUSHER_THROTTLE_WINDOW_SECONDS = env.int("EXPUSHER_THROTTLE_WINDOW_SECONDS", default=300)
EXPUSHER_LOGIN_FAILURES_PER_ACCOUNT = env.int("EXPUSHER_LOGIN_FAILURES_PER_ACCOUNT", default=10)
EXPUSHER_FAILURES_PER_ADDRESS = env.int("EXPUSHER_FAILURES_PER_ADDRESS", default=50)
# Every new connection must send its first request head within this many seconds, and
# one client address may have at most this many connections that have not (see
# expusher/front_door.py).
# Inbound frames of any kind per connection: a sustained rate and a burst; past them the
# connection is closed with 4102 (a stock client never comes near).
EXPUSHER_MAX_FRAMES_PER_SECOND = env.int("EXPUSHER_MAX_FRAMES_PER_SECOND", default=100)
EXPUSHER_MAX_FRAMES_BURST = env.int("EXPUSHER_MAX_FRAMES_BURST", default=300)
# On SIGTERM a process closes its connections (4200, reconnect) over this many seconds.
EXPUSHER_DRAIN_SECONDS = env.float("EXPUSHER_DRAIN_SECONDS", default=5.0)
# The event loop under daphne's reactor (expusher.server): uvloop, or Python's own.
EXPUSHER_EVENT_LOOP = env.str("EXPUSHER_EVENT_LOOP", default="uvloop")
if EXPUSHER_EVENT_LOOP not in ("uvloop", "asyncio"):
    raise ImproperlyConfigured("EXPUSHER_EVENT_LOOP must be uvloop or asyncio")
# A WebSocket whose unsent frames pass this many bytes is closed with 4101 (slow reader).
EXPUSHER_MAX_PENDING_BYTES = env.int("EXPUSHER_MAX_PENDING_BYTES", default=1024 * 1024)
EXPUSHER_HEAD_TIMEOUT_SECONDS = env.int("EXPUSHER_HEAD_TIMEOUT_SECONDS", default=10)
EXPUSHER_HALF_OPEN_PER_ADDRESS = env.int("EXPUSHER_HALF_OPEN_PER_ADDRESS", default=256)
# What one process takes on (realtime.capacity); past it connections are refused with
# 4100 / HTTP 503. 0 connections: the file-descriptor limit less a reserve.
EXPUSHER_MAX_CONNECTIONS_PER_PROCESS = env.int("EXPUSHER_MAX_CONNECTIONS_PER_PROCESS", default=0)
EXPUSHER_MAX_PENDING_ADMISSIONS = env.int("EXPUSHER_MAX_PENDING_ADMISSIONS", default=2000)
# The listening socket's queue of connections not yet accepted (expusher.server).
EXPUSHER_LISTEN_BACKLOG = env.int("EXPUSHER_LISTEN_BACKLOG", default=4096)
# Anonymous connections (Phoenix without a JWT, Pusher before its backend vouched for it)
# may hold at most this share of an application's connection quota, so that anyone with
# the public app key cannot lock its signed-in users out. 1 turns the cap off.
EXPUSHER_ANONYMOUS_CONNECTION_SHARE = env.float("EXPUSHER_ANONYMOUS_CONNECTION_SHARE", default=0.5)
if not 0 <= EXPUSHER_ANONYMOUS_CONNECTION_SHARE <= 1:
    raise ImproperlyConfigured("EXPUSHER_ANONYMOUS_CONNECTION_SHARE must be between 0 and 1")
# Realtime limits (see README "Limits").
EXPUSHER_MAX_MESSAGE_BYTES = env.int("EXPUSHER_MAX_MESSAGE_BYTES", default=64 * 1024)
EXPUSHER_MAX_PAYLOAD_BYTES = env.int("EXPUSHER_MAX_PAYLOAD_BYTES", default=10 * 1024)
EXPUSHER_MAX_TOPICS_PER_SOCKET = env.int("EXPUSHER_MAX_TOPICS_PER_SOCKET", default=100)
EXPUSHER_MAX_EVENTS_PER_BATCH = env.int("EXPUSHER_MAX_EVENTS_PER_BATCH", default=10)
EXPUSHER_MAX_CHANNELS_PER_TRIGGER = 100  # Pusher's limit per trigger
# A long poll waits this long for frames before answering 204 (phoenix's window_ms).
EXPUSHER_LONGPOLL_WINDOW_MS = env.int("EXPUSHER_LONGPOLL_WINDOW_MS", default=10000)
# A crashed process's presence entries disappear within this many seconds.
EXPUSHER_PRESENCE_TTL_SECONDS = env.int("EXPUSHER_PRESENCE_TTL_SECONDS", default=60)
# A topic whose last subscriber left is vacated (channel_vacated) this much later, unless
# it gained one meanwhile: a page reload tells nothing.
EXPUSHER_VACATE_DELAY_SECONDS = env.float("EXPUSHER_VACATE_DELAY_SECONDS", default=3.0)

# Webhooks (realtime.pusher.webhooks): events of one application are gathered for
# BATCH_SECONDS and POSTed together; a POST that gets no answer within TIMEOUT_SECONDS or a
# non-2xx one is retried with exponential backoff for RETRY_SECONDS, then dropped.
EXPUSHER_WEBHOOK_BATCH_SECONDS = env.float("EXPUSHER_WEBHOOK_BATCH_SECONDS", default=1.0)
EXPUSHER_WEBHOOK_TIMEOUT_SECONDS = env.float("EXPUSHER_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
EXPUSHER_WEBHOOK_RETRY_SECONDS = env.float("EXPUSHER_WEBHOOK_RETRY_SECONDS", default=300.0)
# Webhook targets on loopback, private, link-local or metadata addresses are refused unless
# DEBUG or this is on (a tenant must not make the service call its own network).
EXPUSHER_WEBHOOK_ALLOW_PRIVATE = env.bool("EXPUSHER_WEBHOOK_ALLOW_PRIVATE", default=False)
# Pusher protocol: after this many silent seconds a ping goes out (both ways; told to the
# client in pusher:connection_established), and a socket that then stays silent for
# EXPUSHER_PUSHER_PONG_TIMEOUT seconds is closed with 4201.
EXPUSHER_PUSHER_ACTIVITY_TIMEOUT = env.int("EXPUSHER_PUSHER_ACTIVITY_TIMEOUT", default=120)
EXPUSHER_PUSHER_PONG_TIMEOUT = env.int("EXPUSHER_PUSHER_PONG_TIMEOUT", default=30)
# Statistics (realtime.stats): each process writes its counts to the shared store (Redis
# with REDIS_URL) every this many seconds; /metrics asks for this bearer token when set.
EXPUSHER_STATS_FLUSH_SECONDS = env.float("EXPUSHER_STATS_FLUSH_SECONDS", default=5.0)
EXPUSHER_METRICS_TOKEN = env.str("EXPUSHER_METRICS_TOKEN", default="")
# The debug console shows at most this many rows per second per application and server
# process; past it, it samples (and says how many rows it dropped).
EXPUSHER_CONSOLE_ROWS_PER_SECOND = env.int("EXPUSHER_CONSOLE_ROWS_PER_SECOND", default=50)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs each request's URL at INFO: a webhook URL may carry a customer's token.
    "loggers": {"httpx": {"level": "WARNING"}},
}
